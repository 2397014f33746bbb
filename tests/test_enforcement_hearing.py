"""A besluit rests on a hearing (Awb 4:8): it follows a sent voornemen that no besluit followed yet, on the
violations that voornemen named, and goes no further than it announced. A boete stays within the Alcoholwet's
table (lower with a reason, never higher). Refusals store nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.enforcement_helpers import (
    DWANGSOM,
    MOTIVERING,
    NO_MANAGER,
    case,
    done,
    drafted,
    enforcement_world,
    fined,
    last_step,
    only_case,
    proposal,
    reviewed,
    step,
    table_counts,
    voornemen_answered,
    warned_once,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World

SCHORSING = {"type": "besluit", "decision": "schorsing", "weeks": 1, "document_text": MOTIVERING}


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def new_violation(client, world: World, current: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Another no-manager inspection of the café: the case (still open) and the violation it added."""
    known = {v["violation_id"] for v in current["violations"]}
    await reviewed(client, world, NO_MANAGER)
    current = await case(client, world, current["id"])
    [added] = [v["violation_id"] for v in current["violations"] if v["violation_id"] not in known]
    return current, added


async def schorsing_sent(client, world: World, current: dict[str, Any]) -> dict[str, Any]:
    """The proposed schorsing's whole procedure: voornemen, zienswijze, besluit, approval, sending."""
    current = await voornemen_answered(client, world, current, "schorsing", weeks=1)
    current = await drafted(client, world, current, SCHORSING)
    current = await done(client, world, current, last_step(current)["id"], "approve", who="officer_b")
    return await done(client, world, current, last_step(current)["id"], "send")


async def test_a_violation_after_a_besluit_is_heard_on_before_the_next_besluit(client, db, world):
    """January: a voornemen schorsing on V3, then the besluit schorsing; the case stays open. June: V4. The
    January voornemen was used by its besluit: V4 needs a voornemen of its own before a besluit rests on it."""
    current, january_violation = await new_violation(client, world, await fined(client, world))
    assert (await proposal(client, world, current["id"]))["next"]["decision"] == "schorsing"
    current = await schorsing_sent(client, world, current)
    assert last_step(current)["violation_ids"] == [january_violation]
    current, june_violation = await new_violation(client, world, current)

    advice = (await proposal(client, world, current["id"]))["next"]
    assert (advice["type"], advice["decision"], advice["violation_ids"]) == ("voornemen", "schorsing", [june_violation])
    assert {"type": "besluit", "decision": "schorsing", "related_step_id": None} not in current["next_steps"]
    before = await table_counts(db)
    for body in (SCHORSING, {**SCHORSING, "violation_ids": [june_violation]}):
        problem = assert_problem(await step(client, world, current, body), 409, "voornemen_required")
        assert "Awb 4:8" in problem["detail"]
    assert await table_counts(db) == before

    current = await voornemen_answered(client, world, current, "schorsing", weeks=1)
    voornemen = last_step(current)
    assert voornemen["violation_ids"] == [june_violation]
    current = await drafted(client, world, current, SCHORSING)
    besluit = last_step(current)
    assert (besluit["violation_ids"], besluit["related_step_id"]) == ([june_violation], voornemen["id"])


async def test_a_besluit_rests_only_on_violations_its_voornemen_named(client, db, world):
    """A voornemen on one violation does not hear the offender on another that came after it."""
    current = await warned_once(client, world)
    current = await voornemen_answered(client, world, current, "schorsing", weeks=1, deviation_reason="Calculerend")
    current, later = await new_violation(client, world, current)
    before = await table_counts(db)
    unheard = await step(client, world, current, {**SCHORSING, "violation_ids": [later]})
    problem = assert_problem(unheard, 409, "voornemen_required")
    assert later in problem["detail"]
    assert await table_counts(db) == before


async def test_a_boete_above_the_table_is_refused_and_nothing_is_stored(client, db, world):
    current = await warned_once(client, world)
    table = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    assert table == 102_000  # category II, fewer than 50 employees
    before = await table_counts(db)
    for body in (
        {"type": "voornemen", "decision": "boete", "amount_cents": table + 1},
        {"type": "voornemen", "decision": "boete", "amount_cents": 2 * table, "deviation_reason": "Calculerend"},
    ):
        problem = assert_problem(await step(client, world, current, body), 422, "above_fine_table")
        assert problem["errors"] == [
            {
                "pointer": "/amount_cents",
                "detail": f"is above the {table} cents the rules give for these violations "
                "(Alcoholwet: a fine may be lowered, not raised)",
            }
        ]
    assert await table_counts(db) == before
    assert (await case(client, world, current["id"]))["version"] == current["version"]
    # The table's amount is announced; the besluit may lower it, with a reason (evenredigheid).
    current = await voornemen_answered(client, world, current, "boete", amount_cents=table)
    lower = {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": 90_000}
    assert_problem(await step(client, world, current, lower), 422, "deviation_reason_required")
    current = await drafted(client, world, current, {**lower, "deviation_reason": "Evenredigheid"})
    assert last_step(current)["amount_cents"] == 90_000


async def test_a_besluit_goes_no_further_than_its_voornemen_and_may_be_lower_with_a_reason(client, db, world):
    current = await warned_once(client, world)
    current = await voornemen_answered(
        client, world, current, "boete", amount_cents=80_000, deviation_reason="Goedwillend: eerste boete"
    )
    boete = {"type": "besluit", "decision": "boete", "document_text": MOTIVERING}
    before = await table_counts(db)
    higher = await step(client, world, current, {**boete, "amount_cents": 102_000})  # the table's, not announced
    problem = assert_problem(higher, 422, "beyond_voornemen")
    assert [e["pointer"] for e in problem["errors"]] == ["/amount_cents"]
    assert "80000 cents" in problem["errors"][0]["detail"]
    assert await table_counts(db) == before
    assert (await case(client, world, current["id"]))["version"] == current["version"]

    reason = "Evenredigheid: de exploitant heeft direct een leidinggevende aangesteld"
    current = await drafted(client, world, current, {**boete, "amount_cents": 60_000, "deviation_reason": reason})
    besluit = last_step(current)
    assert (besluit["amount_cents"], besluit["deviation_reason"]) == (60_000, reason)


async def test_a_last_onder_dwangsom_is_not_heavier_than_announced(client, db, world):
    """A shorter begunstigingstermijn or a higher maximum than the voornemen's is refused; a sum per another unit
    within the announced maximum is not heavier."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    terms = {key: value for key, value in DWANGSOM.items() if key not in ("type", "decision", "document_text")}
    current = await voornemen_answered(client, world, current, "last_onder_dwangsom", **terms)
    before = await table_counts(db)
    heavier = await step(client, world, current, {**DWANGSOM, "begunstiging_days": 7, "dwangsom_max_cents": 200_000})
    problem = assert_problem(heavier, 422, "beyond_voornemen")
    assert sorted(e["pointer"] for e in problem["errors"]) == ["/begunstiging_days", "/dwangsom_max_cents"]
    assert await table_counts(db) == before
    current = await drafted(
        client,
        world,
        current,
        {**DWANGSOM, "dwangsom_unit": "per_day", "dwangsom_cents": 60_000, "dwangsom_max_cents": 150_000},
    )
    assert last_step(current)["dwangsom_unit"] == "per_day"
