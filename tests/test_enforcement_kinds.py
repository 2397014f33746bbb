"""The kinds of step as data (backend/enforcement/steps.py): the table agrees with the API's lists and the letter
kinds, every command on a step reads it (a transition the table lacks is refused with its stable code, also when
the table changes), and every kind an officer drafts can be drafted. Also: the inserts bind a record's fields in
the order their statement names the columns, and opening a case and sending a step are announced as events."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import timedelta
from typing import Any, get_args, get_type_hints

import pytest

from backend.core import events
from backend.core.auth import Principal
from backend.core.calendar import today
from backend.enforcement import queries, steps
from backend.enforcement.models import CaseStatus, Decision, StepCreate, StepStatus, StepType
from backend.enforcement.records import NewCase, NewStep
from backend.letters.models import LETTER_KINDS
from tests.enforcement_helpers import (
    CASES,
    NO_MANAGER,
    act,
    done,
    drafted,
    enforcement_world,
    last_step,
    only_case,
    reviewed,
    with_dwangsom,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World

# The URL and a well-formed body of each action, so that only the table can refuse it.
ACTIONS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "approve": ("approve", None),
    "send": ("send", None),
    "withdraw": ("withdraw", {"reason": "Ten onrechte genomen"}),
    "record_zienswijze": ("zienswijze", {"received": True}),
    "record_outcome": ("outcome", {"result": "gegrond"}),
    "change_bezwaar": ("bezwaar-changes", {"change": "extension", "reason": "Meer tijd nodig"}),
}
STEP_CREATE = get_type_hints(StepCreate)
DECISIONS = get_args(get_args(Decision)[0])


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def _statuses(kind: steps.Kind) -> set[str]:
    found = {kind.starts}
    for moves in kind.transitions.values():
        found |= set(moves) | {to for reached in moves.values() for to in reached.split("|")}
    return found


def test_the_table_and_the_api_name_the_same_kinds_statuses_and_letters():
    assert set(steps.KINDS) == set(get_args(StepType))
    drafted_kinds = {name for name, kind in steps.KINDS.items() if kind.drafted}
    assert drafted_kinds == set(get_args(STEP_CREATE["type"]))
    assert set().union(*map(_statuses, steps.KINDS.values())) == set(get_args(StepStatus))
    case_statuses = {kind.case_status for kind in steps.KINDS.values() if kind.case_status}
    assert case_statuses <= set(get_args(get_args(CaseStatus)[0]))
    assert (
        {action for kind in steps.KINDS.values() for action in kind.transitions}
        == set(steps.REFUSALS)
        == set(ACTIONS) | steps.SYSTEM_ACTIONS
    )
    fields = set(StepCreate.__struct_fields__)
    for name, kind in steps.KINDS.items():
        assert kind.fields | set(kind.required) <= fields, name
        decisions = DECISIONS if kind.names_decision else (None,)
        letters = {steps.letter_kind(name, decision) for decision in decisions}
        assert letters <= {*LETTER_KINDS, None}, name
    assert set(steps.DECISION_FIELDS) == set(DECISIONS)
    assert {f for names in steps.DECISION_FIELDS.values() for f in names} <= fields


def _bind_order(sql: str) -> tuple[list[str], list[str]]:
    """The column list of an INSERT and what it binds to each column (its VALUES or SELECT list)."""
    columns = re.search(r"INSERT INTO \w+ \(([^)]*)\)", sql)
    values = re.search(r"\)\s*(?:VALUES \(|SELECT )(.*?)\)?\s*(?:FROM|ON CONFLICT|RETURNING)", sql, re.S)
    assert columns and values
    split = [part.strip() for part in re.split(r",(?![^(]*\))", values[1])]
    return [c.strip() for c in columns[1].split(",")], split


@pytest.mark.parametrize(
    ("sql", "fields", "record"),
    [
        (queries.INSERT_STEP, queries.STEP_INSERT_FIELDS, NewStep),
        (queries.INSERT_CASE_IF_NONE_OPEN, queries.CASE_INSERT_FIELDS, NewCase),
    ],
)
def test_an_insert_binds_the_record_fields_in_the_order_of_its_columns(sql, fields, record):
    columns, values = _bind_order(sql)
    assert len(columns) == len(values)
    bound = {column: value for column, value in zip(columns, values, strict=True) if value.startswith("$")}
    assert {column: f"${index}" for index, column in enumerate(fields, start=1)} == bound
    assert set(fields) == set(record.__struct_fields__)


async def _every_kind(client, db, world: World) -> dict[str, Any]:
    """A case holding a step of every kind: each drafted one is drafted through the API, in the status the
    table starts it in."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(client, world, current, {"type": "warning", "deviation_reason": "Eerst waarschuwen"})
    assert last_step(current)["status"] == steps.KINDS["warning"].starts
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], today() - timedelta(days=2)
    )
    body = {"result": "forfeited", "observed_on": today().isoformat()}
    current = await done(client, world, current, hercontrole["id"], "outcome", body=body)
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    bezwaar = {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()}
    current = await drafted(client, world, current, bezwaar)
    for found in current["steps"]:
        if found["status"] not in ("sent", "approved", "forfeited"):
            assert found["status"] == steps.KINDS[found["type"]].starts, found
    assert {found["type"] for found in current["steps"]} == set(steps.KINDS)
    return current


