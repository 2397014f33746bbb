"""Idempotency-Key on POST commands, exercised through user (de)activation.

A retried command must have its effect once: a replay returns the stored response, a reused key with
another request is refused, a concurrent duplicate gets 409 at once, and failed commands store nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from backend.core import db as core_db
from backend.core.idempotency import purge_expired
from tests.conftest import wait_until
from tests.helpers import assert_problem, register

REASON = {"reason": "left the municipality"}


async def effect_state(db, user_id: uuid.UUID) -> dict:
    """What a (de)activation changes: the user row, the audit trail and the stored keys."""
    row = await db.fetchrow("SELECT active, version FROM app_user WHERE id = $1", user_id)
    events = await db.fetchval(
        "SELECT count(*) FROM audit_event WHERE object_id = $1 AND action IN ('user.deactivated', 'user.activated')",
        str(user_id),
    )
    keys = await db.fetchval("SELECT count(*) FROM idempotency_key")
    return {"active": row["active"], "version": row["version"], "events": events, "keys": keys}


def command(client, admin, user_id, *, key: str | None, version: int, action: str = "deactivate", body=None):
    headers = {**admin, "If-Match": f'"{version}"'}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1/users/{user_id}/{action}", headers=headers, json=body or REASON)


@pytest.fixture
def admin(auth):
    return auth("admin-1", roles=["admin"])


@pytest.fixture
async def target(client, auth) -> uuid.UUID:
    return await register(client, auth("insp-1", roles=["inspector"]))


@pytest.fixture
async def locker(database_url) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own that holds row locks while the app works."""
    conn = await core_db.connect(database_url)
    yield conn
    await conn.close()


async def test_replay_returns_stored_response_and_effect_happens_once(client, db, admin, target):
    first = await command(client, admin, target, key="retry-1", version=1)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    assert first.json()["active"] is False and first.headers["etag"] == '"2"'

    # The phone lost the response and retries with the If-Match it had: stale now, but the stored
    # response is answered before the version is checked.
    second = await command(client, admin, target, key="retry-1", version=1)
    assert second.status_code == first.status_code
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await effect_state(db, target) == {"active": False, "version": 2, "events": 1, "keys": 1}


async def test_same_key_for_another_request_is_refused(client, db, admin, target):
    assert (await command(client, admin, target, key="k-reuse", version=1)).status_code == 200
    before = await effect_state(db, target)
    stored = await db.fetchrow("SELECT fingerprint, response_body FROM idempotency_key")

    other_body = await command(client, admin, target, key="k-reuse", version=2, body={"reason": "another reason"})
    assert_problem(other_body, 422, "idempotency_key_reused")
    other_path = await command(client, admin, target, key="k-reuse", version=2, action="activate")
    assert_problem(other_path, 422, "idempotency_key_reused")

    assert await effect_state(db, target) == before
    assert await db.fetchrow("SELECT fingerprint, response_body FROM idempotency_key") == stored


async def test_keys_are_per_principal(client, db, auth, admin, target):
    other_admin = auth("admin-2", roles=["admin"])
    await register(client, other_admin)
    assert (await command(client, admin, target, key="shared", version=1)).status_code == 200
    assert (await command(client, admin, target, key="undo", version=2, action="activate")).status_code == 200

    # Byte for byte the request admin-1 sent first: under a global key it would be a replay.
    response = await command(client, other_admin, target, key="shared", version=3)
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    assert response.json()["version"] == 4
    assert await effect_state(db, target) == {"active": False, "version": 4, "events": 3, "keys": 3}
    owners = await db.fetch(
        "SELECT a.subject FROM idempotency_key k JOIN app_user a ON a.id = k.user_id WHERE key = 'shared'"
    )
    assert sorted(r["subject"] for r in owners) == ["admin-1", "admin-2"]


async def test_concurrent_duplicate_gets_409_while_first_runs(client, db, locker, admin, target):
    await register(client, admin)  # resolve the admin now, so request A blocks only on the target row
    tx = locker.transaction()
    await tx.start()
    await locker.execute("SELECT 1 FROM app_user WHERE id = $1 FOR UPDATE", target)
    first = asyncio.create_task(command(client, admin, target, key="double-tap", version=1))
    try:
        await wait_until(lambda: _app_waits_for_row_lock(db))
        duplicate = await command(client, admin, target, key="double-tap", version=1)
        assert_problem(duplicate, 409, "idempotency_in_progress")
    finally:
        await tx.rollback()  # releases the row: request A goes on and commits
        first_response = await first
    assert first_response.status_code == 200, first_response.text

    replay = await command(client, admin, target, key="double-tap", version=1)
    assert replay.status_code == 200
    assert replay.content == first_response.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert await effect_state(db, target) == {"active": False, "version": 2, "events": 1, "keys": 1}


async def _app_waits_for_row_lock(db) -> bool:
    return await db.fetchval(
        """SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE datname = current_database() AND application_name = 'toezicht'
                            AND wait_event_type = 'Lock' AND query LIKE '%UPDATE app_user SET active%')"""
    )


async def test_failed_command_stores_no_key_so_retry_runs(client, db, admin, target):
    stale = await command(client, admin, target, key="after-412", version=7)
    assert_problem(stale, 412, "stale_version")
    assert await effect_state(db, target) == {"active": True, "version": 1, "events": 0, "keys": 0}

    retry = await command(client, admin, target, key="after-412", version=1)
    assert retry.status_code == 200, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await effect_state(db, target) == {"active": False, "version": 2, "events": 1, "keys": 1}


@pytest.mark.parametrize(
    "key", ["k" * 300, "has space", "ctl\x01char", ""], ids=["too-long", "space", "control", "empty"]
)
async def test_invalid_key_is_400_and_nothing_happens(client, db, admin, target, key):
    response = await command(client, admin, target, key=key, version=1)
    assert_problem(response, 400, "idempotency_key_invalid")
    assert await effect_state(db, target) == {"active": True, "version": 1, "events": 0, "keys": 0}


async def test_expired_key_is_not_replayed_and_is_overwritten(client, db, admin, target):
    assert (await command(client, admin, target, key="old", version=1)).status_code == 200
    assert (await command(client, admin, target, key="undo", version=2, action="activate")).status_code == 200
    await db.execute("UPDATE idempotency_key SET expires_at = now() - interval '1 second' WHERE key = 'old'")

    again = await command(client, admin, target, key="old", version=3)
    assert again.status_code == 200, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["version"] == 4
    assert await effect_state(db, target) == {"active": False, "version": 4, "events": 3, "keys": 2}
    row = await db.fetchrow("SELECT response_body, expires_at > now() AS live FROM idempotency_key WHERE key = 'old'")
    assert row["live"] and row["response_body"] == again.content


async def test_purge_expired_removes_only_expired_rows(client, db, admin, target):
    owner = await register(client, admin)
    for key, offset in [("gone-1", "-1 second"), ("gone-2", "-1 day"), ("kept", "+1 hour")]:
        await db.execute(
            """INSERT INTO idempotency_key (user_id, key, fingerprint, status_code, response_body, expires_at)
               VALUES ($1, $2, 'f', 200, '\\x7b7d', now() + $3::text::interval)""",
            owner,
            key,
            offset,
        )
    assert await purge_expired(db) == 2
    assert [r["key"] for r in await db.fetch("SELECT key FROM idempotency_key")] == ["kept"]
    assert await purge_expired(db) == 0
