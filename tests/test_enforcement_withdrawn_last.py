"""A last onder dwangsom that no longer stands forfeits nothing (Awb 5:31d, 5:33): withdrawn by the authority, or
annulled on bezwaar (decided gegrond), it calls off its planned hercontrole (the planning assignment cancelled, the
begunstigingstermijn gone from the deadlines), an outcome recorded on that hercontrole afterwards is refused with
nothing stored, a follow-up inspection reviewed afterwards settles nothing, and a sum forfeited before is no longer
offered for collection. A withdrawal is announced as `step.withdrawn`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.core import events
from backend.core.auth import Principal
from backend.core.calendar import today
from tests.enforcement_helpers import (
    BASE,
    CASES,
    NO_MANAGER,
    act,
    case,
    done,
    drafted,
    enforcement_world,
    last_step,
    step,
    step_in,
    table_counts,
    with_dwangsom,
    with_version,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World, accepted, submitted

WITHDRAWAL = {"reason": "De leidinggevende bleek aangesteld vóór de last; de last berust op een misverstand"}


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def last_sent(client, world: World) -> tuple[dict, dict, dict]:
    """A sent last onder dwangsom: the case, the besluit and the hercontrole its sending planned."""
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    return current, besluit, last_step(current)


async def end_last(client, world: World, current: dict, besluit: dict, how: str) -> dict:
    """The last withdrawn by the authority, or annulled: a bezwaar against it decided gegrond."""
    if how == "withdrawn":
        return await done(client, world, current, besluit["id"], "withdraw", body=WITHDRAWAL)
    bezwaar = {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()}
    current = await drafted(client, world, current, bezwaar)
    return await done(client, world, current, last_step(current)["id"], "outcome", body={"result": "gegrond"})


async def term_ended(db, hercontrole: dict) -> None:
    """The begunstigingstermijn ended two days ago (arranged: a hercontrole is not a sent step)."""
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], today() - timedelta(days=2)
    )


async def assignment(client, world: World, assignment_id: str) -> dict:
    response = await client.get(f"/api/v1/assignments/{assignment_id}", headers=world.h["coord_a"])
    assert response.status_code == 200, response.text
    return response.json()


async def planned_assignments(client, world: World) -> list[str]:
    response = await client.get("/api/v1/assignments", headers=world.h["coord_a"], params={"status": "planned"})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def listed_deadlines(client, world: World, until: str) -> set[tuple[str, str]]:
    """(kind, step id) of every deadline the deadlines view lists up to `until`, overdue ones included."""
    response = await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params={"until": until})
    assert response.status_code == 200, response.text
    view = response.json()
    return {(d["kind"], d["step_id"]) for d in view["expiring"] + view["overdue"]}


def offers_invordering(current: dict) -> bool:
    return any(offer["type"] == "invordering" for offer in current["next_steps"])


@pytest.mark.parametrize("how", ["withdrawn", "annulled"])
async def test_a_last_that_no_longer_stands_calls_off_its_hercontrole_and_forfeits_nothing(client, db, world, how):
    current, besluit, hercontrole = await last_sent(client, world)
    end = hercontrole["due_on"]
    assert hercontrole["assignment_id"] in await planned_assignments(client, world)
    assert ("begunstigingstermijn", hercontrole["id"]) in await listed_deadlines(client, world, end)

    current = await end_last(client, world, current, besluit, how)
    called_off = step_in(current, hercontrole["id"])
    assert called_off["status"] == "called_off"
    assert [(d["kind"], d["resolved"]) for d in called_off["deadlines"]] == [("begunstigingstermijn", True)]
    cancelled = await assignment(client, world, hercontrole["assignment_id"])
    assert cancelled["status"] == "cancelled" and "de hercontrole vervalt" in cancelled["cancel_reason"]
    assert hercontrole["assignment_id"] not in await planned_assignments(client, world)
    assert ("begunstigingstermijn", hercontrole["id"]) not in await listed_deadlines(client, world, end)

    # The term ends and the violation is found again: nothing is forfeited under a last that does not stand.
    await term_ended(db, hercontrole)
    before = await table_counts(db)
    forfeited = {"result": "forfeited", "observed_on": today().isoformat(), "violations_observed": 1}
    refused = await act(client, world, current, hercontrole["id"], "outcome", body=forfeited)
    assert_problem(refused, 409, "last_not_in_force")
    assert await table_counts(db) == before
    after = await case(client, world, current["id"])
    assert after["version"] == current["version"]
    unsettled = step_in(after, hercontrole["id"])
    assert (unsettled["observed_on"], unsettled["forfeited_cents"], unsettled["forfeited_on"]) == (None, None, None)
    assert [d["kind"] for d in unsettled["deadlines"]] == ["begunstigingstermijn"]  # no payment term, no limit
    assert not offers_invordering(after)
    collect = await step(client, world, after, {"type": "invordering", "related_step_id": hercontrole["id"]})
    assert_problem(collect, 409, "nothing_forfeited")


@pytest.mark.parametrize("how", ["withdrawn", "closed"])
async def test_a_follow_up_inspection_reviewed_after_the_last_ended_settles_nothing(client, db, world, how):
    """The hercontrole inspection went in before the last was withdrawn (or its case closed) and is reviewed after:
    the review stands, the hercontrole takes no outcome from it."""
    current, besluit, hercontrole = await last_sent(client, world)
    await term_ended(db, hercontrole)
    body = world.body(
        assignment_id=hercontrole["assignment_id"],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(NO_MANAGER)}],
    )
    inspection = await submitted(client, world, body)
    assert (await assignment(client, world, hercontrole["assignment_id"]))["status"] == "done"
    current = await case(client, world, current["id"])
    if how == "withdrawn":
        current = await end_last(client, world, current, besluit, how)
    else:
        response = await client.post(
            f"{CASES}/{current['id']}/close",
            json={"result": "sanctioned", "reason": "Dossier afgesloten na overleg met de exploitant"},
            headers=with_version(world, "officer_a", current["version"]),
        )
        assert response.status_code == 200, response.text
    # Its inspection arrived: the assignment stays done.
    assert (await assignment(client, world, hercontrole["assignment_id"]))["status"] == "done"

    await accepted(client, world, inspection)
    current = await case(client, world, current["id"])
    unsettled = step_in(current, hercontrole["id"])
    assert (unsettled["observed_on"], unsettled["forfeited_cents"], unsettled["outcome_inspection_id"]) == (
        None,
        None,
        None,
    )
    assert [(d["kind"], d["resolved"]) for d in unsettled["deadlines"]] == [("begunstigingstermijn", True)]
    assert not offers_invordering(current)


@pytest.mark.parametrize("how", ["withdrawn", "annulled"])
async def test_a_sum_forfeited_before_the_last_ended_is_no_longer_collected(client, db, world, how):
    current, besluit, hercontrole = await last_sent(client, world)
    await term_ended(db, hercontrole)
    forfeited = {"result": "forfeited", "observed_on": today().isoformat()}
    current = await done(client, world, current, hercontrole["id"], "outcome", body=forfeited)
    payment_due = {d["kind"]: d["due_on"] for d in step_in(current, hercontrole["id"])["deadlines"]}["payment"]
    assert ("payment", hercontrole["id"]) in await listed_deadlines(client, world, payment_due)
    collect = {"type": "invordering", "decision": None, "related_step_id": hercontrole["id"]}
    assert collect in current["next_steps"]

    current = await end_last(client, world, current, besluit, how)
    assert collect not in current["next_steps"]
    assert all(d["resolved"] for d in step_in(current, hercontrole["id"])["deadlines"])
    assert ("payment", hercontrole["id"]) not in await listed_deadlines(client, world, payment_due)
    before = await table_counts(db)
    refused = await step(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    assert how in assert_problem(refused, 409, "last_not_in_force")["detail"]
    assert await table_counts(db) == before


async def test_a_withdrawal_is_announced_as_step_withdrawn(client, db, world, reactions):
    heard: list[events.Event] = []

    async def record(tx, happened: events.Event, principal: Principal) -> None:
        heard.append(happened)

    reactions("step.withdrawn", record)
    current, besluit, hercontrole = await last_sent(client, world)
    await done(client, world, current, besluit["id"], "withdraw", body=WITHDRAWAL)
    [withdrawn] = heard
    assert (withdrawn.type, withdrawn.actor) == ("step.withdrawn", uuid.UUID(world.ids["officer_a"]))
    assert (withdrawn.subject_type, withdrawn.subject_id) == ("step", uuid.UUID(besluit["id"]))
    assert withdrawn.related == {"case": uuid.UUID(current["id"]), "object": uuid.UUID(world.ids["cafe"])}
    assert withdrawn.regimes == ["alcohol"]
    audit = await db.fetchval("SELECT after FROM audit_event WHERE action = 'enforcement_case.step_withdrawn'")
    assert audit["hercontroles_called_off"] == [hercontrole["id"]]
