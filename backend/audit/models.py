from __future__ import annotations

from backend.core.audit import EventContent
from backend.core.pagination import Page


class AuditEvent(EventContent, frozen=True):
    """A stored event with its place in the chain, and the display name of its actor (a user's, when known)."""

    seq: int
    row_hash: str
    actor_name: str | None = None


class AuditEventPage(Page[AuditEvent], frozen=True):
    pass
