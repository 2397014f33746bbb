from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar.params import QueryParameter

from backend.core.audit import EventContent
from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup

FromDate = Annotated[date | None, QueryParameter(name="from", description="On or after this day (Europe/Amsterdam)")]
ToDate = Annotated[date | None, QueryParameter(description="On or before this day (Europe/Amsterdam)")]


class AuditEvent(EventContent, frozen=True):
    """A stored event with its place in the chain, and the display name of its actor (a user's, when known)."""

    seq: int
    row_hash: str
    actor_name: str | None = None


class AuditEventPage(Page[AuditEvent], frozen=True):
    pass


class TrailObject(QueryGroup, frozen=True):
    """The object whose trail ListAuditEvents lists; both or neither."""

    object_type: Annotated[
        str | None,
        QueryParameter(min_length=1, max_length=64, description="With object_id: that object's trail, oldest first"),
    ] = None
    object_id: Annotated[str | None, QueryParameter(min_length=1, max_length=128)] = None
