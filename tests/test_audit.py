"""The audit trail: written by the API in the transaction of each change, hash-chained, append-only,
verifiable in process and with `toezicht audit verify`, and readable by auditors per object."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from backend.core import audit
from backend.core import db as core_db
from backend.core.audit import verify_chain
from backend.core.config import PROJECT_ROOT
from backend.core.pagination import encode_cursor
from tests.helpers import set_active

TOEZICHT = PROJECT_ROOT / ".venv" / "bin" / "toezicht"
CLI_TIMEOUT_S = 60
EVENTS = "/api/v1/audit-events"


@dataclass
class Trail:
    """What `trail` did through the API: ids, and the X-Request-ID of each request that wrote an event."""

    admin_headers: dict[str, str]
    admin_id: str
    target_id: str
    registered_request_id: str
    deactivated_request_id: str
    activated_request_id: str


@pytest.fixture
async def trail(client, auth) -> Trail:
    """Four events: admin registered, inspector registered, inspector deactivated, inspector activated."""
    admin = auth("admin-1", roles=["admin"])
    admin_me = await client.get("/api/v1/me", headers=admin)
    assert admin_me.status_code == 200, admin_me.text
    target_me = await client.get("/api/v1/me", headers=auth("insp-1", roles=["inspector"]))
    assert target_me.status_code == 200, target_me.text
    target_id = target_me.json()["id"]
    deactivated = await set_active(
        client, admin, target_id, "deactivate", "left the team", request_id="deactivate-request-0001"
    )
    activated = await set_active(client, admin, target_id, "activate", "back from leave")
    assert deactivated.status_code == activated.status_code == 200, (deactivated.text, activated.text)
    return Trail(
        admin_headers=admin,
        admin_id=admin_me.json()["id"],
        target_id=target_id,
        registered_request_id=target_me.headers["x-request-id"],
        deactivated_request_id=deactivated.headers["x-request-id"],
        activated_request_id=activated.headers["x-request-id"],
    )


async def events(db) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM audit_event ORDER BY seq")


async def tamper(db, sql: str, *args) -> None:
    """Change the table as a superuser who switched the append-only triggers off for this transaction."""
    async with db.transaction():
        await db.execute("SET LOCAL session_replication_role = replica")
        await db.execute(sql, *args)


async def run_verify(database_url: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, TOEZICHT_DATA_DIR=str(data_dir))
    proc = await asyncio.create_subprocess_exec(
        str(TOEZICHT), "audit", "verify", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=CLI_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("toezicht audit verify did not finish") from None
    return proc.returncode, out.decode()


# --- what the API writes ----------------------------------------------------------------------------


async def test_each_event_carries_who_what_which_request_why_and_the_change(trail, db):
    rows = await events(db)
    assert [(r["action"], r["object_id"]) for r in rows] == [
        ("user.registered", trail.admin_id),
        ("user.registered", trail.target_id),
        ("user.deactivated", trail.target_id),
        ("user.activated", trail.target_id),
    ]
    assert all(r["object_type"] == "user" for r in rows)

    registered, deactivated, activated = rows[1:]
    assert (registered["actor_label"], str(registered["actor_id"])) == ("token", trail.target_id)
    assert registered["request_id"] == trail.registered_request_id
    assert registered["before"] is None
    assert registered["after"] == {"display_name": None, "roles": ["inspector"], "regimes": ["alcohol"], "teams": []}

    assert (deactivated["actor_label"], str(deactivated["actor_id"])) == ("user", trail.admin_id)
    assert deactivated["request_id"] == trail.deactivated_request_id == "deactivate-request-0001"
    assert deactivated["reason"] == "left the team"
    assert (deactivated["before"], deactivated["after"]) == ({"active": True}, {"active": False})

    assert (activated["actor_label"], str(activated["actor_id"])) == ("user", trail.admin_id)
    assert activated["request_id"] == trail.activated_request_id
    assert activated["reason"] == "back from leave"
    assert (activated["before"], activated["after"]) == ({"active": False}, {"active": True})


async def test_a_refused_change_writes_no_event(trail, client, db):
    before = await events(db)
    # A stale If-Match: the change is refused, and so is its audit event (same transaction).
    response = await client.post(
        f"/api/v1/users/{trail.target_id}/deactivate",
        json={"reason": "stale attempt"},
        headers={**trail.admin_headers, "If-Match": '"1"'},
    )
    assert response.status_code == 412, response.text
    assert await events(db) == before


async def test_record_requires_a_transaction(db):
    count = await db.fetchval("SELECT count(*) FROM audit_event")
    with pytest.raises(RuntimeError, match="transaction"):
        await audit.record(db, actor=audit.SYSTEM, action="test.outside", object_type="test", object_id="x")
    assert await db.fetchval("SELECT count(*) FROM audit_event") == count

    async with db.transaction():
        await audit.record(db, actor=audit.SYSTEM, action="test.inside", object_type="test", object_id="x")
    assert await db.fetchval("SELECT action FROM audit_event ORDER BY seq DESC LIMIT 1") == "test.inside"


# --- the chain --------------------------------------------------------------------------------------


async def test_intact_chain_verifies_in_process_and_with_the_cli(trail, db, database_url, tmp_path):
    rows = await events(db)
    report = await verify_chain(db)
    assert report.ok, report
    assert report.events == len(rows) == 4
    assert report.head_hash == rows[-1]["row_hash"]

    code, out = await run_verify(database_url, tmp_path)
    assert code == 0, out
    assert "intact" in out and "4 events" in out


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_event SET reason = 'nothing to see here' WHERE seq = $1",
        """UPDATE audit_event SET after = '{"active": true}'::jsonb WHERE seq = $1""",
    ],
)
async def test_altered_event_is_detected_at_that_event(trail, db, database_url, tmp_path, change):
    middle = (await events(db))[2]
    assert middle["action"] == "user.deactivated"
    await tamper(db, change, middle["seq"])

    report = await verify_chain(db)
    assert report.broken_at_seq == middle["seq"]
    assert report.events == 2  # the events before it still verify

    code, out = await run_verify(database_url, tmp_path)
    assert code == 1, out
    assert f"BROKEN at event seq {middle['seq']}:" in out


async def test_removed_event_is_detected_at_the_next_one(trail, db, database_url, tmp_path):
    rows = await events(db)
    await tamper(db, "DELETE FROM audit_event WHERE seq = $1", rows[1]["seq"])

    report = await verify_chain(db)
    assert report.broken_at_seq == rows[2]["seq"]

    code, out = await run_verify(database_url, tmp_path)
    assert code == 1, out
    assert f"BROKEN at event seq {rows[2]['seq']}:" in out


async def _append_version_1_event(db) -> asyncpg.Record:
    """An event as written before migration 0011 (seq inside the hashed content), appended at the head."""
    head = await db.fetchrow("SELECT seq, row_hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    row = {
        "seq": head["seq"] + 1,
        "id": uuid4(),
        "occurred_at": datetime.now(UTC),
        "actor_id": None,
        "actor_label": "cli",
        "action": "test.v1",
        "object_type": "test",
        "object_id": "x",
        "request_id": None,
        "reason": None,
        "before": None,
        "after": {"n": 1},
        "hash_version": 1,
    }
    row_hash = audit.row_hash_of(head["row_hash"], row)
    await db.execute(
        "INSERT INTO audit_event (seq, id, occurred_at, actor_id, actor_label, action, object_type, object_id, "
        "request_id, reason, before, after, hash_version, prev_hash, row_hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        *row.values(),
        head["row_hash"],
        row_hash,
    )
    await db.execute("SELECT setval('audit_event_seq_seq', $1)", row["seq"])
    return await db.fetchrow("SELECT * FROM audit_event WHERE seq = $1", row["seq"])


async def test_events_of_both_link_versions_verify_in_one_chain(trail, db):
    old = await _append_version_1_event(db)
    async with db.transaction():
        await audit.record(db, actor=audit.SYSTEM, action="test.v2", object_type="test", object_id="x")
    newest = (await events(db))[-1]
    assert (old["hash_version"], newest["hash_version"]) == (1, 2)
    assert newest["prev_hash"] == old["row_hash"]
    report = await verify_chain(db)
    assert report.ok, report
    assert report.head_hash == newest["row_hash"]


async def test_a_changed_link_version_is_detected(trail, db):
    old = await _append_version_1_event(db)
    await tamper(db, "UPDATE audit_event SET hash_version = 2 WHERE seq = $1", old["seq"])
    assert (await verify_chain(db)).broken_at_seq == old["seq"]


async def test_a_renumbered_event_is_detected(trail, db):
    rows = await events(db)
    await tamper(db, "UPDATE audit_event SET seq = seq + 1000 WHERE seq = $1", rows[-1]["seq"])
    assert (await verify_chain(db)).broken_at_seq == rows[-1]["seq"] + 1000


async def test_audit_table_refuses_update_delete_truncate(trail, db):
    rows = await events(db)
    for statement in (
        "UPDATE audit_event SET reason = 'rewritten' WHERE seq = $1",
        "DELETE FROM audit_event WHERE seq = $1",
        "TRUNCATE audit_event",
    ):
        args = [rows[2]["seq"]] if "$1" in statement else []
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(statement, *args)
        assert await events(db) == rows, statement
    assert (await verify_chain(db)).ok


async def test_events_are_linked_when_their_transaction_commits_in_the_order_written(db):
    async with db.transaction():
        for n in range(3):
            await audit.record(db, actor=audit.SYSTEM, action=f"test.{n}", object_type="test", object_id="x")
        # Inside the transaction the events wait for their link; nothing is numbered yet.
        assert await db.fetchval("SELECT count(*) FROM audit_event WHERE seq IS NULL") == 3
    rows = await events(db)
    assert [r["action"] for r in rows] == ["test.0", "test.1", "test.2"]
    assert [r["seq"] for r in rows] == [rows[0]["seq"], rows[0]["seq"] + 1, rows[0]["seq"] + 2]
    assert [r["prev_hash"] for r in rows] == [audit.GENESIS_HASH, rows[0]["row_hash"], rows[1]["row_hash"]]
    assert all(r["pending_content_sha256"] is None for r in rows)
    assert (await verify_chain(db)).ok


async def test_concurrent_writers_extend_one_unbroken_chain(database_url, db):
    writers = [await core_db.connect(database_url) for _ in range(8)]

    async def write(conn: asyncpg.Connection, n: int) -> None:
        for round_ in range(5):
            async with conn.transaction():
                await audit.record(
                    conn,
                    actor=audit.SYSTEM,
                    action="test.concurrent",
                    object_type="test",
                    object_id=f"{n}-{round_}",
                    after={"n": n},
                )
                await audit.record(
                    conn, actor=audit.SYSTEM, action="test.concurrent", object_type="test", object_id=f"{n}-{round_}-b"
                )

    try:
        await asyncio.gather(*(write(conn, n) for n, conn in enumerate(writers)))
    finally:
        for conn in writers:
            await conn.close()
    report = await verify_chain(db)
    assert report.ok, report
    assert report.events == 8 * 5 * 2
    seqs = [r["seq"] for r in await events(db)]
    assert seqs == list(range(seqs[0], seqs[0] + 80))


async def test_an_unlinked_event_cannot_be_changed_or_linked_by_hand(db):
    for statement in (
        "UPDATE audit_event SET reason = 'rewritten' WHERE seq IS NULL",
        "UPDATE audit_event SET seq = 1, prev_hash = repeat('0', 64), row_hash = repeat('1', 64), "
        "pending_content_sha256 = NULL, hash_version = 2 WHERE seq IS NULL",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            async with db.transaction():
                await audit.record(db, actor=audit.SYSTEM, action="test.pending", object_type="test", object_id="x")
                await db.execute(statement)
    assert await events(db) == []


async def test_an_event_in_a_repeatable_read_transaction_is_refused_at_commit(db):
    # Its snapshot could predate the chain head; the link would fork the chain.
    with pytest.raises(asyncpg.FeatureNotSupportedError, match="READ COMMITTED"):
        async with db.transaction(isolation="repeatable_read"):
            await audit.record(db, actor=audit.SYSTEM, action="test.rr", object_type="test", object_id="x")
    assert await events(db) == []


# --- the auditor's view -----------------------------------------------------------------------------


async def test_auditor_and_admin_read_one_objects_events_oldest_first(trail, client, auth, db):
    for role in ("auditor", "admin"):
        await assert_object_events_readable(client, db, trail, auth(f"{role}-9", roles=[role]))


async def assert_object_events_readable(client, db, trail: Trail, headers: dict[str, str]) -> None:
    response = await client.get(EVENTS, params={"object_type": "user", "object_id": trail.target_id}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = [r for r in await events(db) if r["object_id"] == trail.target_id]
    assert [item["seq"] for item in body["items"]] == [r["seq"] for r in expected]
    assert [item["action"] for item in body["items"]] == ["user.registered", "user.deactivated", "user.activated"]
    assert body["next_cursor"] is None
    deactivated = body["items"][1]
    assert deactivated["actor_id"] == trail.admin_id
    assert deactivated["request_id"] == trail.deactivated_request_id
    assert deactivated["reason"] == "left the team"
    assert (deactivated["before"], deactivated["after"]) == ({"active": True}, {"active": False})
    assert deactivated["row_hash"] == expected[1]["row_hash"]


async def test_keyset_pages_walk_every_event_once(trail, client, auth, db):
    auditor = auth("auditor-1", roles=["auditor"])
    params = {"object_type": "user", "object_id": trail.target_id, "limit": 1}
    seen: list[int] = []
    pages = 0
    while True:
        response = await client.get(EVENTS, params=params, headers=auditor)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) == 1
        seen += [item["seq"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
        assert pages < 10, "pagination does not end"
    expected = [r["seq"] for r in await events(db) if r["object_id"] == trail.target_id]
    assert len(expected) == 3
    assert seen == expected  # every event once, oldest first


async def test_other_roles_may_not_read_the_trail(trail, client, auth):
    for role in ("inspector", "coordinator"):
        params = {"object_type": "user", "object_id": trail.target_id}
        response = await client.get(EVENTS, params=params, headers=auth(f"{role}-9", roles=[role]))
        assert response.status_code == 403, role
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "forbidden"


async def test_object_type_is_required(trail, client, auth):
    auditor = auth("auditor-1", roles=["auditor"])
    response = await client.get(EVENTS, params={"object_id": trail.target_id}, headers=auditor)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {"detail": "Missing required query parameter.", "parameter": "object_type"} in body["errors"]


async def test_object_id_with_a_nul_character_is_refused(trail, client, auth):
    # PostgreSQL text cannot hold NUL; this must be a 422, not a driver error (500).
    response = await client.get(
        EVENTS,
        params={"object_type": "user", "object_id": trail.target_id + "\x00"},
        headers=auth("auditor-1", roles=["auditor"]),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [e["parameter"] for e in body["errors"]] == ["object_id"]


async def test_a_cursor_we_did_not_hand_out_is_refused(trail, client, auth):
    auditor = auth("auditor-1", roles=["auditor"])
    # Garbage, the wrong arity, and well-formed cursors holding values no page ever ends on.
    for cursor in (
        "not-a-cursor!",
        encode_cursor(1, 2),
        encode_cursor("1"),
        encode_cursor(True),
        encode_cursor(0),
        encode_cursor(2**63),
    ):
        response = await client.get(
            EVENTS, params={"object_type": "user", "object_id": trail.target_id, "cursor": cursor}, headers=auditor
        )
        assert response.status_code == 400, (cursor, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid_cursor"
