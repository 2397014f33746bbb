"""Reading the audit trail (writing it is core.audit, called by every feature inside its transaction)."""

from __future__ import annotations

import asyncpg
import msgspec

from backend.audit import queries
from backend.audit.models import AuditEvent, AuditEventPage
from backend.core.pagination import BigintKey, decode_cursor, keyset_page


async def list_events(
    conn: asyncpg.Connection, *, object_type: str, object_id: str, cursor: str | None, limit: int
) -> AuditEventPage:
    (after_seq,) = decode_cursor(cursor, tuple[BigintKey]) or (0,)
    rows = await conn.fetch(queries.LIST_FOR_OBJECT, object_type, object_id, after_seq, limit + 1)
    items, next_cursor = keyset_page(rows, limit, lambda row: msgspec.convert(dict(row), AuditEvent),
                                     lambda last: (last.seq,))
    return AuditEventPage(items=items, next_cursor=next_cursor)

