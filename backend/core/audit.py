"""The audit trail: append-only, hash-chained, written in the same transaction as the change.

Each event's `row_hash` is SHA-256 over the previous event's hash, its sequence number and the SHA-256 of its
canonical content, so altering, removing or reordering any row breaks every link after it. The application
inserts an event with the SHA-256 of its content; the database links it while the transaction commits
(migrations/0014_audit_link_at_commit.sql): it takes an advisory lock, so writers extend the chain one at a time,
numbers the event and links it to the head. The lock is held only for the commit itself, wherever in the
transaction the event was written. Database triggers refuse UPDATE, DELETE and TRUNCATE (but that link).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core.auth import Principal
from backend.core.ids import new_id

GENESIS_HASH = "0" * 64


class Actor(msgspec.Struct, frozen=True):
    """Who did it: a user (id and subject), or the system itself (`user_id` None, label e.g. 'cli')."""

    label: str
    user_id: UUID | None = None


SYSTEM = Actor(label="system")


def _canonical(row: dict[str, Any], *, with_seq: bool) -> bytes:
    content = {
        "id": str(row["id"]),
        "occurred_at": row["occurred_at"].astimezone(UTC).isoformat(),
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "actor_label": row["actor_label"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "request_id": row["request_id"],
        "reason": row["reason"],
        "before": row["before"],
        "after": row["after"],
    }
    if with_seq:
        content["seq"] = row["seq"]
    return msgspec.json.encode(content, order="sorted")


def content_sha256(row: dict[str, Any]) -> str:
    """SHA-256 of an event's canonical content: every field but its sequence number and hashes."""
    return hashlib.sha256(_canonical(row, with_seq=False)).hexdigest()


def link_hash(prev_hash: str, seq: int, content_digest: str) -> str:
    """A version 2 link, as the database computes it when the event's transaction commits."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{content_digest}".encode()).hexdigest()


def row_hash_of(prev_hash: str, row: dict[str, Any]) -> str:
    """The hash an event must carry after `prev_hash`, by the version it was written with."""
    if row.get("hash_version", 2) == 1:
        return hashlib.sha256(prev_hash.encode() + _canonical(row, with_seq=True)).hexdigest()
    return link_hash(prev_hash, row["seq"], content_sha256(row))


class EventContent(msgspec.Struct, frozen=True):
    """What an event says (everything its content hash covers)."""

    id: UUID
    occurred_at: datetime
    actor_id: UUID | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    request_id: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class Event(EventContent, frozen=True):
    """An event ready to be written: its content and the SHA-256 of that content (see content_sha256)."""

    pending_content_sha256: str


def event(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | UUID,
    request_id: str | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    row: dict[str, Any] = {  # Event's fields, hashed before the event exists
        "id": new_id(),
        "occurred_at": datetime.now(UTC),
        "actor_id": actor.user_id,
        "actor_label": actor.label,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "request_id": request_id,
        "reason": reason,
        "before": before,
        "after": after,
    }
    return Event(**row, pending_content_sha256=content_sha256(row))


_EVENT_COLUMNS = ", ".join(Event.__struct_fields__)


def insert_events(events: str, *, only_if: str | None = None) -> str:
    """SQL inserting the events of a jsonb array (`events`, a bind parameter holding a list of Event), unlinked:
    the database links them at commit. A statement that makes a change may embed it as a CTE to write the
    change's events in the same round trip (and so in its transaction); `only_if` is an SQL condition, e.g. that
    the change inserted a row."""
    condition = f" WHERE {only_if}" if only_if else ""
    return (
        f"INSERT INTO audit_event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} "
        f"FROM jsonb_populate_recordset(NULL::audit_event, {events}::jsonb){condition}"
    )


_INSERT = insert_events("$1")


async def write(conn: asyncpg.Connection, *events: Event) -> None:
    """Append events to the chain when the caller's transaction commits (it must run inside one)."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit events are written in the transaction of the change they record")
    await conn.execute(_INSERT, list(events))


async def record(conn: asyncpg.Connection, **fields: Any) -> None:
    """Append one event (the keyword arguments of event()) to the chain when the caller's transaction commits
    (it must run inside one)."""
    await write(conn, event(**fields))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs between two states of a record, as they were and as they are: what an
    update's event records."""
    changed = [key for key in after if before[key] != after[key]]
    return {key: before[key] for key in changed}, {key: after[key] for key in changed}


def user_actor(principal: Principal) -> Actor:
    """The signed-in user as the actor of an event."""
    return Actor(label="user", user_id=principal.user_id)


async def record_user_action(
    conn: asyncpg.Connection,
    principal: Principal,
    object_type: str,
    object_id: str | UUID,
    verb: str,
    *,
    request_id: str | None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append the event of what the signed-in user did to an object, action `<object_type>.<verb>` (e.g.
    `permit.suspended`), when the caller's transaction commits (it must run inside one)."""
    await record(
        conn,
        actor=user_actor(principal),
        action=f"{object_type}.{verb}",
        object_type=object_type,
        object_id=object_id,
        request_id=request_id,
        reason=reason,
        before=before,
        after=after,
    )


async def record_user_actions(
    conn: asyncpg.Connection,
    principal: Principal,
    object_type: str,
    object_ids: Iterable[str | UUID],
    verb: str,
    *,
    request_id: str | None,
) -> None:
    """record_user_action for each of `object_ids` (e.g. every sex-work record on a page the user listed), in one
    statement: a page of 200 is one round trip, not 200. Nothing at all for no ids."""
    actor = user_actor(principal)
    events = [
        event(
            actor=actor,
            action=f"{object_type}.{verb}",
            object_type=object_type,
            object_id=object_id,
            request_id=request_id,
        )
        for object_id in object_ids
    ]
    if events:
        await write(conn, *events)


async def record_user_update(
    conn: asyncpg.Connection,
    principal: Principal,
    object_type: str,
    object_id: str | UUID,
    verb: str,
    was: dict[str, Any],
    now: dict[str, Any],
    *,
    request_id: str | None,
    reason: str | None = None,
) -> None:
    """Append the event of the signed-in user's update of an object, given its audited fields before and after
    (`was`, `now`): the event records only the fields that changed (changed_fields), as record_user_action does."""
    before, after = changed_fields(was, now)
    await record_user_action(
        conn, principal, object_type, object_id, verb, request_id=request_id, reason=reason, before=before, after=after
    )


class ChainReport(msgspec.Struct):
    events: int
    head_hash: str
    broken_at_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at_seq is None


async def verify_chain(conn: asyncpg.Connection, batch: int = 1000) -> ChainReport:
    """Recompute every link in order; report the first event whose link does not hold."""
    prev_hash = GENESIS_HASH
    count = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor("SELECT * FROM audit_event ORDER BY seq", prefetch=batch):
            count += 1
            if row["prev_hash"] != prev_hash:
                return ChainReport(
                    count - 1, prev_hash, row["seq"], "previous-hash link does not match the event before it"
                )
            if row_hash_of(prev_hash, dict(row)) != row["row_hash"]:
                return ChainReport(count - 1, prev_hash, row["seq"], "content does not match its hash (altered)")
            prev_hash = row["row_hash"]
    return ChainReport(count, prev_hash)