async def test_every_kind_is_drafted_and_an_action_the_table_lacks_is_refused_with_its_code(client, db, world):
    current = await _every_kind(client, db, world)
    refused = 0
    for step_id in [found["id"] for found in current["steps"]]:
        for action, (path, body) in ACTIONS.items():
            found = next(s for s in current["steps"] if s["id"] == step_id)
            kind = steps.KINDS[found["type"]]
            response = await act(client, world, current, step_id, path, body=body)
            moves = kind.transitions.get(action)
            if moves is None:
                assert_problem(response, 409, steps.REFUSALS[action].wrong_kind)
                refused += 1
            elif found["status"] not in moves:
                refusal = steps.REFUSALS[action]
                code = refusal.by_status.get(found["status"], (refusal.wrong_status, ""))[0]
                assert_problem(response, 409, code)
                refused += 1
            current = (await client.get(f"{CASES}/{current['id']}", headers=world.h["officer_a"])).json()
    assert refused == 30  # 5 of the 6 actions for each kind of step, as the case stands


async def test_a_transition_taken_out_of_the_table_is_refused(client, world, monkeypatch):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(client, world, current, {"type": "warning"})
    warning = steps.KINDS["warning"]
    monkeypatch.setitem(steps.KINDS, "warning", dataclasses.replace(warning, transitions={}))
    assert_problem(await act(client, world, current, last_step(current)["id"], "send"), 409, "not_sendable")
    monkeypatch.setitem(steps.KINDS, "warning", warning)
    current = await done(client, world, current, last_step(current)["id"], "send")
    assert last_step(current)["status"] == "sent"


async def test_opening_a_case_and_sending_a_step_are_announced(client, world, reactions):
    heard: list[events.Event] = []

    async def record(tx, happened: events.Event, principal: Principal) -> None:
        heard.append(happened)

    reactions("case.opened", record)
    reactions("step.sent", record)
    cafe, club = uuid.UUID(world.ids["cafe"]), uuid.UUID(world.ids["club"])
    # A review with violations opens a case: announced with the reviewer as the actor.
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    (from_review,) = heard
    assert (from_review.type, from_review.subject_type) == ("case.opened", "case")
    assert from_review.subject_id == uuid.UUID(current["id"])
    assert (from_review.related, from_review.regimes) == ({"object": cafe}, ["alcohol"])
    assert from_review.actor == uuid.UUID(world.ids["coord_a"])
    # By hand.
    body = {"object_id": world.ids["club"], "regime": "sexwork", "reason": "Melding buurt: overlast"}
    response = await client.post(CASES, json=body, headers=world.h["officer_sw"])
    assert response.status_code == 201, response.text
    _, by_hand = heard
    assert (by_hand.type, by_hand.subject_type) == ("case.opened", "case")
    assert by_hand.subject_id == uuid.UUID(response.json()["id"])
    assert (by_hand.related, by_hand.regimes) == ({"object": club}, ["sexwork"])
    assert by_hand.actor == uuid.UUID(world.ids["officer_sw"])
    # Sending a step (drafting announces nothing).
    current = await drafted(client, world, current, {"type": "warning"})
    warning = last_step(current)
    assert len(heard) == 2
    current = await done(client, world, current, warning["id"], "send", who="officer_b")
    _, _, sent = heard
    assert (sent.type, sent.subject_type, sent.subject_id) == ("step.sent", "step", uuid.UUID(warning["id"]))
    assert sent.related == {"case": uuid.UUID(current["id"]), "object": cafe}
    assert (sent.regimes, sent.actor) == (["alcohol"], uuid.UUID(world.ids["officer_b"]))
