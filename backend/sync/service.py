"""Phone sync (GET /api/v1/sync): what an inspector's phone needs offline, and what changed since its cursor.

What a phone holds: the caller's planned assignments (they are among its inspectors and may see it), the
objects (each with its permits) and locations those assignments target, the checklist versions they use,
and the caller's returned inspections (submitted by them or with them present) with the reason and the
revision to correct, until they are corrected.

A sync without a cursor is a full sync: the working set in pages of `limit` assignments, ordered by id, with
their targets and checklist versions. Page 1 takes the watermark W (the horizon, below) in the snapshot it
reads from; later pages continue by id; when the working set is exhausted the cursor becomes the feed cursor
(W, 0). Everything committed after page 1's snapshot therefore comes again through the feed (an upsert twice
is harmless).

Then the phone reads the change feed: rows (user, entity, id) that triggers write in the transaction of each
change that concerns a user (migrations/0005_sync.sql). A row says "look at this entity again": the page
reads every entity's current state with the caller's rights (one query per kind, through the owning
features' services) and delivers it, or a tombstone when the phone should drop it: an assignment cancelled,
done, reassigned away or no longer visible; an object or location that no planned assignment of the caller
targets any more, or that the caller may no longer see; an inspection that is returned no more.

Never missing a change. A transaction gets its id (xid) when it first writes, but transactions commit in
another order: a reader that kept "the highest row seen" would skip the row of an older transaction that
commits after the read. A page therefore delivers only rows whose xid is below the horizon,
pg_snapshot_xmin of the page's own snapshot: every transaction below it has finished, and every transaction
that has not (or starts later) has an xid at or above it. The cursor is the last delivered (xid, seq) when
the page is full, else (horizon, 0). A long-running transaction thus only delays delivery (of changes
committed after it began, until it ends); it never loses one.

Checklist versions are immutable: a phone names those it holds (`have_checklists`) and an incremental page
leaves them out. The feed is purged after `sync_feed_retention_days` (purge_feed); the highest position ever
purged is kept, and a cursor below it (whose phone may have missed a purged row) starts a full sync with
`reset`, never a page with a silent gap.

A cursor also carries a fingerprint of its user and their regimes. A cursor of another user, or from before
the caller's regimes changed, starts a full sync with `reset`, so a phone never keeps what its user may no
longer see. A feed position beyond the horizon cannot come from this database's history (say, after a
restore into a new cluster) and starts a full sync too.

Reads of sex-work locations are audited (location.read), as a single read is. The page is read in one
read-only REPEATABLE READ transaction (one snapshot); the audit events follow in a transaction of their own,
before the page is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, cast
from uuid import UUID

import asyncpg
import msgspec

from backend.checklists import service as checklists
from backend.core.auth import Principal
from backend.core.errors import BadRequest
from backend.core.pagination import decode_cursor, encode_cursor
from backend.inspections import service as inspections
from backend.planning import service as planning
from backend.planning.models import Assignment
from backend.registry import service as registry
from backend.sync import queries
from backend.sync.models import Removed, SyncEntity, SyncPage

DEFAULT_LIMIT = 200
MAX_LIMIT = 500
PURGE_BATCH = 10_000

_Number = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
# (kind, fingerprint, then for "feed": xid and seq; for "full": the watermark and the last assignment id)
_CursorShape = tuple[Literal["feed", "full"], Annotated[str, msgspec.Meta(max_length=64)], _Number, _Number | UUID]


@dataclass(frozen=True, order=True)
class _Feed:
    xid: int
    seq: int


@dataclass(frozen=True)
class _Full:
    watermark: int
    last_id: UUID


def _fingerprint(principal: Principal) -> str:
    """What the working set depends on besides the data: whose it is and the regimes they may see (an
    inspector's own assignments do not depend on their teams)."""
    material = f"{principal.user_id}|{','.join(sorted(principal.regimes))}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _position(cursor: str | None, principal: Principal) -> _Feed | _Full | None:
    """Where the cursor continues, or None for a (new) full sync."""
    # A tuple type with Annotated members is a typing special form to mypy, not a type[...]: named as one here.
    decoded = decode_cursor(cursor, cast("type[_CursorShape]", _CursorShape))
    if decoded is None:
        return None
    kind, fingerprint, first, second = decoded
    position: _Feed | _Full
    if kind == "feed" and isinstance(second, int):
        position = _Feed(first, second)
    elif kind == "full" and isinstance(second, UUID):
        position = _Full(first, second)
    else:
        raise BadRequest("The cursor is not one this API handed out.", code="invalid_cursor")
    return position if fingerprint == _fingerprint(principal) else None


def _cursor(principal: Principal, position: _Feed | _Full) -> str:
    if isinstance(position, _Feed):
        return encode_cursor("feed", _fingerprint(principal), position.xid, position.seq)
    return encode_cursor("full", _fingerprint(principal), position.watermark, str(position.last_id))


def _snapshot(conn: asyncpg.Connection) -> asyncpg.transaction.Transaction:
    """One snapshot for a whole page: its feed rows, horizon and entity states agree with each other."""
    return conn.transaction(isolation="repeatable_read", readonly=True)


async def sync(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    cursor: str | None,
    limit: int,
    request_id: str | None,
    have_checklists: frozenset[UUID] = frozenset(),
) -> SyncPage:
    position = _position(cursor, principal)
    page = await _feed_page(conn, principal, position, limit, have_checklists) if isinstance(position, _Feed) else None
    if page is None:
        page = await _full_page(conn, principal, position if isinstance(position, _Full) else None, limit)
    if any("sexwork" in location.regimes for location in page.locations):
        async with conn.transaction():
            await registry.record_location_reads(conn, principal, page.locations, request_id=request_id)
    return page


# --- full sync: the working set by assignment id -----------------------------------------------------------


async def _full_page(conn: asyncpg.Connection, principal: Principal, position: _Full | None, limit: int) -> SyncPage:
    async with _snapshot(conn):
        # Page 1's horizon, read in the snapshot the page is read from: whatever this snapshot does not show
        # was written by a transaction at or above it, so the feed from (watermark, 0) brings it.
        watermark = position.watermark if position else int(await conn.fetchval(queries.HORIZON))
        rows = await planning.planned_assignments_of_caller(
            conn, principal, after=position.last_id if position else None, limit=limit + 1
        )
        assignments = rows[:limit]
        object_ids = _unique(a.object_id for a in assignments if a.object_id is not None)
        location_ids = _unique(a.location_id for a in assignments if a.location_id is not None)
        objects = await registry.objects_with_permits(conn, principal, object_ids)
        locations = await registry.get_locations(conn, principal, location_ids)
        versions = await checklists.get_versions(
            conn, principal, _unique(v for a in assignments for v in a.checklist_version_ids)
        )
        returned = await inspections.returned_to(conn, principal) if position is None else []
    more = len(rows) > limit
    next_position = _Full(watermark, assignments[-1].id) if more else _Feed(watermark, 0)
    return SyncPage(
        reset=position is None,
        assignments=assignments,
        objects=objects,
        locations=locations,
        checklist_versions=versions,
        returned_inspections=returned,
        removed=[],
        cursor=_cursor(principal, next_position),
        has_more=more,
    )


# --- incremental sync: the change feed ------------------------------------------------------------------------


async def _feed_page(
    conn: asyncpg.Connection, principal: Principal, position: _Feed, limit: int, have_checklists: frozenset[UUID]
) -> SyncPage | None:
    """The next page of the caller's feed, or None when the position is not one of this database or is
    older than the purge (a full sync then)."""
    async with _snapshot(conn):
        rows = await conn.fetch(queries.FEED_PAGE, principal.user_id, str(position.xid), position.seq, limit + 1)
        horizon = int(rows[0]["horizon"])
        purged = await conn.fetchrow(queries.PURGED)
        if position.xid > horizon or (purged is not None and position < _Feed(int(purged["xid"]), purged["seq"])):
            return None
        entries = [row for row in rows if row["seq"] is not None]
        more = len(entries) > limit
        entries = entries[:limit]
        wanted = {
            entity: _unique(row["entity_id"] for row in entries if row["entity"] == entity)
            for entity in ("assignment", "object", "location", "checklist_version", "inspection")
        }
        assignments, removed = _assignment_states(
            principal, wanted["assignment"], await planning.get_assignments(conn, principal, wanted["assignment"])
        )
        planned = await planning.targets_planned_for_caller(
            conn, principal, object_ids=wanted["object"], location_ids=wanted["location"]
        )
        objects = await registry.objects_with_permits(conn, principal, [i for i in wanted["object"] if i in planned])
        locations = await registry.get_locations(conn, principal, [i for i in wanted["location"] if i in planned])
        wanted["checklist_version"] = [v for v in wanted["checklist_version"] if v not in have_checklists]
        versions = await checklists.get_versions(conn, principal, wanted["checklist_version"])
        returned = await inspections.returned_to(conn, principal, wanted["inspection"]) if wanted["inspection"] else []
    removed += _gone("object", wanted["object"], {o.id for o in objects}, planned)
    removed += _gone("location", wanted["location"], {location.id for location in locations}, planned)
    removed += _gone("checklist_version", wanted["checklist_version"], {v.id for v in versions}, None)
    removed += [
        Removed("inspection", inspection_id, "corrected")
        for inspection_id in wanted["inspection"]
        if inspection_id not in {r.id for r in returned}
    ]
    # Without more: everything of this user below the horizon is delivered; a forged position above it stays put.
    next_position = _Feed(int(entries[-1]["xid"]), entries[-1]["seq"]) if more else max(position, _Feed(horizon, 0))
    return SyncPage(
        reset=False,
        assignments=assignments,
        objects=objects,
        locations=locations,
        checklist_versions=versions,
        returned_inspections=returned,
        removed=removed,
        cursor=_cursor(principal, next_position),
        has_more=more,
    )


async def purge_feed(conn: asyncpg.Connection, retention: timedelta) -> int:
    """Remove feed rows written more than `retention` ago, in batches; how many were removed."""
    cutoff = datetime.now(UTC) - retention
    removed = 0
    while True:
        batch: int = await conn.fetchval(queries.PURGE_FEED, cutoff, PURGE_BATCH)
        removed += batch
        if batch < PURGE_BATCH:
            return removed


def _assignment_states(
    principal: Principal, wanted: list[UUID], found: list[Assignment]
) -> tuple[list[Assignment], list[Removed]]:
    """Upserts for the caller's planned assignments; a tombstone, with the reason, for every other one."""
    by_id = {assignment.id: assignment for assignment in found}
    upserts: list[Assignment] = []
    removed: list[Removed] = []
    for assignment_id in wanted:
        assignment = by_id.get(assignment_id)
        if assignment is None:
            removed.append(Removed("assignment", assignment_id, "not_visible"))
        elif assignment.status != "planned":
            removed.append(Removed("assignment", assignment_id, assignment.status))
        elif principal.user_id not in assignment.inspector_ids:
            removed.append(Removed("assignment", assignment_id, "reassigned"))
        else:
            upserts.append(assignment)
    return upserts, removed


def _gone(entity: SyncEntity, wanted: list[UUID], shown: set[UUID], planned: set[UUID] | None) -> list[Removed]:
    """Tombstones for what is not shown: unassigned when no planned assignment of the caller's targets it
    (`planned`, for targets), otherwise because the caller may not see it."""
    return [
        Removed(entity, entity_id, "unassigned" if planned is not None and entity_id not in planned else "not_visible")
        for entity_id in wanted
        if entity_id not in shown
    ]


def _unique(ids: Iterable[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))
