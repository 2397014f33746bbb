"""The jurist's worklists: the steps awaiting my approval, the steps ready to send, the letters to post, and the
display fields a worklist shows of every case, deadline, step and letter (the target's name and address, people's
names), so that a screen is one request per page.

Names and addresses come from the registry and users services, one batch per page, with the caller's own
visibility: an establishment or location the caller may not see stays unnamed. Showing a sex-work location's
address is a read of it, audited as the registry audits one (record_location_reads).

The approvals list applies the vier-ogen rules of approval ahead of time: a drafted besluit or invordering of an
open case of the caller's regimes, not drafted by the caller and resting on no violation the caller inspected.
Approving still checks them (approve_step); this list only leaves out what would be refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from backend.core.auth import Principal
from backend.core.pagination import KeysetQuery, PageRequest, decode_cursor, keyset_page
from backend.enforcement import queries, reading, steps
from backend.enforcement.models import (
    ApprovalItem,
    ApprovalPage,
    CaseListItem,
    CaseListPage,
    CasePage,
    DeadlineEntry,
    DeadlineView,
    DeadlineWorklist,
    LetterFilters,
    LetterToPost,
    LetterToPostPage,
    ReadyToSendItem,
    ReadyToSendPage,
    StepFilters,
)
from backend.registry import service as registry
from backend.users import service as users


@dataclass(frozen=True)
class Place:
    """What a worklist shows of a case's target."""

    object_name: str | None = None
    address: str | None = None


UNSEEN = Place()
Drafted = TypeVar("Drafted", ApprovalItem, ReadyToSendItem)


class Places:
    """The names and addresses of one page's targets, read in one batch per kind."""

    def __init__(self, objects: dict[UUID, Place], locations: dict[UUID, Place]) -> None:
        self._objects = objects
        self._locations = locations

    def of(self, object_id: UUID | None, location_id: UUID | None) -> Place:
        if object_id is not None:
            return self._objects.get(object_id, UNSEEN)
        if location_id is not None:
            return self._locations.get(location_id, UNSEEN)
        return UNSEEN


async def places(
    conn: asyncpg.Connection,
    principal: Principal,
    targets: list[tuple[UUID | None, UUID | None]],
    *,
    request_id: str | None,
) -> Places:
    """The places of (object_id, location_id) pairs, as far as the caller may see them."""
    object_ids = sorted({o for o, _ in targets if o is not None})
    location_ids = sorted({loc for o, loc in targets if o is None and loc is not None})
    objects = await registry.get_objects(conn, principal, object_ids)
    locations = await registry.get_locations(conn, principal, location_ids)
    if any("sexwork" in location.regimes for location in locations):
        async with conn.transaction():
            await registry.record_location_reads(conn, principal, locations, request_id=request_id)
    return Places(
        {found.id: Place(found.name, registry.address_line(found)) for found in objects},
        {found.id: Place(None, registry.address_line(found)) for found in locations},
    )


async def _placed(
    conn: asyncpg.Connection, principal: Principal, rows: Sequence[Any], limit: int, *, request_id: str | None
) -> list[dict[str, Any]]:
    """A keyset page's `limit + 1` rows as dicts, the first `limit` (those shown) with their target's name and
    address (`object_name`, `address`), read in one go."""
    shown = [dict(row) for row in rows[:limit]]
    found = await places(conn, principal, [(r["object_id"], r["location_id"]) for r in shown], request_id=request_id)
    for row in shown:
        place = found.of(row["object_id"], row["location_id"])
        row.update(object_name=place.object_name, address=place.address)
    return [*shown, *(dict(row) for row in rows[limit:])]


def _labelled(item: Any, shape: type[Any], place: Place, **names: str | None) -> Any:
    return shape(**msgspec.structs.asdict(item), object_name=place.object_name, address=place.address, **names)


async def case_page(
    conn: asyncpg.Connection, principal: Principal, page: CasePage, *, request_id: str | None
) -> CaseListPage:
    """A page of cases with their targets' names and addresses and who opened them."""
    found = await places(conn, principal, [(c.object_id, c.location_id) for c in page.items], request_id=request_id)
    names = await users.display_names(conn, sorted({c.opened_by for c in page.items if c.opened_by is not None}))
    items = [
        _labelled(
            case,
            CaseListItem,
            found.of(case.object_id, case.location_id),
            opened_by_name=names.get(case.opened_by) if case.opened_by else None,
        )
        for case in page.items
    ]
    return CaseListPage(items=items, next_cursor=page.next_cursor)


