from __future__ import annotations

import msgspec

from backend.core.audit import EventContent


class AuditEvent(EventContent, frozen=True):
    """A stored event with its place in the chain, and the display name of its actor (a user's, when known)."""

    seq: int
    row_hash: str
    actor_name: str | None = None


class AuditEventPage(msgspec.Struct, frozen=True):
    items: list[AuditEvent]
    next_cursor: str | None
