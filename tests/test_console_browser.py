"""The console in a real headless Chromium (Debian chromium and chromium-driver, driven by selenium) against a real
server: signing in as a demo user, a complaint from intake to answer through the screens, the auditor's trail,
keyboard-only use, axe-core on every screen (no serious or critical violations), the token never in storage or the
address, the page working under its Content-Security-Policy, and no sex-work complaint for a handler without that
regime. Screenshots of each screen are kept in tests/output/ (git-ignored)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from backend.core import calendar
from backend.core import db as core_db
from backend.demo import DEMO_USERS
from backend.letters import service as letters
from backend.letters import templates as letter_templates
from tests.conftest import app_client, bearer, create_database, drop_database, make_settings, with_database
from tests.enforcement_helpers import DWANGSOM, MOTIVERING, OPERATOR, done, drafted, last_step
from tests.helpers import register
from tests.inspection_helpers import HORECA_OK, World, checklist_file, submitted
from tests.outbox_helpers import Mailbox
from tests.photo_helpers import entry as photo_entry
from tests.photo_helpers import jpeg
from tests.photo_helpers import upload as upload_photo
from tests.registry_helpers import create_object
from tests.server_helpers import Served, free_port, served

CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER = shutil.which("chromium")
OUTPUT_DIR = Path(__file__).resolve().parent / "output"
# The wijken as the console names them (backend/static/console/js/words.js).
WIJK_NAMES = {
    "Binnenstad",
    "Noordoost",
    "Oost",
    "Zuid",
    "Zuidwest",
    "West",
    "Noordwest",
    "Overvecht",
    "Leidsche Rijn",
    "Vleuten-De Meern",
}
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "4.14.1" / "axe.min.js"
DOWNLOADS = OUTPUT_DIR / "downloads"
WAIT_S = 15

pytestmark = pytest.mark.skipif(
    BROWSER is None or not Path(CHROMEDRIVER).exists(),
    reason=(
        "Chromium is not installed (Debian packages chromium and chromium-driver): "
        "the console's browser tests are skipped"
    ),
)


@pytest.fixture(scope="module")
async def console_database(pg_server_url: str, template_url: str) -> Iterator[str]:
    name = await create_database(pg_server_url)
    yield with_database(pg_server_url, name)
    await drop_database(pg_server_url, name)


@pytest.fixture(scope="module")
def served_console(console_database, data_dir, tmp_path_factory) -> Iterator[Served]:
    with served(console_database, data_dir, tmp_path_factory.mktemp("console-serve"), TOEZICHT_AUTH_MODE="dev") as run:
        yield run


@pytest.fixture(scope="module")
def server(served_console) -> str:
    return served_console.base_url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(DOWNLOADS), "download.prompt_for_download": False}
    )
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    for old in DOWNLOADS.iterdir():
        old.unlink()
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# --- helpers -------------------------------------------------------------------------------------------------


def wait_for(browser, condition, message: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT_S).until(condition, message)


def text_of(browser, css: str) -> str:
    """The text of the first element matching now (read in the page: a screen may re-render meanwhile)."""
    return browser.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css)


def heading(browser) -> str:
    return text_of(browser, "main h1")


def wait_for_heading(browser, text: str) -> None:
    wait_for(
        browser, lambda b: heading(b) == text, f"heading {text!r}; the page shows {text_of(browser, 'body')[:500]!r}"
    )


def sign_in(browser, server: str, subject: str, first_screen: str) -> None:
    """A fresh page (a reload forgets the token) and the demo user's button."""
    browser.get(f"{server}/console/")
    wait_for_heading(browser, "Aanmelden (demo)")
    browser.find_element("css selector", f'button[data-subject="{subject}"]').click()
    wait_for_heading(browser, first_screen)


def open_screen(browser, hash_: str, title: str) -> None:
    browser.execute_script("location.hash = arguments[0]", hash_)
    wait_for_heading(browser, title)


def settled(browser) -> None:
    """Every paged list on the screen has loaded (or said why not)."""
    wait_for(
        browser,
        lambda b: b.execute_script(
            "return [...document.querySelectorAll('.console-paged')].every(s => s.querySelector('table, p'))"
        ),
        "lists loaded",
    )


def check_screen(browser, name: str) -> None:
    """axe-core: no serious or critical violations; nothing blocked by the policy; no token where it could leak;
    a screenshot for people to look at."""
    settled(browser)
    browser.execute_script(AXE.read_text())
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
        ".then(r => done(JSON.stringify(r.violations)),"
        " e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e)}])));"
    )
    violations = [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v.get("nodes", [])][:3]) for v in violations]
    exposure = browser.execute_script(
        "return {local: localStorage.length, session: sessionStorage.length, url: location.href, title: document.title}"
    )
    assert exposure["local"] == 0 and exposure["session"] == 0, exposure
    assert "ey" not in exposure["url"].split("/console/", 1)[1], exposure  # no JWT (base64url JSON) in the address
    log = browser.get_log("browser")
    assert not [entry for entry in log if "Content Security Policy" in entry["message"]], log
    assert not [entry for entry in log if entry["level"] == "SEVERE" and "/api/v1/" not in entry["message"]], log
    browser.save_screenshot(str(OUTPUT_DIR / f"console-{name}.png"))


def full_page_screenshot(browser, name: str) -> None:
    """The whole page, not only the window (the README shows the case page this way)."""
    width, height = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    (OUTPUT_DIR / f"console-{name}.png").write_bytes(base64.b64decode(shot["data"]))


