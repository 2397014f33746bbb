"""The legal text of the letters enforcement sends, as the offender reads it in the PDF the API serves.

A besluit boete promises no suspension of payment: a bezwaar does not suspend a decision (Awb 6:16), and Awb 5:10a
is the right not to answer when heard for a punitive sanction, never a basis for suspending payment. An
invorderingsbeschikking grounds the forfeiture on the last onder dwangsom (5:31d, 5:32), not on the payment term of
5:33, and states the day of the hercontrole that found the last not complied with, apart from the day of forfeiture
(for a dwangsom per day the day after the begunstigingstermijn) from which payment is counted. A corrected template
reaches the database as a new version; a letter already sent keeps its stored PDF.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from backend.core import audit, calendar
from backend.core.calendar import today
from backend.core.publishing import read_json
from backend.letters import service as letters
from backend.letters import templates
from backend.letters.dutch import long_date
from tests.enforcement_helpers import (
    CASES,
    World,
    done,
    drafted,
    enforcement_world,
    fined,
    last_step,
    with_dwangsom,
)
from tests.letter_helpers import pdf_text, shipped

# The sentence the besluit boete stated before its correction: a suspension of payment on a wrong legal basis.
SUSPENSION_PROMISE = (
    "De verplichting tot betaling is opgeschort zolang de bezwaartermijn loopt en, als u bezwaar maakt, totdat op "
    "uw bezwaar is beslist (artikel 5:10a Algemene wet bestuursrecht). U ontvangt een betaalinstructie met het "
    "kenmerk {{case.kenmerk}}."
)
PAYMENT_INSTRUCTION = "U ontvangt een betaalinstructie met het kenmerk {{case.kenmerk}}."


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def document_text(client, world: World, current: dict[str, Any], step_id: str) -> str:
    """The step's letter as the API serves it (the stored one once sent, else a preview), as text."""
    response = await client.get(f"{CASES}/{current['id']}/steps/{step_id}/document", headers=world.h["officer_a"])
    assert response.status_code == 200, response.text
    return pdf_text(response.content)


async def invordering_drafted(
    client, db, world: World, *, term_ended_days_ago: int, inspected_days_ago: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A last onder dwangsom per day whose begunstigingstermijn ended `term_ended_days_ago` days ago (arranged on
    the hercontrole, which is not a sent step), a hercontrole `inspected_days_ago` days ago that found it forfeited,
    and the drafted invordering; returns the case and the invordering step."""
    per_day = {"dwangsom_unit": "per_day", "dwangsom_cents": 10_000, "dwangsom_max_cents": 150_000}
    current, besluit = await with_dwangsom(client, world, **per_day)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid",
        hercontrole["id"],
        today() - timedelta(days=term_ended_days_ago),
    )
    observed = {"result": "forfeited", "observed_on": (today() - timedelta(days=inspected_days_ago)).isoformat()}
    current = await done(client, world, current, hercontrole["id"], "outcome", body=observed)
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    return current, last_step(current)


async def test_the_besluit_boete_promises_no_suspension_of_payment_on_a_wrong_basis(client, world):
    current = await fined(client, world)
    text = await document_text(client, world, current, last_step(current)["id"])
    assert "5:10a" not in text
    assert "opgeschort" not in text
    assert "U ontvangt een betaalinstructie met het kenmerk HH-" in text
    # What the letter says about bezwaar now stands alone: it does not suspend the decision (Awb 6:16).
    assert "Een bezwaar schort de werking van dit besluit niet op." in text


def test_no_shipped_letter_template_cites_awb_5_10a_or_promises_a_suspension():
    for path in sorted(templates.DEFAULT_DIRECTORY.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert "5:10a" not in text, path.name
        assert "opgeschort" not in text, path.name


async def test_the_invordering_grounds_the_forfeiture_on_the_last_not_on_the_payment_term(client, db, world):
    current, invordering = await invordering_drafted(client, db, world, term_ended_days_ago=10, inspected_days_ago=2)
    text = await document_text(client, world, current, invordering["id"])
    assert "aan dwangsom verbeurd, zoals de last onder dwangsom bepaalt (artikelen 5:31d en 5:32 Algemene wet" in text
    assert "verbeurd (artikel 5:33" not in text


async def test_the_invordering_states_the_day_of_the_hercontrole_not_the_day_after_the_term(client, db, world):
    """The begunstigingstermijn ended ten days ago and the hercontrole found the dwangsom (per day) forfeited two
    days ago: the letter dates the hercontrole two days ago; payment counts from the day of forfeiture, the day
    after the term."""
    current, invordering = await invordering_drafted(client, db, world, term_ended_days_ago=10, inspected_days_ago=2)
    text = await document_text(client, world, current, invordering["id"])
    hercontrole_day, forfeited_on = today() - timedelta(days=2), today() - timedelta(days=9)
    assert f"Bij de hercontrole op {long_date(hercontrole_day)} is vastgesteld" in text
    assert f"Bij de hercontrole op {long_date(forfeited_on)}" not in text
    assert f"De dwangsom is verbeurd vanaf {long_date(forfeited_on)};" in text
    payment_due = calendar.term_end(forfeited_on, weeks=6)  # 5:33, from the day of forfeiture
    assert f"U moet het bedrag uiterlijk op {long_date(payment_due)} betalen" in text


async def test_a_corrected_template_is_a_new_version_and_a_sent_letter_keeps_its_stored_pdf(
    client, db, settings, world
):
    """The besluit boete as it read before its correction is published over the shipped one, a boete is sent with
    it; publishing schemas/letters again adds the corrected text as the next version, and the sent letter is still
    served as it was stored, its SHA-256 unchanged."""
    old = shipped("besluit_boete")
    old["body"] = [SUSPENSION_PROMISE if line == PAYMENT_INSTRUCTION else line for line in old["body"]]
    assert SUSPENSION_PROMISE in old["body"]
    async with db.transaction():
        earlier = await letters.publish(db, old, actor=audit.Actor(label="test"), published_by=None, request_id=None)
    assert earlier.outcome == "published"
    current = await fined(client, world)
    sent = last_step(current)
    assert "5:10a" in await document_text(client, world, current, sent["id"])

    reports = {report.key: report for report in await letters.publish_directory(db, templates.DEFAULT_DIRECTORY)}
    assert (reports["besluit_boete"].outcome, reports["besluit_boete"].version) == (
        "published",
        earlier.version.version + 1,
    )
    assert {report.outcome for key, report in reports.items() if key != "besluit_boete"} == {"unchanged"}
    latest = await letters.latest_version(db, "besluit_boete")
    assert latest.content == templates.check_template(read_json(templates.DEFAULT_DIRECTORY / "besluit-boete.json"))

    response = await client.get(f"{CASES}/{current['id']}/steps/{sent['id']}/document", headers=world.h["officer_a"])
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).hexdigest() == sent["letter_sha256"]
    assert "5:10a" in pdf_text(response.content)  # what was made known stays as it was sent
    version_used = await db.fetchval(
        "SELECT letter_template_version_id FROM enforcement_step WHERE id = $1::uuid", sent["id"]
    )
    assert version_used == earlier.version.id