async def deadline_worklist(
    conn: asyncpg.Connection, principal: Principal, view: DeadlineView, *, request_id: str | None
) -> DeadlineWorklist:
    """The deadlines view with each deadline's target named."""
    every = [*view.overdue, *view.expiring]
    found = await places(conn, principal, [(d.object_id, d.location_id) for d in every], request_id=request_id)

    def entries(items: list[Any]) -> list[DeadlineEntry]:
        return [_labelled(d, DeadlineEntry, found.of(d.object_id, d.location_id)) for d in items]

    return DeadlineWorklist(
        today=view.today, until=view.until, expiring=entries(view.expiring), overdue=entries(view.overdue)
    )


async def approvals(
    conn: asyncpg.Connection, principal: Principal, filters: StepFilters, page: PageRequest, *, request_id: str | None
) -> ApprovalPage:
    """Drafted decisions the caller may approve, longest waiting first, in keyset pages."""
    scope_args = [sorted(principal.regimes), principal.user_id]
    items, next_cursor = await _drafted_steps(
        conn, principal, queries.APPROVAL_LIST, scope_args, ApprovalItem, filters, page, request_id
    )
    return ApprovalPage(items=items, next_cursor=next_cursor)


async def ready_to_send(
    conn: asyncpg.Connection, principal: Principal, filters: StepFilters, page: PageRequest, *, request_id: str | None
) -> ReadyToSendPage:
    """Steps of the caller's regimes' open cases that may be sent now, longest waiting first, in keyset pages: what
    was drafted or approved and then left lies here until someone sends it."""
    scope_args = [sorted(principal.regimes), *steps.ready_to_send()]
    items, next_cursor = await _drafted_steps(
        conn, principal, queries.READY_LIST, scope_args, ReadyToSendItem, filters, page, request_id
    )
    return ReadyToSendPage(items=items, next_cursor=next_cursor)


async def _drafted_steps(
    conn: asyncpg.Connection,
    principal: Principal,
    query: KeysetQuery,
    scope_args: list[Any],
    item_type: type[Drafted],
    filters: StepFilters,
    page: PageRequest,
    request_id: str | None,
) -> tuple[list[Drafted], str | None]:
    """One page of drafted steps, oldest draft first, each with its target's name and address and its drafter's."""
    after, limit = decode_cursor(page.cursor, tuple[datetime, UUID]), page.limit
    found_rows = await query.fetch(conn, filters, scope_args=scope_args, after=after, limit=limit)
    rows = await _placed(conn, principal, found_rows, limit, request_id=request_id)
    names = await users.display_names(conn, sorted({r["drafted_by"] for r in rows[:limit]}))

    def item(row: dict[str, Any]) -> Drafted:
        return msgspec.convert({**row, "drafted_by_name": names.get(row["drafted_by"])}, item_type)

    return keyset_page(rows, limit, item, lambda last: (last.drafted_at.isoformat(), str(last.step_id)))


async def letters_to_post(
    conn: asyncpg.Connection, principal: Principal, filters: LetterFilters, page: PageRequest, *, request_id: str | None
) -> LetterToPostPage:
    """Sent letters marked for post, or whose e-mail failed for good, that nobody recorded as posted, oldest
    sending first, in keyset pages."""
    after, limit = decode_cursor(page.cursor, tuple[date, UUID]), page.limit
    scope_args = [sorted(principal.regimes), await reading.failed_mail(conn)]
    found_rows = await queries.POSTING_LIST.fetch(conn, filters, scope_args=scope_args, after=after, limit=limit)
    rows = await _placed(conn, principal, found_rows, limit, request_id=request_id)
    items, next_cursor = keyset_page(
        rows, limit, lambda row: LetterToPost(**row), lambda last: (last.sent_on.isoformat(), str(last.step_id))
    )
    return LetterToPostPage(items=items, next_cursor=next_cursor)


async def check_wijk(conn: asyncpg.Connection, wijk: str | None) -> None:
    """422 for a wijk filter that names no wijk, as every list with a wijk filter answers."""
    await registry.ensure_known_wijk_filter(conn, wijk)