def fill(browser, label: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    control = browser.find_element(
        "id", browser.find_element("xpath", f'//label[normalize-space()="{label}"]').get_attribute("for")
    )
    if control.tag_name == "select":
        Select(control).select_by_visible_text(value)
    else:
        control.clear()
        control.send_keys(value)


def submit(browser, text: str) -> None:
    browser.find_element("xpath", f'//button[normalize-space()="{text}"]').click()


def api_token(server: str, subject: str) -> str:
    request = urllib.request.Request(
        f"{server}/console/dev/token",
        data=json.dumps({"subject": subject}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["access_token"]


def api_post(server: str, subject: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_token(server, subject)}"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


# --- tests ---------------------------------------------------------------------------------------------------


def test_the_sign_in_page_lists_the_demo_users_under_the_policy(browser, server):
    with urllib.request.urlopen(f"{server}/console/") as response:
        assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    browser.get(f"{server}/console/")
    wait_for_heading(browser, "Aanmelden (demo)")
    subjects = [b.get_attribute("data-subject") for b in browser.find_elements("css selector", "button[data-subject]")]
    assert "klacht-gerda" in subjects and "audit-ilse" in subjects
    check_screen(browser, "aanmelden")


def register_noise_complaint(browser, description: str, **reporter: str) -> None:
    """Through the intake form: noise from the café at Domplein 12, by phone, from a reporter who wants feedback and
    gave these fields (by their labels)."""
    for label, value in {
        "Categorie": "Geluidsoverlast horeca",
        "Kanaal": "Telefoon",
        "Omschrijving": description,
        "Straat": "Domplein",
        "Huisnummer": "12",
        "Postcode": "3512 JC",
        **reporter,
        "Wil terugkoppeling": "Ja",
    }.items():
        fill(browser, label, value)
    submit(browser, "Klacht registreren")
    wait_for_heading(browser, "Klacht: Geluidsoverlast horeca")


def test_a_complaint_from_intake_to_answer(browser, server):
    sign_in(browser, server, "klacht-gerda", "Klachten")
    check_screen(browser, "klachten")
    open_screen(browser, "#/klachten/nieuw", "Nieuwe klacht")
    check_screen(browser, "nieuwe-klacht")
    register_noise_complaint(
        browser,
        "Harde muziek tot na sluitingstijd bij het café op de hoek.",
        Naam="Petra Bos",
        **{"E-mail": "petra.bos@example.nl"},
    )
    assert "petra.bos@example.nl" in text_of(browser, "main")  # the handler sees the reporter
    # and whether the acknowledgement reached them (this server has no mail server: it waits).
    assert "E-mail ontvangstbevestiging" in text_of(browser, "main") and "Wordt verzonden" in text_of(browser, "main")
    assert "Binnenstad" in text_of(browser, "dl") and "binnenstad" not in text_of(browser, "dl")  # the wijk's name
    check_screen(browser, "klacht")
    # The worklist names the category and the wijk in words, not by their keys.
    open_screen(browser, "#/klachten", "Klachten")
    settled(browser)
    listed = text_of(browser, "#kop-nieuw + *")
    assert "Geluidsoverlast horeca: Harde muziek" in listed and "Binnenstad" in listed and "binnenstad" not in listed
    browser.find_element("partial link text", "Geluidsoverlast horeca: Harde muziek").click()
    wait_for_heading(browser, "Klacht: Geluidsoverlast horeca")

    fill(browser, "Nieuwe status", "In behandeling")
    submit(browser, "Status wijzigen")
    wait_for(browser, lambda b: "In behandeling" in text_of(b, "dl"), "in behandeling")
    fill(browser, "Nieuwe status", "Afgehandeld")
    submit(browser, "Status wijzigen")  # without the answer the reporter asked for: the server's words are shown
    wait_for(browser, lambda b: text_of(b, "#meldingen"), "an error in words")
    assert "niet volledig" in text_of(browser, "#meldingen")
    fill(browser, "Uitkomst", "Overlast gestopt")
    fill(browser, "Antwoord aan de melder", "De exploitant is aangesproken; de muziek gaat voortaan om 1 uur uit.")
    submit(browser, "Status wijzigen")
    wait_for(browser, lambda b: "Afgehandeld" in text_of(b, "dl"), "afgehandeld")
    assert "de muziek gaat voortaan om 1 uur uit" in text_of(browser, "dl") and "Overlast gestopt" in text_of(
        browser, "dl"
    )
    check_screen(browser, "klacht-afgehandeld")


@pytest.fixture
def refusing_mail_console(pg_server_url, template_url, data_dir, tmp_path) -> Iterator[str]:
    """A console server whose mail server refuses every e-mail, so an e-mail to a reporter fails for good."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(default="550 5.1.1 Onbekende ontvanger")
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    name = asyncio.run(create_database(pg_server_url))
    try:
        mail = {
            "TOEZICHT_SMTP_HOST": "127.0.0.1",
            "TOEZICHT_SMTP_PORT": str(smtp.port),
            "TOEZICHT_SMTP_STARTTLS": "false",
            "TOEZICHT_OUTBOX_MAX_ATTEMPTS": "1",
            "TOEZICHT_OUTBOX_POLL_INTERVAL_S": "0.05",
        }
        with served(with_database(pg_server_url, name), data_dir, tmp_path, TOEZICHT_AUTH_MODE="dev", **mail) as run:
            yield run.base_url
    finally:
        smtp.stop()
        asyncio.run(drop_database(pg_server_url, name))


def test_a_reporter_our_e_mail_did_not_reach_is_listed_until_the_handler_records_calling_them(
    browser, refusing_mail_console
):
    server = refusing_mail_console
    sign_in(browser, server, "klacht-gerda", "Klachten")
    open_screen(browser, "#/klachten/nieuw", "Nieuwe klacht")
    register_noise_complaint(
        browser, "Bonkende bas tot diep in de nacht.", Telefoon="0301234567", **{"E-mail": "onbereikbaar@example.nl"}
    )
    complaint = browser.execute_script("return location.hash")
    uninformed = "section[aria-labelledby=kop-melder-informeren]"

    def listed(b) -> bool:
        open_screen(b, "#/klachten/nieuw", "Nieuwe klacht")  # leave and come back: the list is read again
        open_screen(b, "#/klachten", "Klachten")
        settled(b)
        return "Bonkende bas" in text_of(b, uninformed)

    wait_for(browser, listed, "the complaint on the list of reporters our e-mail did not reach")
    check_screen(browser, "klachten-melder-niet-bereikt")
    open_screen(browser, complaint, "Klacht: Geluidsoverlast horeca")
    # Why, in words (the mail server refused the DATA with 550), with the code beside them for the administrator.
    assert "Mislukt: de mailserver weigerde het bericht (smtp_550)." in text_of(browser, "main")
    assert "Bel de melder op 0301234567" in text_of(browser, "main")
    check_screen(browser, "klacht-melder-informeren")
    fill(browser, "Hoe is de melder geïnformeerd?", "Telefonisch")
    submit(browser, "Vastleggen dat de melder is geïnformeerd")
    wait_for(browser, lambda b: "Telefonisch op" in text_of(b, "main"), "the call recorded")
    assert not browser.find_elements("xpath", '//button[normalize-space()="Vastleggen dat de melder is geïnformeerd"]')
    open_screen(browser, "#/klachten", "Klachten")
    settled(browser)
    assert "Bonkende bas" not in text_of(browser, uninformed)


def test_keyboard_only_from_sign_in_to_a_registered_complaint(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def press(*keys: str) -> None:
        ActionChains(browser).send_keys(*keys).perform()

    def tab_to(description: str, matches) -> None:
        for _ in range(60):
            press(Keys.TAB)
            if matches(browser.switch_to.active_element):
                return
        raise AssertionError(f"Tab never reached {description}")

    browser.get(f"{server}/console/")
    wait_for_heading(browser, "Aanmelden (demo)")
    press(Keys.TAB)
    assert browser.switch_to.active_element.text == "Direct naar de inhoud"  # the skip link comes first
    tab_to("Gerda", lambda element: element.get_attribute("data-subject") == "klacht-gerda")
    press(Keys.ENTER)
    wait_for_heading(browser, "Klachten")
    tab_to("the menu's Nieuwe klacht", lambda element: element.text == "Nieuwe klacht")
    press(Keys.ENTER)
    wait_for_heading(browser, "Nieuwe klacht")
    assert browser.switch_to.active_element.text == "Nieuwe klacht"  # focus on the new screen's heading
    press(Keys.TAB, Keys.TAB, Keys.TAB, "Te koop aan jongeren zonder legitimatie.")  # category, channel, description
    press(Keys.TAB, "Kanaalstraat", Keys.TAB, "88", Keys.TAB, "3531 CL")
    tab_to("the submit button", lambda element: element.text == "Klacht registreren")
    press(Keys.ENTER)
    wait_for_heading(browser, "Klacht: Geluidsoverlast horeca")
    assert "Te koop aan jongeren zonder legitimatie." in text_of(browser, "main")


def test_a_handler_without_the_sexwork_regime_never_sees_a_sex_work_complaint(browser, server):
    secret = "Vermoedelijk illegale prostitutie in de bovenwoning."
    complaint = api_post(
        server,
        "klacht-gerda",
        "/api/v1/complaints",
        {
            "category": "illegale_prostitutie",
            "channel": "phone",
            "description": secret,
            "address": {"street": "Zandpad", "house_number": 7, "postcode": "3552 AB"},
        },
    )
    sign_in(browser, server, "klacht-gerda", "Klachten")
    settled(browser)
    assert secret[:40] in text_of(browser, "main")  # she may: the list shows it

    sign_in(browser, server, "klacht-karin", "Klachten")
    settled(browser)
    assert secret[:40] not in text_of(browser, "main")
    browser.execute_script("location.hash = arguments[0]", f"#/klachten/{complaint['id']}")
    wait_for(browser, lambda b: text_of(b, "#meldingen"), "refused in words")
    assert secret not in text_of(browser, "body")
    check_screen(browser, "klacht-geweigerd")


def test_the_auditor_reads_who_did_what_by_person_and_period(browser, server):
    sign_in(browser, server, "audit-ilse", "Indicatoren")
    open_screen(browser, "#/audit", "Audit")
    settled(browser)
    trail = text_of(browser, "main")
    # In the auditor's words: signing in registered her.
    assert "Ilse Dekker\tGebruiker: geregistreerd\tGebruiker " in trail and "user.registered" not in trail
    check_screen(browser, "audit")


def test_the_coordinator_sees_the_indicators_with_both_charts_and_downloads_them_as_csv(browser, server):
    sign_in(browser, server, "coord-dirk", "Te beoordelen")
    open_screen(browser, "#/indicatoren", "Indicatoren")
    wait_for(
        browser,
        lambda b: b.execute_script(
            "const charts = [...document.querySelectorAll('main img')];"
            "return charts.length === 2 && charts.every(img => img.complete && img.naturalWidth > 100);"
        ),
        "two charts",
    )
    assert "Controles uitgevoerd" in text_of(browser, "main table")
    check_screen(browser, "indicatoren")
    submit(browser, "Download als CSV")
    wait_for(browser, lambda _: [f for f in DOWNLOADS.iterdir() if f.suffix == ".csv"], "the CSV file")
    csv = next(f for f in DOWNLOADS.iterdir() if f.suffix == ".csv").read_text(encoding="utf-8-sig")
    assert ";" in csv.splitlines()[0]


def demo_headers(make_token, subject: str) -> dict[str, str]:
    """A token with exactly the demo user's claims (any other claims would change the stored user)."""
    _, sub, name, roles, regimes, teams = next(user for user in DEMO_USERS if user[1] == subject)
    return bearer(make_token(sub, roles=roles, regimes=regimes, teams=teams, name=name))


async def inspections_by_anna(database_url: str, data_dir: Path, make_token, cafe: str, *answers: dict) -> list[str]:
    """Complete inspections of the café named `cafe` by the demo inspector Anna (team-centrum, which the demo
    coordinator Dirk leads), one per set of alcohol-horeca answers, made through the API as her phone would."""
    async with app_client(make_settings(database_url, data_dir)) as http:
        admin, anna = demo_headers(make_token, "admin-hans"), demo_headers(make_token, "insp-anna")
        world = World(h={"insp_a1": anna}, ids={"insp_a1": str(await register(http, anna))})
        checklist = await http.post("/api/v1/checklists", headers=admin, json=checklist_file("alcohol-horeca"))
        world.ids["alcohol-horeca"] = checklist.json()["id"]
        world.ids["cafe"] = (await create_object(http, admin, name=cafe))["id"]
        bodies = [
            world.body(checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(a)}])
            for a in answers
        ]
        return [(await submitted(http, world, body))["id"] for body in bodies]


async def test_a_coordinator_reviews_one_inspection_and_returns_another_with_a_reason(
    browser, server, console_database, data_dir, make_token
):
    accepted, returned = await inspections_by_anna(
        console_database, data_dir, make_token, "Café Het Hoekje", HORECA_OK, HORECA_OK
    )
    sign_in(browser, server, "coord-dirk", "Te beoordelen")
    settled(browser)
    assert "Anna de Vries" in text_of(browser, "main table")
    assert "Geplande opdrachten waarvan de periode voorbij is: geen." in text_of(browser, "main")  # asked, none
    check_screen(browser, "te-beoordelen")

    browser.find_element("css selector", f'a[href="#/inspecties/{accepted}"]').click()
    wait_for_heading(browser, "Inspectie beoordelen")
    wijk = browser.find_element("xpath", "//dt[.='Wijk']/following-sibling::dd[1]").text
    assert wijk in WIJK_NAMES, wijk  # the wijk's name, not its key
    check_screen(browser, "inspectie")
    submit(browser, "Goedkeuren")
    wait_for_heading(browser, "Te beoordelen")
    settled(browser)

    browser.find_element("css selector", f'a[href="#/inspecties/{returned}"]').click()
    wait_for_heading(browser, "Inspectie beoordelen")
    fill(browser, "Reden voor terugsturen", "AW-06: de foto van de leeftijdsaanduiding ontbreekt.")
    submit(browser, "Terugsturen")
    wait_for_heading(browser, "Te beoordelen")
    settled(browser)
    assert not browser.find_elements("css selector", 'a[href^="#/inspecties/"]')  # both handled
    token = bearer(api_token(server, "coord-dirk"))
    async with app_client(make_settings(console_database, data_dir)) as http:
        states = [(await http.get(f"/api/v1/inspections/{i}", headers=token)).json() for i in (accepted, returned)]
    assert [s["state"] for s in states] == ["reviewed", "returned"]
    assert states[1]["return_reason"] == "AW-06: de foto van de leeftijdsaanduiding ontbreekt."


async def a_case_with_a_photographed_violation(database_url: str, data_dir: Path, make_token, cafe: str) -> str:
    """Anna finds no manager and no age notice (photographed) at the café named `cafe`, and Dirk accepts the
    inspection: the case opens. The café's letters go to its operator; the letter templates are published. Returns
    the café's id."""
    connection = await core_db.connect(database_url)
    try:
        await letters.publish_directory(connection, letter_templates.DEFAULT_DIRECTORY)
    finally:
        await connection.close()
    async with app_client(make_settings(database_url, data_dir)) as http:
        admin, anna, dirk = (demo_headers(make_token, who) for who in ("admin-hans", "insp-anna", "coord-dirk"))
        world = World(h={"insp_a1": anna}, ids={"insp_a1": str(await register(http, anna))})
        checklist = await http.post("/api/v1/checklists", headers=admin, json=checklist_file("alcohol-horeca"))
        world.ids["alcohol-horeca"] = checklist.json()["id"]
        world.ids["cafe"] = (await create_object(http, admin, name=cafe))["id"]
        addressee = await http.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=OPERATOR, headers=admin)
        assert addressee.status_code == 200, addressee.text
        photo, photo_id, inspection_id = jpeg(320, 240), str(uuid.uuid4()), str(uuid.uuid4())
        body = world.violating_body(photos=[photo_entry(photo_id, photo)])
        assert (await http.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=anna)).status_code == 200
        uploaded = await upload_photo(http, anna, inspection_id, photo_id, photo)
        assert uploaded.status_code in (200, 201), uploaded.text
        version = (await http.get(f"/api/v1/inspections/{inspection_id}", headers=dirk)).json()["version"]
        review = await http.post(
            f"/api/v1/inspections/{inspection_id}/review", headers={**dirk, "If-Match": f'"{version}"'}
        )
        assert review.status_code == 200, review.text
    return world.ids["cafe"]


