"""Domain events: announced in the transaction that made the change, reacted to there, and shaped for the
outbox (CloudEvents). The reactions the app wires are exercised by the features' own tests (photos that waited
attach when their inspection arrives, reviewed violations open a case); here: what an event carries, and that a
reaction that fails takes the change back with it."""

from __future__ import annotations

import uuid

import pytest

from backend.core import events
from backend.core.auth import Principal
from backend.core.errors import Conflict
from tests.enforcement_helpers import NO_MANAGER, enforcement_world, with_version
from tests.helpers import assert_problem
from tests.inspection_helpers import World, submitted


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def body(world: World) -> dict:
    return world.body(
        "insp_a1",
        object_id=world.ids["cafe"],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(NO_MANAGER)}],
    )


async def review(client, world: World, inspection: dict, **headers: str):
    return await client.post(
        f"/api/v1/inspections/{inspection['id']}/review",
        headers=with_version(world, "coord_a", inspection["version"], **headers),
    )


async def test_an_inspection_announces_its_submission_and_review_with_the_ids_it_concerns(client, world, reactions):
    heard: list[events.Event] = []

    async def record(tx, happened: events.Event, principal: Principal) -> None:
        heard.append(happened)

    for kind in ("inspection.submitted", "inspection.reviewed"):
        reactions(kind, record)
    stored = await submitted(client, world, body(world))
    response = await review(client, world, stored, **{"X-Request-ID": "req-review-0001"})
    assert response.status_code == 200, response.text
    submission, reviewed = heard
    assert (submission.type, reviewed.type) == ("inspection.submitted", "inspection.reviewed")
    assert (submission.actor, reviewed.actor) == (uuid.UUID(world.ids["insp_a1"]), uuid.UUID(world.ids["coord_a"]))
    assert reviewed.subject_type == "inspection" and reviewed.subject_id == uuid.UUID(stored["id"])
    assert reviewed.related == {"object": uuid.UUID(world.ids["cafe"])} and reviewed.regimes == stored["regimes"]
    assert reviewed.request_id == "req-review-0001"
    # Time-ordered ids: version 7, the first 48 bits are the event's time in milliseconds.
    assert reviewed.id.version == 7 and submission.id != reviewed.id
    assert reviewed.id.int >> 80 == int(reviewed.time.timestamp() * 1000)
    assert (submission.time, submission.id) < (reviewed.time, reviewed.id)


async def test_a_failing_reaction_takes_the_change_back(client, db, world, reactions):
    async def refuse(tx, happened: events.Event, principal: Principal) -> None:
        await tx.execute(
            "UPDATE inspection SET observations = 'changed by the reaction' WHERE id = $1", happened.subject_id
        )
        raise Conflict("Refused by a reaction.", code="refused_by_reaction")

    reactions("inspection.reviewed", refuse)
    stored = await submitted(client, world, body(world))
    response = await review(client, world, stored)
    assert_problem(response, 409, "refused_by_reaction")
    # Nothing of the review stays: not its state, its audit record, the case the enforcement reaction opened,
    # nor what the failing reaction wrote.
    row = await db.fetchrow("SELECT state, version, observations FROM inspection WHERE id = $1::uuid", stored["id"])
    assert (row["state"], row["version"]) == (stored["state"], stored["version"])
    assert row["observations"] == stored["observations"]
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'inspection.reviewed'") == 0
    assert await db.fetchval("SELECT count(*) FROM enforcement_case") == 0
    # Without the failing reaction the same review goes through and the case opens.
    events._reactions["inspection.reviewed"].remove(refuse)
    assert (await review(client, world, stored)).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM enforcement_case") == 1


