"""The case as a screen reads it: each violation in the Dutch words of its checklist (description and article, as
the letters state them), and `next_steps`, what may be drafted now, which follows the procedure and agrees with
what drafting accepts and refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.core.calendar import today
from tests.enforcement_helpers import (
    CASES,
    MOTIVERING,
    NO_MANAGER,
    case,
    done,
    drafted,
    enforcement_world,
    last_step,
    only_case,
    proposal,
    reviewed,
    step,
    warned_once,
    with_version,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World

CHECKLIST = Path(__file__).resolve().parent.parent / "schemas" / "checklists" / "alcohol-horeca.json"
ALCOHOL_DECISIONS = [
    "boete",
    "last_onder_dwangsom",
    "last_onder_bestuursdwang",
    "schorsing",
    "ontzegging_19a",
    "sluiting_13b",
    "intrekking",
]
BOETE = {"decision": "boete", "amount_cents": 102_000, "document_text": MOTIVERING}


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def offered(current: dict) -> list[tuple[str, str | None]]:
    return [(s["type"], s["decision"]) for s in current["next_steps"]]


def checklist_rule(code: str) -> dict:
    for section in json.loads(CHECKLIST.read_text(encoding="utf-8"))["sections"]:
        for item in section["items"]:
            for rule in item.get("violations", ()):
                if rule["code"] == code:
                    return rule
    raise AssertionError(code)


async def test_a_cases_violations_carry_the_checklists_dutch_description_and_article(client, world):
    await reviewed(client, world, NO_MANAGER)
    [violation] = (await only_case(client, world))["violations"]
    assert violation["code"] == "AW-24-1-NO-MANAGER-PRESENT"
    assert violation["description"] == checklist_rule("AW-24-1-NO-MANAGER-PRESENT")["description"]
    assert violation["description"] == "Geen leidinggevende aanwezig (horecaloket cat. II)"
    assert violation["article"] == "Alcoholwet art. 24 lid 1"


async def test_next_steps_follow_the_procedure_and_agree_with_drafting(client, world):
    current = await warned_once(client, world)  # the second violation is open
    first = [("warning", None), *[("voornemen", d) for d in ALCOHOL_DECISIONS]]
    assert offered(current) == first
    assert_problem(await step(client, world, current, {"type": "besluit", **BOETE}), 409, "voornemen_required")

    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    boete = {"decision": "boete", "amount_cents": amount}
    current = await drafted(client, world, current, {"type": "voornemen", **boete})
    current = await done(client, world, current, last_step(current)["id"], "send")
    assert offered(current) == first  # the zienswijze term runs: no besluit yet
    refused = await step(client, world, current, {"type": "besluit", "document_text": MOTIVERING, **boete})
    assert_problem(refused, 409, "zienswijze_term_running")

    current = await done(client, world, current, last_step(current)["id"], "zienswijze", body={"received": True})
    assert offered(current) == [*first, ("besluit", "boete")]
    current = await drafted(client, world, current, {"type": "besluit", "document_text": MOTIVERING, **boete})
    assert offered(current) == []  # every violation is dealt with, and fined
    assert_problem(await step(client, world, current, {"type": "warning"}), 422, "validation_failed")
    # The voornemen was used by its besluit: a second besluit needs a voornemen of its own (Awb 4:8).
    again = await step(client, world, current, {"type": "besluit", "document_text": MOTIVERING, **boete})
    assert_problem(again, 409, "voornemen_required")

    besluit = last_step(current)
    current = await done(client, world, current, besluit["id"], "approve", who="officer_b")
    current = await done(client, world, current, besluit["id"], "send")
    # A bezwaar against the sent besluit (the sent warning is no decision).
    assert current["next_steps"] == [{"type": "bezwaar", "decision": None, "related_step_id": besluit["id"]}]
    current = await drafted(
        client,
        world,
        current,
        {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()},
    )
    assert current["next_steps"] == []


async def test_a_closed_case_offers_nothing(client, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    assert offered(current)[0] == ("warning", None)
    response = await client.post(
        f"{CASES}/{current['id']}/close",
        json={"result": "no_action", "reason": "Opgelost"},
        headers=with_version(world, "officer_a", current["version"]),
    )
    assert response.status_code == 200, response.text
    assert (await case(client, world, current["id"]))["next_steps"] == []