def thumbnails_loaded(browser) -> bool:
    return browser.execute_script(
        "const images = [...document.querySelectorAll('main img.console-thumbnail')];"
        "return images.length > 0 && images.every(img => img.complete && img.naturalWidth > 0);"
    )


def letter_shown(browser) -> bool:
    """The letter preview is a PDF from a blob: URL (fetched with the token; no token in its address), opened in the
    browser's PDF viewer."""
    return browser.execute_script(
        "const frame = document.querySelector('main iframe.console-letter');"
        "return !!frame && frame.src.startsWith('blob:') && !!frame.contentDocument"
        " && frame.contentDocument.contentType === 'application/pdf';"
    )


def step_status(browser, seq: int) -> str:
    return browser.execute_script(
        "const step = document.getElementById('stap-' + arguments[0]);"
        "return step ? step.closest('article').querySelector('dl').innerText : '';",
        seq,
    )


def open_case(browser, server: str, subject: str, cafe: str) -> None:
    sign_in(browser, server, subject, "Handhaving")
    settled(browser)
    browser.find_element("link text", cafe).click()
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")


def click_in_step(browser, seq: int, text: str) -> None:
    browser.find_element("xpath", f'//article[.//h3[@id="stap-{seq}"]]//button[normalize-space()="{text}"]').click()


