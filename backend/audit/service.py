"""Reading the audit trail (writing it is core.audit, called by every feature inside its transaction).

Auditors and admins read the trail per object, or by actor and/or period ("wie heeft wat ingezien"). The trail
follows the regime scope of the records it is about: an event of a sex-work record is seen only with the sexwork
regime, and the trail of a sex-work object answers 404 without it, like the object itself. Which events concern
sex-work records is decided once, by the database when the event is linked (migrations/0016_audit_scope.sql).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar.params import QueryParameter

from backend.audit import queries
from backend.audit.models import AuditEvent, AuditEventPage, FromDate, ToDate
from backend.core.auth import Principal
from backend.core.errors import NotFound, Unprocessable, invalid_parameter
from backend.core.pagination import BigintKey, PageRequest, decode_cursor, keyset_page
from backend.core.query_groups import QueryGroup
from backend.users import service as users

# Events that record a read of sensitive data rather than a change: the answer to "what did this person look at".
READ_ACTIONS = (
    "complaint.reporter_read",
    "enforcement_case.document_read",
    "enforcement_case.read",
    "inspection.read",
    "location.read",
    "photo.original_read",
)
# Far more than one person's reads over years; a larger export is refused (ask for a shorter period).
MAX_EXPORT_ROWS = 100_000
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
CSV_HEADER = (
    "Tijdstip (UTC)",
    "Medewerker-id",
    "Medewerker",
    "Handeling",
    "Soort gegeven",
    "Gegeven-id",
    "Verzoek-id",
    "Volgnummer",
)


def _event(row: dict[str, Any]) -> AuditEvent:
    return msgspec.convert(row, AuditEvent)


async def _with_actor_names(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """The events with the current name of each actor (users keeps the names; None for one without a name)."""
    names = await users.display_names(conn, {row["actor_id"] for row in rows if row["actor_id"] is not None})
    return [{**row, "actor_name": names.get(row["actor_id"])} for row in rows]


def _regimes(principal: Principal) -> list[str]:
    return sorted(principal.regimes)


async def list_for_object(
    conn: asyncpg.Connection, principal: Principal, object_type: str, object_id: str, page: PageRequest
) -> AuditEventPage:
    """One object's trail, oldest first; 404 when the caller may not see the object's trail, exactly as when the
    trail has no event of that object."""
    (after_seq,) = decode_cursor(page.cursor, tuple[BigintKey]) or (0,)
    limit = page.limit
    rows = []
    if await conn.fetchval(queries.OBJECT_IN_SCOPE, _regimes(principal), object_type, object_id):
        rows = await _with_actor_names(
            conn,
            await conn.fetch(
                queries.LIST_FOR_OBJECT, _regimes(principal), object_type, object_id, after_seq, limit + 1
            ),
        )
    if not rows and page.cursor is None:
        raise NotFound("No such object in the audit trail.")
    items, next_cursor = keyset_page(rows, limit, _event, lambda last: (last.seq,))
    return AuditEventPage(items=items, next_cursor=next_cursor)


class TrailFilter(QueryGroup, frozen=True):
    """The trail by actor and/or period (dates in Europe/Amsterdam, inclusive)."""

    actor_id: Annotated[UUID | None, QueryParameter(description="Events of this user (what they did or read)")] = None
    from_: FromDate = None
    to: ToDate = None

    def check(self) -> None:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise invalid_parameter("to", "`to` is before `from`")

    def sql_filters(self, actions: tuple[str, ...] | None = None) -> dict[str, Any]:
        return {**self.filter_values(), "actions": list(actions) if actions else None}


def _trail_sql(
    principal: Principal, trail: TrailFilter, *, after: Any, limit: int, actions: tuple[str, ...] | None = None
) -> tuple[str, list[Any]]:
    return queries.TRAIL.page_sql(
        trail.sql_filters(actions), scope_args=[_regimes(principal)], after=after, limit=limit
    )


async def list_trail(
    conn: asyncpg.Connection, principal: Principal, trail: TrailFilter, page: PageRequest
) -> AuditEventPage:
    """Events by actor and/or period in the order they happened (keyset on occurred_at, seq)."""
    trail.check()
    after, limit = decode_cursor(page.cursor, tuple[AwareDatetime, BigintKey]), page.limit
    sql, args = _trail_sql(principal, trail, after=after, limit=limit + 1)
    rows = await _with_actor_names(conn, await conn.fetch(sql, *args))
    items, next_cursor = keyset_page(rows, limit, _event, lambda last: (last.occurred_at.isoformat(), last.seq))
    return AuditEventPage(items=items, next_cursor=next_cursor)


async def reads_csv(conn: asyncpg.Connection, principal: Principal, trail: TrailFilter) -> str:
    """A person's reads of sensitive data (READ_ACTIONS) as CSV for an AVG request: semicolon-separated with Dutch
    headers, oldest first, within the caller's regime scope."""
    trail.check()
    sql, args = _trail_sql(principal, trail, after=None, limit=MAX_EXPORT_ROWS + 1, actions=READ_ACTIONS)
    found = await conn.fetch(sql, *args)
    if len(found) > MAX_EXPORT_ROWS:
        raise Unprocessable(f"More than {MAX_EXPORT_ROWS} reads; export a shorter period.", code="export_too_large")
    rows = await _with_actor_names(conn, found)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                row["occurred_at"].isoformat(),
                str(row["actor_id"]),
                row["actor_name"] or "",
                row["action"],
                row["object_type"],
                row["object_id"],
                row["request_id"] or "",
                row["seq"],
            )
        )
    return out.getvalue()
