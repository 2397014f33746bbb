"""Letters: the shipped templates, publishing (immutable versions, unknown fields refused with their line),
rendering every kind to PDF/A-2b with its mandatory parts and the right dates and amounts, determinism, missing
data as a 422 naming it, and documents kept write-once by SHA-256 with tampering detected."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from datetime import date
from typing import Any

import asyncpg
import msgspec
import pytest

from backend.core import audit
from backend.core.config import PROJECT_ROOT
from backend.core.errors import Unprocessable
from backend.core.publishing import read_json
from backend.letters import render, service, templates
from backend.letters.models import LETTER_KINDS, Collection, Terms
from tests.conftest import make_settings
from tests.helpers import run_toezicht
from tests.letter_helpers import (
    FACTS,
    FOOTER,
    SANCTIONS,
    SENT_ON,
    as_json,
    data_for,
    page_texts,
    pdf_reader,
    pdf_text,
    shipped,
    shipped_version,
)

FILES = sorted(templates.DEFAULT_DIRECTORY.glob("*.json"))

# The parts every letter shows, whatever its kind (letterhead, addressee, kenmerk, date, signer, page numbers).
COMMON_PARTS = [
    "Gemeente Utrecht",
    "Postbus 16200",
    "Café De Hoek B.V.",
    "t.a.v. de heer J. Jansen",
    "Oudegracht 1",
    "3511 AA Utrecht",
    "Ons kenmerk HH-2026-0042",
    "Datum 3 maart 2026",
    "Hoogachtend",
    "De burgemeester van Utrecht, namens deze,",
    "mr. A. de Vries",
    "teamleider Handhaving Bijzondere Wetten",
]
FACT_PARTS = [
    "10 februari 2026 en 17 februari 2026",
    "Er was geen leidinggevende aanwezig.",
    "artikel 24, eerste lid, van de Alcoholwet",
    "artikel 20, eerste lid, van de Alcoholwet",
]
# Sent Tuesday 3 March 2026: six weeks end Tuesday 14 April 2026 (bezwaar, Awb 6:7/6:8); two weeks 17 March.
CLAUSE_PARTS = [
    "bezwaar maken",
    "binnen zes weken",
    "uiterlijk op 14 april 2026",
    "Commissie bezwaarschriften",
    "www.utrecht.nl/bezwaar",
    "het kenmerk HH-2026-0042",
    "voorlopige voorziening",
    "voorzieningenrechter van de rechtbank Midden-Nederland",
]
ZIENSWIJZE_PARTS = ["zienswijze", "binnen twee weken", "uiterlijk op 17 maart 2026", "geen bezwaar"]
DECISION_PARTS = {
    "boete": ["€ 1.360,00", "duizend driehonderdzestig euro"],
    "last_onder_dwangsom": [
        "Zorg dat tijdens openingstijden steeds een leidinggevende aanwezig is.",
        "€ 2.500,00",
        "tweeduizend vijfhonderd euro",
        "per overtreding",
        "€ 10.000,00",
        "tienduizend euro",
    ],
    "last_onder_bestuursdwang": ["Verwijder de kansspelautomaat.", "op uw kosten"],
    "schorsing": ["vier weken"],
    "intrekking": ["trek", "vergunning in"],
    "ontzegging_19a": ["zes weken", "alcoholhoudende drank"],
    "sluiting_13b": ["drie maanden", "Oudegracht 1, 3511 AA Utrecht"],
}
# Last day of the begunstigingstermijn, counted from the besluit's sending date (14 and 7 days).
BEGUNSTIGING = {
    "last_onder_dwangsom": "uiterlijk op 17 maart 2026",
    "last_onder_bestuursdwang": "uiterlijk op 10 maart 2026",
}


def expected_parts(kind: str) -> list[str]:
    step, _, decision = kind.partition("_")
    if step == "voornemen":
        parts = [
            *FACT_PARTS,
            "artikel 44a, eerste lid, van de Alcoholwet" if decision == "boete" else "",
            *ZIENSWIJZE_PARTS,
            *DECISION_PARTS[decision],
        ]
        return parts + (["artikel 5:53"] if decision == "boete" else [])
    if step == "besluit":
        return [
            *FACT_PARTS,
            "De overtreding is ernstig",
            *DECISION_PARTS[decision],
            *CLAUSE_PARTS,
            BEGUNSTIGING.get(decision, ""),
        ]
    return {
        "waarschuwing": [*FACT_PARTS, "schriftelijke waarschuwing", "geen bezwaar"],
        # Forfeited on 27 January 2026: payment due six weeks later (5:33), collection lapses a year later (5:35).
        "invorderingsbeschikking": [
            "besluit van 6 januari 2026",
            "HH-2025-0911",
            "27 januari 2026",
            "€ 5.000,00",
            "vijfduizend euro",
            "uiterlijk op 10 maart 2026",
            "27 januari 2027",
            *CLAUSE_PARTS,
        ],
        # Decision sent 6 January: bezwaar term ends 17 February, decision due six weeks after that (7:10).
        "bezwaar_ontvangstbevestiging": [
            "2 februari 2026",
            "besluit van 6 januari 2026",
            "HH-2025-0911",
            "uiterlijk op 31 maart 2026",
            "voorlopige voorziening",
        ],
        "beslissing_op_bezwaar": [
            "2 februari 2026",
            "HH-2025-0911",
            "bezwaar ongegrond",
            "het bezwaar brengt geen nieuwe feiten",
            "uiterlijk op 14 april 2026",
            "rechtbank Midden-Nederland",
            "beroep",
            "voorlopige voorziening",
        ],
        "klacht_antwoord": [
            "Uw melding M-2026-00017",
            "20 februari 2026",
            "geluidsoverlast van een café",
            "Toezichthouders hebben het café op 24 februari 2026 gecontroleerd.",
        ],
    }[kind]


@pytest.fixture
def letters(settings):
    return service.letters_for(settings)


@pytest.fixture
async def published(db):
    reports = await service.publish_directory(db, templates.DEFAULT_DIRECTORY)
    assert [r.outcome for r in reports] == ["published"] * len(FILES), [r.lines() for r in reports]


async def stored(db: asyncpg.Connection) -> dict[str, int]:
    return {
        "templates": await db.fetchval("SELECT count(*) FROM letter_template"),
        "versions": await db.fetchval("SELECT count(*) FROM letter_template_version"),
        "events": await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'letter_template.published'"),
    }


# --- the shipped templates ---------------------------------------------------------------------------------


def test_every_kind_of_letter_has_one_shipped_template_that_passes_the_checks():
    kinds = [templates.check_template(read_json(path))["kind"] for path in FILES]
    assert sorted(kinds) == sorted(LETTER_KINDS)
    assert all(path.stem == kind.replace("_", "-") for path, kind in zip(FILES, kinds, strict=True))


# --- publishing ----------------------------------------------------------------------------------------------


async def publish(db: asyncpg.Connection, document: dict) -> service.Publication:
    async with db.transaction():
        return await service.publish(db, document, actor=audit.Actor(label="test"), published_by=None, request_id=None)


async def test_same_content_is_unchanged_new_content_is_the_next_version(db):
    first = await publish(db, shipped("besluit_boete"))
    again = await publish(db, shipped("besluit_boete"))
    assert (first.outcome, again.outcome, again.version.id) == ("published", "unchanged", first.version.id)
    changed = shipped("besluit_boete")
    changed["body"].append("Met vriendelijke groet van het team.")
    second = await publish(db, changed)
    assert (second.outcome, second.version.version) == ("published", 2)
    assert await stored(db) == {"templates": 1, "versions": 2, "events": 2}
    latest = await service.latest_version(db, "besluit_boete")
    assert latest.id == second.version.id


async def test_a_published_version_cannot_be_changed_or_deleted(db):
    version = (await publish(db, shipped("waarschuwing"))).version
    for statement in (
        "UPDATE letter_template_version SET title = 'x' WHERE id = $1",
        "DELETE FROM letter_template_version WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.execute(statement, version.id)
    assert (await service.latest_version(db, "waarschuwing")).title == version.title


@pytest.mark.parametrize(
    ("breaks", "pointer", "says"),
    [
        (
            lambda doc: doc["body"].insert(3, "Het bedrag is {{sanction.amount_in_dollars}}."),
            "/body/3",
            "line 4: unknown field {{sanction.amount_in_dollars}}",
        ),
        (
            lambda doc: doc["body"].insert(0, {"each": "facts.findings", "item": "{{observed_on}} {{colour}}"}),
            "/body/0/item",
            "line 1: unknown field {{colour}}",
        ),
        (lambda doc: doc.update(subject="Besluit {{case.kenmerk}"), "/subject", "subject: a brace outside"),
        (
            lambda doc: doc["body"].insert(1, {"if": "sanction.mood", "text": "x"}),
            "/body/1/if",
            "line 2: unknown field sanction.mood",
        ),
        # A field of another kind of letter: a besluit boete offers no zienswijze term.
        (
            lambda doc: doc["body"].append("Reageer voor {{terms.zienswijze_last_day}}."),
            "/body/",
            "unknown field {{terms.zienswijze_last_day}}",
        ),
        # A mandatory part left out: the rechtsmiddelenclausule's last day.
        (
            lambda doc: doc.update(body=[b for b in doc["body"] if "terms.bezwaar_last_day" not in str(b)]),
            "/body",
            "must state {{terms.bezwaar_last_day}}",
        ),
        (lambda doc: doc.update(kind="besluit_vermaning"), "/kind", ""),
    ],
)
async def test_a_bad_template_is_refused_with_its_line_and_nothing_is_stored(db, breaks, pointer, says):
    doc = shipped("besluit_boete")
    breaks(doc)
    with pytest.raises(Unprocessable) as refused:
        await publish(db, doc)
    assert refused.value.code == "letter_template_invalid"
    assert any(e.pointer.startswith(pointer) and says in e.detail for e in refused.value.errors), refused.value.errors
    assert await stored(db) == {"templates": 0, "versions": 0, "events": 0}


# --- rendering every kind ------------------------------------------------------------------------------------


async def letter_text(db: asyncpg.Connection, letters: service.Letters, kind: str, **changes: Any) -> str:
    """The text of a letter of `kind` rendered from the test data with `changes`."""
    return pdf_text((await service.render_letter(db, letters, kind, data_for(kind, **changes))).pdf)


async def test_periods_of_one_read_in_the_singular_and_short_periods_in_words(db, letters, published):
    """A schorsing of one week with a zienswijze term of one week: 'één week', never '1 weken'."""
    week = msgspec.structs.replace(SANCTIONS["schorsing"], weeks=1)
    text = await letter_text(
        db, letters, "voornemen_schorsing", sanction=week, terms=Terms(sent_on=SENT_ON, zienswijze_weeks=1)
    )
    assert "voor de duur van één week te schorsen" in text and "binnen één week na de dag van verzending" in text
    month = msgspec.structs.replace(SANCTIONS["sluiting_13b"], months=1)
    assert "voor de duur van één maand." in await letter_text(db, letters, "besluit_sluiting_13b", sanction=month)
    day = msgspec.structs.replace(SANCTIONS["last_onder_dwangsom"], begunstiging_days=1)
    text = await letter_text(db, letters, "besluit_last_onder_dwangsom", sanction=day)
    assert "(begunstigingstermijn van één dag)" in text
    assert not re.search(r"\b1 (weken|maanden|dagen)\b", text)


async def test_a_letter_speaks_of_one_violation_or_of_several_as_its_findings_are(db, letters, published):
    two = await letter_text(db, letters, "waarschuwing")
    one_finding = msgspec.structs.replace(FACTS, findings=FACTS.findings[:1])
    one = await letter_text(db, letters, "waarschuwing", facts=one_finding)
    assert "Ik verzoek u de overtredingen direct te beëindigen" in two
    assert "Ik verzoek u de overtreding direct te beëindigen" in one
    voornemen = await letter_text(db, letters, "voornemen_boete")
    assert "Op grond van artikel 44a, eerste lid, van de Alcoholwet ben ik bevoegd hiertegen op te treden." in voornemen
    assert "Deze overtreding geeft" not in voornemen


async def test_an_invordering_sent_after_the_payment_term_says_the_sum_was_due_not_a_past_last_day(
    db, letters, published
):
    """Forfeited on 27 January 2026, the sum was due on 10 March (5:33). Sent on 3 March, the letter gives that
    day; sent on 20 March, it says the sum was due then and asks for payment now."""
    in_time = await letter_text(db, letters, "invorderingsbeschikking")
    assert "U moet het bedrag uiterlijk op 10 maart 2026 betalen, onder vermelding van het kenmerk" in in_time
    late_terms = Terms(sent_on=date(2026, 3, 20), zienswijze_weeks=2)
    late = await letter_text(db, letters, "invorderingsbeschikking", terms=late_terms)
    assert "Het bedrag had uiterlijk op 10 maart 2026 betaald moeten zijn (artikel 5:33 Algemene wet" in late
    assert "Betaal het daarom direct, onder vermelding van het kenmerk HH-2026-0042." in late
    assert "U moet het bedrag uiterlijk op" not in late


async def test_a_sum_forfeited_on_29_february_lapses_on_the_day_the_deadline_list_shows(db, letters, published):
    """Awb 5:35: a year after 29 February 2028 ends on 28 February 2029, in the letter as in the case's
    invordering_limit deadline (both calendar.years_after)."""
    leap = Collection(observed_on=date(2028, 3, 2), forfeited_on=date(2028, 2, 29), forfeited_cents=500_000, units=1)
    text = await letter_text(db, letters, "invorderingsbeschikking", collection=leap)
    assert "verjaart op 28 februari 2029" in " ".join(text.split())


@pytest.mark.parametrize("kind", LETTER_KINDS)
async def test_each_kind_of_letter_states_its_mandatory_parts(db, letters, published, kind):
    rendered = await service.render_letter(db, letters, kind, data_for(kind))
    text = pdf_text(rendered.pdf)
    subject = templates.FIELD.sub("", shipped(kind)["subject"]).strip()
    missing = [part for part in [*COMMON_PARTS, *expected_parts(kind), subject] if part not in text]
    assert not missing, f"{kind} lacks {missing}:\n{text}"
    assert "{{" not in text and "}}" not in text
    pages = page_texts(rendered.pdf)
    footers = [FOOTER.search(page) for page in pages]
    assert [(m.group(1), m.group(2)) if m else None for m in footers] == [
        (str(n), str(len(pages))) for n in range(1, len(pages) + 1)
    ]
    assert all(f"Ons kenmerk {data_for(kind).case.kenmerk}" in page for page in pages)
    assert rendered.sha256 == hashlib.sha256(rendered.pdf).hexdigest()
    assert rendered.template_version == 1


async def test_the_pdf_is_pdf_a_2b_with_every_font_embedded(letters):
    rendered = await service.render_with(letters, shipped_version("besluit_boete"), data_for("besluit_boete"))
    reader = pdf_reader(rendered.pdf)
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert re.search(r"<pdfaid:part>2</pdfaid:part>|pdfaid:part=\"2\"", xmp), xmp
    assert re.search(r"<pdfaid:conformance>B</pdfaid:conformance>|pdfaid:conformance=\"B\"", xmp), xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    fonts = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for described in descendants:
                descriptor = described["/FontDescriptor"].get_object()
                assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), descriptor
                fonts += 1
    assert fonts >= 2
    assert len(reader.pages) >= 1 and reader.pages[0].extract_text().strip()


async def test_the_same_data_and_version_give_the_same_bytes(letters, settings):
    version, data = shipped_version("besluit_last_onder_dwangsom"), data_for("besluit_last_onder_dwangsom")
    first = await service.render_with(letters, version, data)
    again = await service.render_with(letters, version, data)
    fresh = service.Letters(
        settings=settings,
        renderer=render.Renderer(render.load_logo(PROJECT_ROOT / "schemas" / "letterhead" / "logo.svg")),
        letterhead=letters.letterhead,
        store=letters.store,
        spool=letters.spool,
    )
    other_renderer = await service.render_with(fresh, version, data)
    assert first.sha256 == again.sha256 == other_renderer.sha256
    changed = await service.render_with(
        letters, version, data_for("besluit_last_onder_dwangsom", terms=Terms(sent_on=date(2026, 3, 4)))
    )
    assert changed.sha256 != first.sha256


@pytest.mark.parametrize(
    ("sent_on", "last_day"),
    [
        (date(2026, 3, 24), "6 mei 2026"),  # six weeks end on 5 May (Bevrijdingsdag): Atw art. 1 moves it on
        (date(2026, 3, 16), "28 april 2026"),  # six weeks end on Koningsdag, Monday 27 April 2026
        (date(2026, 3, 21), "4 mei 2026"),  # sent on a Saturday: six weeks end on Saturday 2 May, run to Monday
    ],
)
async def test_the_bezwaar_term_follows_the_atw_calendar(letters, sent_on, last_day):
    data = data_for("besluit_boete", terms=Terms(sent_on=sent_on))
    text = pdf_text((await service.render_with(letters, shipped_version("besluit_boete"), data)).pdf)
    assert f"uiterlijk op {last_day}" in text


async def test_the_zienswijze_term_follows_the_atw_only_when_the_setting_says_so(letters, settings, data_dir):
    # Sent Tuesday 21 April 2026: two weeks end on 5 May, Bevrijdingsdag.
    data = data_for("voornemen_boete", terms=Terms(sent_on=date(2026, 4, 21), zienswijze_weeks=2))
    with_atw = pdf_text((await service.render_with(letters, shipped_version("voornemen_boete"), data)).pdf)
    plain = service.letters_for(make_settings(settings.database_url, data_dir, atw_authority_terms=[]))
    without = pdf_text((await service.render_with(plain, shipped_version("voornemen_boete"), data)).pdf)
    assert "uiterlijk op 6 mei 2026" in with_atw
    assert "uiterlijk op 5 mei 2026" in without


# --- missing data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "pointers"),
    [
        (
            "besluit_boete",
            {"sanction": data_for("besluit_boete").sanction.__replace__(amount_cents=None)},
            {"/sanction/amount_cents"},
        ),
        ("besluit_boete", {"facts": None}, {"/facts/inspection_dates", "/facts/findings"}),
        (
            "besluit_last_onder_dwangsom",
            {
                "sanction": data_for("besluit_last_onder_dwangsom").sanction.__replace__(
                    dwangsom_max_cents=None, order_text=None
                )
            },
            {"/sanction/dwangsom_max_cents", "/sanction/order_text"},
        ),
        ("voornemen_boete", {"terms": Terms(sent_on=SENT_ON)}, {"/terms/zienswijze_weeks"}),
        (
            "besluit_sluiting_13b",
            {"case": data_for("besluit_sluiting_13b").case.__replace__(address=None)},
            {"/case/address"},
        ),
        ("invorderingsbeschikking", {"collection": None}, {"/collection/forfeited_cents", "/collection/observed_on"}),
    ],
)
async def test_data_the_template_needs_and_lacks_is_a_422_naming_it(db, letters, published, kind, changes, pointers):
    with pytest.raises(Unprocessable) as refused:
        await service.render_letter(db, letters, kind, data_for(kind, **changes))
    assert refused.value.code == "letter_data_missing"
    assert pointers <= {error.pointer for error in refused.value.errors}, refused.value.errors


@pytest.mark.parametrize(
    ("drop", "pointer"),
    [
        (lambda raw: raw.pop("addressee"), "/addressee"),
        (lambda raw: raw["addressee"].pop("street"), "/addressee/street"),
        (lambda raw: raw["facts"]["findings"][1].update(observed_on="17-02-2026"), "/facts/findings/1/observed_on"),
        (lambda raw: raw["sanction"].update(amount_cents=-5), "/sanction/amount_cents"),
    ],
)
def test_letter_data_without_an_addressee_or_with_bad_values_is_a_422_naming_it(drop, pointer):
    raw = as_json(data_for("besluit_boete"))
    assert service.parse_letter_data(copy.deepcopy(raw)) == data_for("besluit_boete")
    drop(raw)
    with pytest.raises(Unprocessable) as refused:
        service.parse_letter_data(raw)
    assert refused.value.code == "letter_data_invalid"
    assert [error.pointer for error in refused.value.errors] == [pointer]


async def test_an_optional_paragraph_is_left_out_without_its_data(letters):
    with_zienswijze = data_for(
        "besluit_boete",
        sanction=data_for("besluit_boete").sanction.__replace__(zienswijze="Ik wist niet dat dit verboden was."),
    )
    text = pdf_text((await service.render_with(letters, shipped_version("besluit_boete"), with_zienswijze)).pdf)
    assert "Samengevat: Ik wist niet dat dit verboden was." in text
    text = pdf_text(
        (await service.render_with(letters, shipped_version("besluit_boete"), data_for("besluit_boete"))).pdf
    )
    assert "zienswijze" not in text


async def test_a_kind_without_a_published_template_is_a_422(db, letters):
    with pytest.raises(Unprocessable) as refused:
        await service.render_letter(db, letters, "waarschuwing", data_for("waarschuwing"))
    assert refused.value.code == "letter_template_missing"


async def test_template_text_is_set_as_text_never_run_as_typst(letters):
    version = shipped_version("klacht_antwoord")
    data = data_for("klacht_antwoord")
    data = data.__replace__(complaint=data.complaint.__replace__(subject='#read("/etc/passwd") ]#panic("x")'))
    pdf = (await service.render_with(letters, version, data)).pdf
    assert '#read("/etc/passwd") ]#panic("x")' in pdf_text(pdf)


# --- documents: write-once by SHA-256 ------------------------------------------------------------------------


async def test_a_document_is_stored_once_under_its_hash_and_tampering_is_detected(letters):
    rendered = await service.render_with(letters, shipped_version("besluit_boete"), data_for("besluit_boete"))
    assert await service.store_document(letters, rendered) is True
    assert await service.store_document(letters, rendered) is False
    assert await service.read_document(letters, rendered.sha256) == rendered.pdf
    path = letters.store.path("document", rendered.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(
        rendered.pdf.replace(b"1.360,00", b"1.060,00") if b"1.360,00" in rendered.pdf else rendered.pdf + b"%"
    )
    with pytest.raises(service.DocumentTampered):
        await service.read_document(letters, rendered.sha256)


# --- the CLI -------------------------------------------------------------------------------------------------


async def run_publish(database_url: str, data_dir, *args: str) -> tuple[int, str]:
    return await run_toezicht(database_url, data_dir, "letters", "publish", *args)


async def test_cli_publishes_the_shipped_letters_once_and_refuses_a_bad_file_with_its_line(
    database_url, data_dir, db, tmp_path
):
    code, out = await run_publish(database_url, data_dir)
    assert code == 0, out
    assert out.count(": published v1") == len(FILES)
    code, out = await run_publish(database_url, data_dir)
    assert (code, out.count("unchanged, latest is v1")) == (0, len(FILES))

    bad = copy.deepcopy(shipped("waarschuwing"))
    bad["body"][2] = "Zie {{case.colour}}."
    (tmp_path / "waarschuwing.json").write_text(json.dumps(bad), encoding="utf-8")
    code, out = await run_publish(database_url, data_dir, str(tmp_path))
    assert code == 1
    assert "/body/2: line 3: unknown field {{case.colour}}" in out
    assert await stored(db) == {"templates": len(FILES), "versions": len(FILES), "events": len(FILES)}