def api_status(server: str, subject: str, method: str, path: str, headers: dict[str, str] | None = None) -> dict:
    request = urllib.request.Request(
        f"{server}{path}",
        method=method,
        headers={"Authorization": f"Bearer {api_token(server, subject)}", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return {"status": response.status, **json.loads(response.read() or b"{}")}
    except urllib.error.HTTPError as refused:
        return {"status": refused.code, **json.loads(refused.read())}


async def test_a_boete_from_violation_to_sent_letter_with_two_officers(
    browser, server, console_database, data_dir, make_token
):
    cafe = "Café De Brug"
    await a_case_with_a_photographed_violation(console_database, data_dir, make_token, cafe)
    sign_in(browser, server, "jur-eva", "Handhaving")
    settled(browser)
    main = text_of(browser, "main")
    assert "Verlopen termijnen" in main and "Wacht op mijn goedkeuring" in main and cafe in main
    check_screen(browser, "handhaving")
    browser.find_element("link text", cafe).click()
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    wait_for(browser, thumbnails_loaded, "the violation's photo")
    violations = text_of(browser, "#kop-overtredingen + table")
    assert "NO-MANAGER-PRESENT" in violations and "Alcoholwet art. 24" in violations and "team-centrum" in violations
    assert "Grondslag" in text_of(browser, "main") and "Waarschuwing" in text_of(browser, "main")  # the proposal
    check_screen(browser, "zaak")

    # Eva: a voornemen for a boete instead of the proposed warning; the server asks why, in Dutch words.
    fill(browser, "Soort stap", "Voornemen")
    fill(browser, "Besluit", "Bestuurlijke boete")
    fill(browser, "Bedrag in euro (bij een boete)", "1360")
    submit(browser, "Concept opstellen")
    wait_for(browser, lambda b: "reden van afwijking" in text_of(b, "#meldingen"), "the refusal in words")
    fill(
        browser, "Reden van afwijking van het voorstel (optioneel)", "Calculerend: eerder gewaarschuwd door de politie."
    )
    submit(browser, "Concept opstellen")
    wait_for(browser, lambda b: "Concept" in step_status(b, 1), "the drafted voornemen")
    click_in_step(browser, 1, "Conceptbrief bekijken")
    wait_for(browser, letter_shown, "the voornemen's letter")
    check_screen(browser, "zaak-voornemen")
    click_in_step(browser, 1, "Verzenden")
    wait_for(browser, lambda b: "Verzonden" in step_status(b, 1), "the voornemen sent")
    fill(browser, "Samenvatting van de zienswijze", "De exploitant erkent dat er geen leidinggevende was.")
    submit(browser, "Zienswijze vastleggen")
    wait_for(browser, lambda b: "Ontvangen" in step_status(b, 1), "the zienswijze recorded")

    # Eva drafts the besluit; she cannot approve it: the console does not offer it and the server refuses it.
    fill(browser, "Soort stap", "Besluit")
    fill(browser, "Besluit", "Bestuurlijke boete")
    fill(browser, "Bedrag in euro (bij een boete)", "1360")
    fill(browser, "Motivering", MOTIVERING)
    fill(
        browser, "Reden van afwijking van het voorstel (optioneel)", "Calculerend: eerder gewaarschuwd door de politie."
    )
    submit(browser, "Concept opstellen")
    wait_for(browser, lambda b: "Concept" in step_status(b, 2), "the drafted besluit")
    assert not browser.find_elements("xpath", '//button[normalize-space()="Goedkeuren"]')
    case_id = browser.execute_script("return location.hash.split('/')[2]")
    found = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{case_id}")
    besluit = found["steps"][-1]["id"]
    refused = api_status(
        server,
        "jur-eva",
        "POST",
        f"/api/v1/enforcement/cases/{case_id}/steps/{besluit}/approve",
        {"If-Match": f'"{found["version"]}"'},
    )
    assert (refused["status"], refused["code"]) == (403, "four_eyes")
    check_screen(browser, "zaak-besluit-concept")

    # Frank finds it in his worklist and approves it.
    sign_in(browser, server, "jur-frank", "Handhaving")
    settled(browser)
    approvals = text_of(browser, "#kop-goedkeuren ~ .console-paged")
    assert f"Bestuurlijke boete: {cafe}" in approvals and "Eva Smit" in approvals and "1.360,00" in approvals
    browser.find_element("link text", f"Bestuurlijke boete: {cafe}").click()
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    click_in_step(browser, 2, "Goedkeuren")
    wait_for(browser, lambda b: "Goedgekeurd" in step_status(b, 2), "the besluit approved")
    check_screen(browser, "zaak-goedgekeurd")

    # Eva finds it, approved, among the steps ready to send, and sends it: the letter as sent is the stored document.
    sign_in(browser, server, "jur-eva", "Handhaving")
    settled(browser)
    to_send = text_of(browser, "#kop-verzenden ~ .console-paged")
    boete = f"Besluit \u2013 Bestuurlijke boete: {cafe}"  # an en dash, as the console writes it
    assert boete in to_send and "Goedgekeurd" in to_send and "Eva Smit" in to_send
    browser.find_element("link text", boete).click()
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    click_in_step(browser, 2, "Verzenden")
    wait_for(browser, lambda b: "Verzonden" in step_status(b, 2), "the besluit sent")
    assert "Bezwaartermijn" in step_status(browser, 2)
    full_page_screenshot(browser, "zaak-volledig")  # docs/console-zaak.png
    click_in_step(browser, 2, "Brief bekijken")
    wait_for(browser, letter_shown, "the sent letter")
    check_screen(browser, "zaak-verzonden")
    found = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{case_id}")
    sent = found["steps"][-1]
    assert (sent["status"], sent["amount_cents"], sent["approved_by"] is not None) == ("sent", 136_000, True)
    assert sent["drafted_by"] != sent["approved_by"]


def jurists(make_token) -> World:
    """Eva drafts and sends (officer_a), Frank approves (officer_b): the demo's two jurists."""
    return World(
        h={"officer_a": demo_headers(make_token, "jur-eva"), "officer_b": demo_headers(make_token, "jur-frank")}
    )


async def an_approved_dwangsom(http, world: World, database_url: str, data_dir: Path, make_token, cafe: str) -> dict:
    """The café's case with a last onder dwangsom drafted by Eva after her voornemen, approved by Frank, not sent
    yet. Returns the case."""
    cafe_id = await a_case_with_a_photographed_violation(database_url, data_dir, make_token, cafe)
    cases = await http.get("/api/v1/enforcement/cases", params={"object_id": cafe_id}, headers=world.h["officer_a"])
    (current,) = cases.json()["items"]
    current = (await http.get(f"/api/v1/enforcement/cases/{current['id']}", headers=world.h["officer_a"])).json()
    terms = {key: value for key, value in DWANGSOM.items() if key not in ("type", "document_text")}
    current = await drafted(http, world, current, {**terms, "type": "voornemen"})
    current = await done(http, world, current, last_step(current)["id"], "send")
    current = await done(http, world, current, last_step(current)["id"], "zienswijze", body={"received": True})
    current = await drafted(http, world, current, DWANGSOM)
    return await done(http, world, current, last_step(current)["id"], "approve", who="officer_b")


async def a_forfeited_dwangsom(database_url: str, data_dir: Path, make_token, cafe: str) -> dict:
    """The café's case with a last onder dwangsom sent by Eva (approved by Frank) whose hercontrole, after the
    begunstigingstermijn, found the violation again: 500 euro forfeited. Returns the case."""
    async with app_client(make_settings(database_url, data_dir)) as http:
        world = jurists(make_token)
        current = await an_approved_dwangsom(http, world, database_url, data_dir, make_token, cafe)
        current = await done(http, world, current, last_step(current)["id"], "send")
        hercontrole = last_step(current)
        # The begunstigingstermijn ended (arranged: a planned hercontrole's due date is no letter's content).
        connection = await core_db.connect(database_url)
        try:
            past = calendar.today() - timedelta(days=2)
            await connection.execute(
                "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], past
            )
        finally:
            await connection.close()
        outcome = {"result": "forfeited", "observed_on": calendar.today().isoformat(), "forfeited_cents": 50_000}
        return await done(http, world, current, hercontrole["id"], "outcome", body=outcome)


async def test_a_letter_changed_after_its_approval_is_approved_again_on_the_case_page(
    browser, server, console_database, data_dir, make_token
):
    """The approvals list offers drafts only: a besluit whose letter changed after Frank approved it (here its
    addressee) is approved again from the case page, and then sent."""
    cafe = "Café Het Anker"
    async with app_client(make_settings(console_database, data_dir)) as http:
        current = await an_approved_dwangsom(http, jurists(make_token), console_database, data_dir, make_token, cafe)
        admin = demo_headers(make_token, "admin-hans")
        moved = {**OPERATOR, "street": "Oudegracht 99"}
        changed = await http.put(f"/api/v1/objects/{current['object_id']}/addressee", json=moved, headers=admin)
        assert changed.status_code == 200, changed.text
    seq = last_step(current)["seq"]
    open_case(browser, server, "jur-eva", cafe)
    click_in_step(browser, seq, "Verzenden")
    wait_for(browser, lambda b: "veranderd sinds de goedkeuring" in text_of(b, "#meldingen"), "letter_changed in words")
    assert not browser.find_elements("xpath", '//button[normalize-space()="Opnieuw goedkeuren"]')  # she drafted it

    open_case(browser, server, "jur-frank", cafe)
    browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", f"stap-{seq}")
    check_screen(browser, "zaak-opnieuw-goedkeuren")
    click_in_step(browser, seq, "Opnieuw goedkeuren")
    path = f"/api/v1/enforcement/cases/{current['id']}"
    before = last_step(current)["approved_sha256"]
    wait_for(
        browser, lambda _: api_status(server, "jur-frank", "GET", path)["steps"][seq - 1]["approved_sha256"] != before
    )
    open_case(browser, server, "jur-eva", cafe)
    click_in_step(browser, seq, "Verzenden")
    wait_for(browser, lambda b: "Verzonden" in step_status(b, seq), "the besluit sent")
    sent = api_status(server, "jur-eva", "GET", path)["steps"][seq - 1]
    assert sent["status"] == "sent" and sent["approved_sha256"] != before


async def test_a_forfeited_dwangsom_is_collected_with_an_invordering(
    browser, server, console_database, data_dir, make_token
):
    cafe = "Café De Sluis"
    current = await a_forfeited_dwangsom(console_database, data_dir, make_token, cafe)
    hercontrole = last_step(current)
    assert hercontrole["type"] == "hercontrole" and hercontrole["status"] == "forfeited"
    open_case(browser, server, "jur-eva", cafe)
    seq = hercontrole["seq"]
    assert "Verbeurd" in step_status(browser, seq)
    browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", f"stap-{seq}")
    check_screen(browser, "zaak-invordering")
    # The form offers the sum forfeited; Eva collects less of it.
    fill(browser, "Bedrag in euro (ten hoogste het verbeurde bedrag)", "400")
    submit(browser, "Invordering opstellen")
    wait_for(browser, lambda b: "Concept" in step_status(b, seq + 1), "the drafted invordering")
    assert "Invordering" in text_of(browser, f"#stap-{seq + 1}")
    assert not browser.find_elements("xpath", '//button[normalize-space()="Invordering opstellen"]')  # once
    found = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{current['id']}")
    collected = found["steps"][-1]
    assert (collected["type"], collected["amount_cents"], collected["related_step_id"]) == (
        "invordering",
        40_000,
        hercontrole["id"],
    )


def press(browser, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(*keys).perform()


def tab_to(browser, description: str, matches, limit: int = 120) -> None:
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        press(browser, Keys.TAB)
        if matches(browser.switch_to.active_element):
            return
    raise AssertionError(f"Tab never reached {description}")


def named(name: str):
    return lambda element: element.get_attribute("name") == name


def with_text(text: str):
    return lambda element: element.text == text


def keyboard_sign_in(browser, server: str, subject: str) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server}/console/")
    wait_for_heading(browser, "Aanmelden (demo)")
    tab_to(browser, subject, lambda element: element.get_attribute("data-subject") == subject)
    press(browser, Keys.ENTER)
    wait_for_heading(browser, "Handhaving")
    settled(browser)


async def test_keyboard_only_through_the_boete_flow(browser, server, console_database, data_dir, make_token):
    from selenium.webdriver.common.keys import Keys

    cafe = "Café Het Plein"
    await a_case_with_a_photographed_violation(console_database, data_dir, make_token, cafe)
    reason = "Calculerend: eerder gewaarschuwd door de politie."

    def draft(kind_key: str, amount: str, motivering: str | None) -> None:
        tab_to(browser, "the kind of step", named("type"))
        press(browser, kind_key)  # the select jumps to the option starting with it
        tab_to(browser, "the amount", named("amount"))
        press(browser, Keys.END, *[Keys.BACKSPACE] * 12, amount)
        if motivering:
            tab_to(browser, "the motivering", named("document_text"))
            press(browser, motivering)
        tab_to(browser, "the deviation reason", named("deviation_reason"))
        press(browser, reason)
        tab_to(browser, "the draft button", with_text("Concept opstellen"))
        press(browser, Keys.ENTER)

    keyboard_sign_in(browser, server, "jur-eva")
    tab_to(browser, "the case in the worklist", with_text(cafe))
    press(browser, Keys.ENTER)
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    draft("v", "1360", None)
    wait_for(browser, lambda b: "Concept" in step_status(b, 1), "the drafted voornemen")
    assert "Voornemen" in text_of(browser, "#stap-1")
    tab_to(browser, "the send button", with_text("Verzenden"))
    press(browser, Keys.ENTER)
    wait_for(browser, lambda b: "Verzonden" in step_status(b, 1), "the voornemen sent")
    tab_to(browser, "the zienswijze's summary", named("summary"))
    press(browser, "Geen bezwaar tegen de feiten.")
    tab_to(browser, "the zienswijze button", with_text("Zienswijze vastleggen"))
    press(browser, Keys.ENTER)
    wait_for(browser, lambda b: "Ontvangen" in step_status(b, 1), "the zienswijze recorded")
    draft("b", "1360", MOTIVERING)
    wait_for(browser, lambda b: "Concept" in step_status(b, 2), "the drafted besluit")

    keyboard_sign_in(browser, server, "jur-frank")
    tab_to(browser, "the decision awaiting approval", with_text(f"Bestuurlijke boete: {cafe}"))
    press(browser, Keys.ENTER)
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    tab_to(browser, "the approve button", with_text("Goedkeuren"))
    press(browser, Keys.ENTER)
    wait_for(browser, lambda b: "Goedgekeurd" in step_status(b, 2), "the besluit approved")

    keyboard_sign_in(browser, server, "jur-eva")
    tab_to(browser, "the case in the worklist", with_text(cafe))
    press(browser, Keys.ENTER)
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    tab_to(browser, "the send button", with_text("Verzenden"))
    press(browser, Keys.ENTER)
    wait_for(browser, lambda b: "Verzonden" in step_status(b, 2), "the besluit sent")
    tab_to(browser, "the letter button", with_text("Brief bekijken"))
    press(browser, Keys.ENTER)
    wait_for(browser, letter_shown, "the sent letter")


async def decision_awaiting_approval(database_url: str, data_dir: Path, make_token, cafe: str) -> str:
    """The café's case up to a boete Eva drafted (voornemen sent, zienswijze received), through the API; its id."""
    await a_case_with_a_photographed_violation(database_url, data_dir, make_token, cafe)
    eva = demo_headers(make_token, "jur-eva")
    reason = {"deviation_reason": "Calculerend gedrag"}
    boete = {"decision": "boete", "amount_cents": 136_000, **reason}
    async with app_client(make_settings(database_url, data_dir)) as http:
        cases = (await http.get("/api/v1/enforcement/cases", headers=eva, params={"open": "true"})).json()["items"]
        current = next(item for item in cases if item["object_name"] == cafe)

        async def command(path: str, body: dict | None = None, status: int = 200) -> None:
            nonlocal current
            response = await http.post(
                f"/api/v1/enforcement/cases/{current['id']}{path}",
                json=body,
                headers={**eva, "If-Match": f'"{current["version"]}"'},
            )
            assert response.status_code == status, response.text
            current = response.json()

        await command("/steps", {"type": "voornemen", **boete}, 201)
        await command(f"/steps/{current['steps'][-1]['id']}/send")
        await command(f"/steps/{current['steps'][-1]['id']}/zienswijze", {"received": True})
        await command("/steps", {"type": "besluit", "document_text": MOTIVERING, **boete}, 201)
    return current["id"]


async def test_an_officer_without_the_sexwork_regime_never_sees_a_sex_work_case(
    browser, server, console_database, data_dir, make_token
):
    secret = "Huize Rood"
    case_id = await decision_awaiting_approval(console_database, data_dir, make_token, secret)
    connection = await core_db.connect(console_database)
    try:  # the case becomes a sex-work case (a sex business's case under APV hoofdstuk 3)
        await connection.execute("UPDATE enforcement_case SET regime = 'sexwork' WHERE id = $1::uuid", case_id)
    finally:
        await connection.close()

    sign_in(browser, server, "jur-eva", "Handhaving")
    settled(browser)
    assert secret in text_of(browser, "main")  # she may: the open cases list it
    browser.find_element("link text", secret).click()
    wait_for_heading(browser, f"Zaak Seksbranche: {secret}")

    sign_in(browser, server, "jur-frank", "Handhaving")  # no sexwork: not in deadlines, approvals or cases
    settled(browser)
    assert secret not in text_of(browser, "body")
    assert "Seksbranche" not in text_of(browser, "main form")  # nor a regime to filter on
    fill(browser, "Wijk", "Binnenstad")
    submit(browser, "Zaken tonen")
    settled(browser)
    assert secret not in text_of(browser, "body")
    browser.execute_script("location.hash = arguments[0]", f"#/zaken/{case_id}")
    wait_for(browser, lambda b: text_of(b, "#meldingen"), "refused in words")
    assert "bestaat niet, of u mag het niet zien" in text_of(browser, "#meldingen")
    assert secret not in text_of(browser, "body")
    check_screen(browser, "zaak-geweigerd")


DUTCH_MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"


def api_command(server: str, subject: str, case_id: str, path: str) -> dict:
    """A command on the case with its current version, as the console sends it."""
    version = api_status(server, subject, "GET", f"/api/v1/enforcement/cases/{case_id}")["version"]
    answer = api_status(
        server, subject, "POST", f"/api/v1/enforcement/cases/{case_id}{path}", {"If-Match": f'"{version}"'}
    )
    assert "code" not in answer, answer  # a case, not a problem (its "status" is the case's)
    return answer


async def test_a_sent_boete_is_read_in_dutch_and_offers_only_a_bezwaar(
    browser, server, console_database, data_dir, make_token
):
    cafe = "Café De Kade"
    case_id = await decision_awaiting_approval(console_database, data_dir, make_token, cafe)
    besluit = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{case_id}")["steps"][-1]["id"]
    api_command(server, "jur-frank", case_id, f"/steps/{besluit}/approve")
    api_command(server, "jur-eva", case_id, f"/steps/{besluit}/send")
    open_case(browser, server, "jur-eva", cafe)

    # The violations in the checklist's Dutch words, with their articles.
    violations = text_of(browser, "#kop-overtredingen + table")
    assert "Geen leidinggevende aanwezig (horecaloket cat. II)" in violations
    assert "Alcoholwet art. 24 lid 1" in violations
    assert "Leeftijdsgrens niet duidelijk aangegeven (horecaloket cat. I)" in violations

    # Every violation has its besluit: no warning, voornemen or besluit to draft; a bezwaar against the besluit.
    assert not browser.find_elements("css selector", 'select[name="type"]')
    assert "geen waarschuwing, voornemen of besluit" in text_of(browser, 'section[aria-labelledby="kop-nieuwe-stap"]')
    assert browser.find_elements("xpath", '//button[normalize-space()="Bezwaar registreren"]')

    # Dates as a Dutch reader writes them: in the text and in the fields, whatever the browser's language.
    assert browser.execute_script("return document.documentElement.lang") == "nl"
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}", text_of(browser, "main"))
    assert re.search(rf"Verzonden op\s+\d{{1,2}} ({DUTCH_MONTHS}) \d{{4}}", step_status(browser, 2))
    # No mail server here: the back office sees that this letter is theirs to post.
    assert "Per post: niet gemaild" in step_status(browser, 2)
    assert not browser.find_elements("css selector", 'input[type="date"]')
    today = calendar.today()
    received = browser.find_element("name", "received_on")
    assert received.get_attribute("value") == today.strftime("%d-%m-%Y")
    fill(browser, "Ontvangen op (dd-mm-jjjj)", f"{today.day}-{today.month}-{today.year}")
    check_screen(browser, "zaak-bezwaar-formulier")
    submit(browser, "Bezwaar registreren")
    wait_for(browser, lambda b: "Geregistreerd" in step_status(b, 3), "the bezwaar registered")
    bezwaar = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{case_id}")["steps"][-1]
    assert (bezwaar["type"], bezwaar["received_on"]) == ("bezwaar", today.isoformat())
    assert not browser.find_elements("xpath", '//button[normalize-space()="Bezwaar registreren"]')  # once

    # No mail server here: the letters wait on the worklist "Te posten" until an officer records them as posted.
    open_screen(browser, "#/handhaving", "Handhaving")
    settled(browser)
    to_post = text_of(browser, 'section[aria-labelledby="kop-posten"]')
    dash = "\N{EN DASH}"  # as the case page writes a step's kind and decision
    assert f"Besluit {dash} Bestuurlijke boete (stap 2): {cafe}" in to_post
    assert f"Voornemen {dash} Bestuurlijke boete (stap 1): {cafe}" in to_post
    browser.find_element("link text", cafe).click()
    wait_for_heading(browser, f"Zaak Alcoholwet: {cafe}")
    click_in_step(browser, 2, "Gepost")
    wait_for(browser, lambda b: "Per post, gepost op" in step_status(b, 2), "the besluit recorded as posted")
    posted = api_status(server, "jur-eva", "GET", f"/api/v1/enforcement/cases/{case_id}")["steps"][1]["dispatch"]
    assert (posted["by"], posted["posted_on"]) == ("post", today.isoformat())
    open_screen(browser, "#/handhaving", "Handhaving")
    settled(browser)
    to_post = text_of(browser, 'section[aria-labelledby="kop-posten"]')
    assert f"(stap 2): {cafe}" not in to_post and f"(stap 1): {cafe}" in to_post
    check_screen(browser, "handhaving-te-posten")


def test_an_error_code_without_dutch_words_is_shown_in_dutch_with_its_code(browser, server):
    sign_in(browser, server, "coord-dirk", "Te beoordelen")
    open_screen(browser, "#/indicatoren", "Indicatoren")
    wait_for(browser, lambda b: "Controles uitgevoerd" in text_of(b, "main table"), "the indicators")
    year = calendar.today().year
    fill(browser, "Vanaf (dd-mm-jjjj)", f"31-12-{year}")
    fill(browser, "Tot en met (dd-mm-jjjj)", f"01-01-{year}")
    submit(browser, "Tonen")
    wait_for(browser, lambda b: text_of(b, "#meldingen"), "the refusal in words")
    message = text_of(browser, "#meldingen")
    assert "Het verzoek klopt niet" in message and "invalid_date_range" in message
    assert "before" not in message  # not the service's English detail
    check_screen(browser, "indicatoren-fout")


def test_no_token_reaches_the_server_log(browser, served_console):
    """Last in this module: every sign-in and call above went through this server."""
    sign_in(browser, served_console.base_url, "klacht-gerda", "Klachten")
    lines = served_console.output_lines()
    assert any("/console/dev/token" in line for line in lines)  # the log does record the requests
    assert not [line for line in lines if re.search(r"eyJ[\w-]+\.[\w-]+", line)]  # a JWT's header and payload
