"""HTTP for auditors: the audit trail of one object ("wie heeft wat gedaan of ingezien")."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from backend.audit import service
from backend.audit.models import AuditEventPage
from backend.core.auth import requires_role
from backend.core.db import Db
from backend.core.openapi import LIST, problem_responses
from backend.core.pagination import DEFAULT_LIMIT, PageCursor, PageLimit


class AuditController(Controller):
    path = "/api/v1/audit-events"
    tags = ["Audit"]
    guards = [requires_role("auditor", "admin")]

    @get(
        operation_id="ListAuditEvents", summary="Audit events of one object, oldest first", responses=problem_responses(*LIST)
    )
    async def list_events(
        self,
        db: Db,
        object_type: Annotated[str, QueryParameter(min_length=1, max_length=64)],
        object_id: Annotated[str, QueryParameter(min_length=1, max_length=128)],
        cursor: PageCursor = None,
        limit: PageLimit = DEFAULT_LIMIT,
    ) -> AuditEventPage:
        """Auditors and admins. The audit trail of one object (e.g. object_type `inspection` and its id), oldest
        first, in pages: who did or read what, when, and why. Each event carries the hash that chains it to the one
        before."""
        return await service.list_events(db, object_type=object_type, object_id=object_id, cursor=cursor, limit=limit)
