"""The ids the server makes are time-ordered (UUID version 7), so new rows land at the end of their indexes; the
ids a phone makes for its inspections and photos are kept exactly as it sent them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.core.ids import moment_of, new_id
from tests.conftest import make_settings
from tests.enforcement_helpers import NO_MANAGER, enforcement_world
from tests.inspection_helpers import World, accepted, put
from tests.outbox_helpers import FAST, Receiver, receiving, subscribe, until_all_delivered

RFC_9562_VARIANT = uuid.RFC_4122  # the variant bits 10 (RFC 9562 keeps RFC 4122's name for them)


@pytest.fixture
def settings(database_url, data_dir):
    return make_settings(database_url, data_dir, **FAST)  # webhooks to a receiver on loopback


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def assert_time_ordered(ids: list[uuid.UUID]) -> None:
    assert all(i.version == 7 and i.variant == RFC_9562_VARIANT for i in ids), ids
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids


def test_each_new_id_sorts_after_the_one_before_even_within_a_millisecond():
    before = datetime.now(UTC)
    made = [new_id() for _ in range(20_000)]  # many share a millisecond
    assert_time_ordered(made)
    assert len({moment_of(i) for i in made}) < len(made)
    assert before - timedelta(milliseconds=1) <= moment_of(made[0]) <= moment_of(made[-1]) <= datetime.now(UTC)


async def test_the_database_makes_version_7_ids_of_its_clock(db):
    rows = await db.fetch(
        "SELECT clock_timestamp() AS before, uuid7() AS id, clock_timestamp() AS after FROM generate_series(1, 100)"
    )
    for row in rows:
        assert row["id"].version == 7 and row["id"].variant == RFC_9562_VARIANT
        # The id carries the time in whole milliseconds, read between the two clock readings.
        assert row["before"].replace(microsecond=row["before"].microsecond // 1000 * 1000) <= moment_of(row["id"])
        assert moment_of(row["id"]) <= row["after"]
    assert len({row["id"] for row in rows}) == len(rows)


async def test_what_a_submission_and_its_review_create_has_time_ordered_ids_and_the_phones_ids_stay(client, world, db):
    with receiving(Receiver()) as receiver:
        await subscribe(client, world.h["admin"], receiver)
        # A phone's inspection with a photo to come, then one without photos that is reviewed (a case opens).
        first_body = world.violating_body()
        first_id, photo_id = str(uuid.uuid4()), first_body["photos"][0]["id"]
        response = await put(client, world, first_body, inspection_id=first_id)
        assert response.status_code == 200, response.text
        second_body = world.body(
            checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(NO_MANAGER)}]
        )
        second_id = str(uuid.uuid4())
        response = await put(client, world, second_body, inspection_id=second_id)
        assert response.status_code == 200, response.text
        await accepted(client, world, response.json())
        await until_all_delivered(db, 2)

    # The phone's ids, as sent.
    assert response.json()["id"] == second_id
    assert await db.fetchval("SELECT id FROM inspection_photo WHERE inspection_id = $1::uuid", first_id) == uuid.UUID(
        photo_id
    )
    # The server's: violations (first inspection's before the second's), audit events in the trail's order,
    # outbox messages in the order of their events, the case the review opened.
    violations = [
        row["id"]
        for inspection_id in (first_id, second_id)
        for row in await db.fetch(
            "SELECT id FROM violation WHERE inspection_id = $1::uuid ORDER BY created_at, id", inspection_id
        )
    ]
    assert len(violations) == 3
    assert_time_ordered(violations)
    assert_time_ordered([row["id"] for row in await db.fetch("SELECT id FROM audit_event ORDER BY seq")])
    messages = await db.fetch("SELECT id, event_id FROM outbox_message ORDER BY event_id")
    assert len(messages) == 2
    assert_time_ordered([row["event_id"] for row in messages])
    assert_time_ordered([row["id"] for row in messages])
    case_id = await db.fetchval("SELECT id FROM enforcement_case")
    assert_time_ordered([violations[-1], case_id])
