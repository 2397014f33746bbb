"""The console in a real headless Chromium (Debian chromium and chromium-driver, driven by selenium) against a real
server: signing in as a demo user, a complaint from intake to answer through the screens, the auditor's trail,
keyboard-only use, axe-core on every screen (no serious or critical violations), the token never in storage or the
address, the page working under its Content-Security-Policy, and no sex-work complaint for a handler without that
regime. Screenshots of each screen are kept in tests/output/ (git-ignored)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.demo import DEMO_USERS
from tests.conftest import app_client, bearer, create_database, drop_database, make_settings, with_database
from tests.helpers import register
from tests.inspection_helpers import HORECA_NO_MANAGER, HORECA_OK, World, checklist_file, submitted
from tests.registry_helpers import create_object
from tests.server_helpers import Served, served

CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER = shutil.which("chromium")
OUTPUT_DIR = Path(__file__).resolve().parent / "output"
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


def test_a_complaint_from_intake_to_answer(browser, server):
    sign_in(browser, server, "klacht-gerda", "Klachten")
    check_screen(browser, "klachten")
    open_screen(browser, "#/klachten/nieuw", "Nieuwe klacht")
    check_screen(browser, "nieuwe-klacht")
    fill(browser, "Categorie", "Geluidsoverlast horeca")
    fill(browser, "Kanaal", "Telefoon")
    fill(browser, "Omschrijving", "Harde muziek tot na sluitingstijd bij het café op de hoek.")
    fill(browser, "Straat", "Domplein")
    fill(browser, "Huisnummer", "12")
    fill(browser, "Postcode", "3512 JC")
    fill(browser, "Naam", "Petra Bos")
    fill(browser, "E-mail", "petra.bos@example.nl")
    fill(browser, "Wil terugkoppeling", "Ja")
    submit(browser, "Klacht registreren")
    wait_for_heading(browser, "Klacht: Geluidsoverlast horeca")
    assert "petra.bos@example.nl" in text_of(browser, "main")  # the handler sees the reporter
    check_screen(browser, "klacht")

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
    assert "complaint" in text_of(browser, "main")
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


async def test_the_jurist_sees_the_deadline_worklist_and_opens_a_case_with_its_violations(
    browser, server, console_database, data_dir, make_token
):
    (inspection,) = await inspections_by_anna(
        console_database, data_dir, make_token, "Café De Gracht", HORECA_NO_MANAGER
    )
    async with app_client(make_settings(console_database, data_dir)) as http:  # reviewed: the case opens
        review = await http.post(
            f"/api/v1/inspections/{inspection}/review",
            headers={**demo_headers(make_token, "coord-dirk"), "If-Match": '"1"'},
        )
        assert review.status_code == 200, review.text
    sign_in(browser, server, "jur-eva", "Handhaving")
    settled(browser)
    main = text_of(browser, "main")
    assert "Verlopen termijnen" in main and "Open zaken" in main
    check_screen(browser, "handhaving")
    browser.find_element("css selector", 'main table a[href^="#/zaken/"]').click()
    wait_for(browser, lambda b: heading(b).startswith("Zaak alcohol"), "the case page")
    assert "NO-MANAGER-PRESENT" in text_of(browser, "main table") and "Alcoholwet art. 24" in text_of(
        browser, "main table"
    )
    check_screen(browser, "zaak")


def test_no_token_reaches_the_server_log(browser, served_console):
    """Last in this module: every sign-in and call above went through this server."""
    sign_in(browser, served_console.base_url, "klacht-gerda", "Klachten")
    lines = served_console.output_lines()
    assert any("/console/dev/token" in line for line in lines)  # the log does record the requests
    assert not [line for line in lines if re.search(r"eyJ[\w-]+\.[\w-]+", line)]  # a JWT's header and payload
