"""The terms a sent decision starts and who may approve it, where they were missing: an invorderingsbeschikking is a
decision open to bezwaar, so sending it starts the bezwaar term (Awb 6:7, 6:8), from its posting when it left later;
a last onder bestuursdwang lists its begunstigingstermijn (Atw by policy) but plans no hercontrole; an invordering
approved before its last onder dwangsom was withdrawn or annulled on bezwaar is not sent; and the inspector of the
hercontrole that found the sum forfeited does not approve the invordering collecting it (vier-ogenprincipe)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from backend.core import calendar
from backend.core.calendar import today
from tests.enforcement_helpers import (
    BASE,
    MOTIVERING,
    NO_MANAGER,
    act,
    case,
    done,
    drafted,
    enforcement_world,
    last_step,
    last_term_ended,
    only_case,
    reviewed,
    step_in,
    table_counts,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World, add_users

# An officer who also inspects, in the team of the world's café: they can do its hercontrole.
INSPECTING_OFFICER = {
    "insp_officer_a": dict(roles=["inspector", "enforcement_officer"], regimes=["alcohol", "nix18"], teams=["team-a"])
}
FORFEITED = {"result": "forfeited", "observed_on": today().isoformat()}


@pytest.fixture
async def world(client, auth, db) -> World:
    world = await enforcement_world(client, auth, db)
    await add_users(client, auth, world, INSPECTING_OFFICER)
    return world


async def listed_deadlines(client, world: World, until) -> set[tuple[str, str, str]]:
    """(kind, step id, due day) of every deadline the jurists' deadlines view lists up to `until`, overdue included."""
    response = await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params={"until": until.isoformat()})
    assert response.status_code == 200, response.text
    view = response.json()
    return {(d["kind"], d["step_id"], d["due_on"]) for d in view["expiring"] + view["overdue"]}


async def approved_invordering(client, world: World, current: dict, hercontrole: dict) -> tuple[dict, dict]:
    """An invordering of the hercontrole's forfeited sum, drafted by officer_a and approved by officer_b."""
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    invordering = last_step(current)
    current = await done(client, world, current, invordering["id"], "approve", who="officer_b")
    return current, invordering


def stored_files(data_dir: Path) -> int:
    """The documents and photos in the evidence store (a sent letter is stored there write-once)."""
    return sum(1 for path in (data_dir / "evidence").rglob("*") if path.is_file())


# --- the invorderingsbeschikking's bezwaar term -------------------------------------------------------------------


async def test_a_sent_invordering_starts_the_bezwaar_term_a_bezwaar_against_it_ends(client, db, world):
    current, _, hercontrole = await last_term_ended(client, db, world)
    current = await done(client, world, current, hercontrole["id"], "outcome", body=FORFEITED)
    current, invordering = await approved_invordering(client, world, current, hercontrole)
    current = await done(client, world, current, invordering["id"], "send")

    term_end = calendar.term_end(today(), weeks=6)
    assert step_in(current, invordering["id"])["deadlines"] == [
        {"kind": "bezwaar_term", "due_on": term_end.isoformat(), "resolved": False}
    ]
    assert ("bezwaar_term", invordering["id"], term_end.isoformat()) in await listed_deadlines(client, world, term_end)

    # A bezwaar lies against it: offered, registered on time, and the term has done its work.
    offer = {"type": "bezwaar", "decision": None, "related_step_id": invordering["id"]}
    assert offer in current["next_steps"]
    bezwaar = {"type": "bezwaar", "related_step_id": invordering["id"], "received_on": today().isoformat()}
    current = await drafted(client, world, current, bezwaar)
    registered = last_step(current)
    assert (registered["late"], current["status"]) == (False, "bezwaar")
    decide_by = calendar.term_end(term_end, weeks=6)
    assert [(d["kind"], d["due_on"]) for d in registered["deadlines"]] == [("bezwaar_decision", decide_by.isoformat())]
    listed = await listed_deadlines(client, world, decide_by)
    assert ("bezwaar_term", invordering["id"], term_end.isoformat()) not in listed
    assert ("bezwaar_decision", registered["id"], decide_by.isoformat()) in listed


async def test_an_invordering_posted_after_its_day_of_sending_has_its_bezwaar_term_from_the_posting(client, db, world):
    current, _, hercontrole = await last_term_ended(client, db, world, days_ago=10)
    observed = {**FORFEITED, "observed_on": (today() - timedelta(days=8)).isoformat()}
    current = await done(client, world, current, hercontrole["id"], "outcome", body=observed)
    current, invordering = await approved_invordering(client, world, current, hercontrole)
    await db.execute(  # approved six days ago (arranged), signed and recorded as sent four days ago
        "UPDATE enforcement_step SET approved_at = now() - interval '6 days' WHERE id = $1::uuid", invordering["id"]
    )
    sent_on, posted_on = today() - timedelta(days=4), today() - timedelta(days=2)
    current = await done(client, world, current, invordering["id"], "send", body={"sent_on": sent_on.isoformat()})
    assert step_in(current, invordering["id"])["dispatch"]["by"] == "post"
    current = await done(client, world, current, invordering["id"], "posted", body={"posted_on": posted_on.isoformat()})
    from_posting = calendar.term_end(posted_on, weeks=6)
    assert from_posting != calendar.term_end(sent_on, weeks=6)
    assert step_in(current, invordering["id"])["deadlines"] == [
        {"kind": "bezwaar_term", "due_on": from_posting.isoformat(), "resolved": False}
    ]


# --- the begunstigingstermijn of a last onder bestuursdwang --------------------------------------------------------