def test_an_event_is_a_cloudevent_in_the_nl_gov_profile():
    subject, assignment = uuid.uuid4(), uuid.uuid4()
    happened = events.event(
        "inspection.reviewed",
        actor=None,
        subject_type="inspection",
        subject_id=subject,
        related={"assignment": assignment},
        regimes=["nix18", "alcohol"],
    )
    envelope = events.cloudevent(happened)
    assert envelope == {
        "specversion": "1.0",
        "id": str(happened.id),
        "source": "urn:nld:toezicht-bw",
        "type": "nl.toezicht-bw.inspection.reviewed",
        "time": envelope["time"],
        "subject": f"inspection/{subject}",
        "datacontenttype": "application/json",
        "data": {"actor": None, "related": {"assignment": str(assignment)}, "regimes": ["alcohol", "nix18"]},
    }
    assert envelope["time"].endswith("Z") and envelope["time"].startswith(happened.time.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_reaction_registered_twice_runs_once(reactions):
    async def once(tx, happened: events.Event, principal: Principal) -> None:
        return None

    reactions("test.happened", once)
    reactions("test.happened", once)
    assert events.reactions_to("test.happened") == [once]


async def test_an_announcement_returns_what_its_reactions_set_off_at_any_depth(reactions):
    """The announcer learns what its change set off (the submission learns that a waiting photo attached) from
    the events its reactions announced, their reactions' events included, in the order they were announced."""
    principal = Principal(
        user_id=uuid.uuid4(), subject="s", issuer="i", roles=frozenset(), regimes=frozenset(), teams=frozenset()
    )

    def happening(kind: str) -> events.Event:
        return events.event(kind, actor=None, subject_type="test", subject_id=uuid.uuid4())

    async def first(tx, happened: events.Event, who: Principal) -> None:
        await events.announce(tx, happening("test.second"), who)
        await events.announce(tx, happening("test.third"), who)

    async def second(tx, happened: events.Event, who: Principal) -> None:
        await events.announce(tx, happening("test.deepest"), who)

    reactions("test.first", first)
    reactions("test.second", second)
    set_off = await events.announce(None, happening("test.first"), principal)  # type: ignore[arg-type]
    assert [e.type for e in set_off] == ["test.second", "test.deepest", "test.third"]
    assert await events.announce(None, happening("test.quiet"), principal) == []  # type: ignore[arg-type]
    # Once announced, an announcement leaves nothing behind for the next one in the same task.
    assert events._follow_ups.get() is None


class CountingConnection:
    """A real connection that counts the statements sent through it (what a round trip is)."""

    def __init__(self, conn) -> None:
        self.conn, self.sent = conn, 0

    async def fetchrow(self, sql: str, *args):
        self.sent += 1
        return await self.conn.fetchrow(sql, *args)


def _principal() -> Principal:
    return Principal(
        user_id=uuid.uuid4(), subject="s", issuer="i", roles=frozenset(), regimes=frozenset(), teams=frozenset()
    )


async def test_statement_reactions_next_to_each_other_run_in_one_round_trip_with_their_own_values(db, reactions):
    """Three statement reactions, each numbering its values from $1: one statement for all, every value where its
    reaction put it, and the rows of a reaction that asked for them handed to its `then` in its order."""
    await db.execute("CREATE TEMP TABLE noted (reaction text, value int)")
    received: list[events.Rows] = []

    async def then(tx, happened: events.Event, who: Principal, rows: events.Rows) -> None:
        received.append(rows)

    def note(name: str, *values: int) -> events.StatementReaction:
        def statements(happened: events.Event) -> list[events.Statement]:
            return [
                events.Statement("INSERT INTO noted VALUES ($1, $2) RETURNING value", (name, value)) for value in values
            ]

        return events.StatementReaction(statements, then=then if name == "second" else None)

    for reaction in (note("first", 1), note("second", 2, 3), note("third", 4)):
        reactions("test.batched", reaction)
    counting = CountingConnection(db)
    happened = events.event("test.batched", actor=None, subject_type="test", subject_id=uuid.uuid4())
    async with db.transaction():
        await events.announce(counting, happened, _principal())  # type: ignore[arg-type]
    assert counting.sent == 1
    rows = await db.fetch("SELECT reaction, value FROM noted ORDER BY value")
    assert [tuple(row) for row in rows] == [("first", 1), ("second", 2), ("second", 3), ("third", 4)]
    assert received == [[[{"value": 2}], [{"value": 3}]]]


async def test_a_plain_reaction_between_statement_reactions_sees_what_the_ones_before_it_wrote(db, reactions):
    """Order holds: the statement reactions before a plain reaction have run when it runs, those after it after."""
    await db.execute("CREATE TEMP TABLE noted (value int)")
    seen: list[int] = []

    def insert(value: int) -> events.StatementReaction:
        return events.StatementReaction(lambda happened: [events.Statement("INSERT INTO noted VALUES ($1)", (value,))])

    async def count(tx, happened: events.Event, who: Principal) -> None:
        seen.append(await tx.fetchval("SELECT count(*) FROM noted"))

    reactions("test.ordered", insert(1))
    reactions("test.ordered", count)
    reactions("test.ordered", insert(2))
    happened = events.event("test.ordered", actor=None, subject_type="test", subject_id=uuid.uuid4())
    async with db.transaction():
        await events.announce(db, happened, _principal())
    assert seen == [1]
    assert await db.fetchval("SELECT count(*) FROM noted") == 2


def test_a_statement_reaction_with_a_with_of_its_own_is_refused():
    """A data-modifying WITH cannot be nested in the combined statement's WITH: said at once, not by PostgreSQL."""
    with pytest.raises(ValueError, match="no WITH"):
        events.combined((("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", 0, False),))
    assert events.combined((("INSERT INTO t VALUES ($1, $2)", 2, False), ("SELECT $1", 1, True))) == (
        "WITH s0 AS (INSERT INTO t VALUES ($1, $2)), s1 AS (SELECT $3) "
        "SELECT (SELECT coalesce(json_agg(s1), '[]') FROM s1) AS s1"
    )
