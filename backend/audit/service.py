"""Reading the audit trail (writing it is core.audit, called by every feature inside its transaction)."""

from __future__ import annotations

import asyncpg
import msgspec

from backend.audit import queries
from backend.audit.models import AuditEvent, AuditEventPage
from backend.core.pagination import BigintKey, decode_cursor, encode_cursor


async def list_events(
    conn: asyncpg.Connection, *, object_type: str, object_id: str, cursor: str | None, limit: int
) -> AuditEventPage:
    (after_seq,) = decode_cursor(cursor, tuple[BigintKey]) or (0,)
    rows = await conn.fetch(queries.LIST_FOR_OBJECT, object_type, object_id, after_seq, limit + 1)
    items = [msgspec.convert(dict(row), AuditEvent) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].seq) if len(rows) > limit else None
    return AuditEventPage(items=items, next_cursor=next_cursor)

