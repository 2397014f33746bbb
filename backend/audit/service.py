"""Reading the audit trail (writing it is core.audit, called by every feature inside its transaction)."""

from __future__ import annotations

import asyncpg
import msgspec

from backend.audit import queries
from backend.audit.models import AuditEvent, AuditEventPage
from backend.core.pagination import decode_cursor, encode_cursor


async def list_events(
    conn: asyncpg.Connection, *, object_type: str, object_id: str, cursor: str | None, limit: int
) -> AuditEventPage:
    after = decode_cursor(cursor, 1)
    after_seq = int(after[0]) if after and isinstance(after[0], int) else 0
    rows = await conn.fetch(queries.LIST_FOR_OBJECT, object_type, object_id, after_seq, limit + 1)
    items = [msgspec.convert(dict(row), AuditEvent) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].seq) if len(rows) > limit else None
    return AuditEventPage(items=items, next_cursor=next_cursor)
