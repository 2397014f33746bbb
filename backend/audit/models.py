from __future__ import annotations

import msgspec

from backend.core.audit import EventContent


class AuditEvent(EventContent, frozen=True):
    """A stored event with its place in the chain."""

    seq: int
    row_hash: str


class AuditEventPage(msgspec.Struct, frozen=True):
    items: list[AuditEvent]
    next_cursor: str | None