async def approved_bestuursdwang(client, world: World, days: int) -> tuple[dict, dict]:
    """An approved (not yet sent) last onder bestuursdwang with a begunstigingstermijn of `days`, after its
    voornemen; returns the case and the besluit."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    terms = {
        "decision": "last_onder_bestuursdwang",
        "order_text": "Stel een leidinggevende aan",
        "begunstiging_days": days,
        "deviation_reason": "Herstel gaat voor; de gemeente treedt zelf op als het uitblijft",
    }
    current = await drafted(client, world, current, {**terms, "type": "voornemen"})
    current = await done(client, world, current, last_step(current)["id"], "send")
    current = await done(client, world, current, last_step(current)["id"], "zienswijze", body={"received": True})
    current = await drafted(client, world, current, {**terms, "type": "besluit", "document_text": MOTIVERING})
    current = await done(client, world, current, last_step(current)["id"], "approve", who="officer_b")
    return current, last_step(current)


@pytest.mark.parametrize("how", ["withdrawn", "annulled"])
async def test_a_sent_last_onder_bestuursdwang_lists_its_begunstigingstermijn_without_a_hercontrole(
    client, db, world, how
):
    days = 7 + (5 - today().weekday()) % 7  # the term's bare last day is a Saturday: the Atw moves it (by policy)
    end = calendar.term_end(today(), days=days)
    assert end > today() + timedelta(days=days)
    current, besluit = await approved_bestuursdwang(client, world, days)
    steps_before, assignments_before = len(current["steps"]), await db.fetchval("SELECT count(*) FROM assignment")

    current = await done(client, world, current, besluit["id"], "send")
    sent = step_in(current, besluit["id"])
    assert {(d["kind"], d["due_on"]) for d in sent["deadlines"]} == {
        ("begunstigingstermijn", end.isoformat()),
        ("bezwaar_term", calendar.term_end(today(), weeks=6).isoformat()),
    }
    assert ("begunstigingstermijn", besluit["id"], end.isoformat()) in await listed_deadlines(client, world, end)
    # No hercontrole: the authority acts itself after the term, by a decision of its own.
    assert len(current["steps"]) == steps_before and current["status"] == "besluit"
    assert await db.fetchval("SELECT count(*) FROM assignment") == assignments_before

    # A last that no longer stands (withdrawn, or annulled on bezwaar) sets no term running.
    if how == "withdrawn":
        withdrawal = {"reason": "De leidinggevende is aangesteld; de last is niet meer nodig"}
        current = await done(client, world, current, besluit["id"], "withdraw", body=withdrawal)
    else:
        bezwaar = {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()}
        current = await drafted(client, world, current, bezwaar)
        current = await done(client, world, current, last_step(current)["id"], "outcome", body={"result": "gegrond"})
    assert ("begunstigingstermijn", besluit["id"], end.isoformat()) not in await listed_deadlines(client, world, end)


# --- no invordering under a last that no longer stands -------------------------------------------------------------


@pytest.mark.parametrize("how", ["withdrawn", "annulled"])
async def test_an_approved_invordering_is_not_sent_once_its_last_no_longer_stands(client, db, world, data_dir, how):
    current, besluit, hercontrole = await last_term_ended(client, db, world)
    current = await done(client, world, current, hercontrole["id"], "outcome", body=FORFEITED)
    current, invordering = await approved_invordering(client, world, current, hercontrole)
    if how == "withdrawn":
        reason = {"reason": "De last berust op een misverstand over de leidinggevende"}
        current = await done(client, world, current, besluit["id"], "withdraw", body=reason)
    else:
        bezwaar = {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()}
        current = await drafted(client, world, current, bezwaar)
        current = await done(client, world, current, last_step(current)["id"], "outcome", body={"result": "gegrond"})

    before, files_before = await table_counts(db), stored_files(data_dir)
    refused = await act(client, world, current, invordering["id"], "send")
    assert how in assert_problem(refused, 409, "last_not_in_force")["detail"]
    assert await table_counts(db) == before
    assert stored_files(data_dir) == files_before  # no letter stored either
    after = await case(client, world, current["id"])
    unsent = step_in(after, invordering["id"])
    assert (after["version"], unsent["status"], unsent["sent_on"]) == (current["version"], "approved", None)


# --- vier-ogen: not the inspector of the hercontrole -----------------------------------------------------------------


@pytest.mark.parametrize("corrected", [False, True])
async def test_the_hercontroles_inspector_does_not_approve_the_invordering(client, db, world, corrected):
    """insp_officer_a did the follow-up inspection that found the violation continuing; the invordering rests on the
    original violations, which insp_a1 found. Also after an officer corrected the sum with a reason (the step then
    no longer names the inspection), the hercontrole's inspector is kept out."""
    current, _, hercontrole = await last_term_ended(client, db, world)
    follow_up = world.body(
        "insp_officer_a",
        assignment_id=hercontrole["assignment_id"],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(NO_MANAGER)}],
    )
    await reviewed(client, world, {}, who="insp_officer_a", body=follow_up)
    current = await case(client, world, current["id"])
    assert step_in(current, hercontrole["id"])["outcome_source"] == "inspection"
    if corrected:
        correction = {**FORFEITED, "forfeited_cents": 40_000, "reason": "Overtreding duurde een deel van de dag"}
        current = await done(client, world, current, hercontrole["id"], "outcome", body=correction)
        assert step_in(current, hercontrole["id"])["outcome_inspection_id"] is None
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    invordering = last_step(current)

    before = await table_counts(db)
    refused = await act(client, world, current, invordering["id"], "approve", who="insp_officer_a")
    assert_problem(refused, 403, "four_eyes")
    assert await table_counts(db) == before
    assert step_in(await case(client, world, current["id"]), invordering["id"])["status"] == "draft"

    current = await done(client, world, current, invordering["id"], "approve", who="officer_b")
    assert step_in(current, invordering["id"])["status"] == "approved"
