"""HTTP for phone sync: GET /api/v1/sync (inspectors)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import QueryParameter

from backend.core.auth import AuthRequest
from backend.core.db import Db
from backend.core.logging import request_id_of
from backend.core.routes import list_route
from backend.sync import service
from backend.sync.models import SyncPage

SyncLimit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=service.MAX_LIMIT,
        description=f"At most this many changes (or, in a full sync, assignments) per page (1-{service.MAX_LIMIT})",
    ),
]
HaveChecklists = Annotated[
    list[UUID] | None,
    QueryParameter(
        max_items=service.MAX_LIMIT,
        description="Checklist versions your phone holds (repeat the parameter): they are immutable, so an incremental "
        "sync leaves them out",
    ),
]
SyncCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=512,
        description="The `cursor` of your previous sync; without it, a full sync of your working set",
    ),
]

DESCRIPTION = """Everything your phone needs offline that changed since `cursor`: your planned assignments, the
objects (with permits) and locations they target, the checklist versions they use, and tombstones (`removed`)
for what to drop. Without a cursor: the full working set in pages (`reset` on the first). Keep the last
`cursor` and sync again with it; while `has_more` is true, sync again at once. Name the checklist versions you
hold in `have_checklists`: an incremental sync does not send them again. A cursor older than the feed's
retention starts a full sync (`reset`). No change is ever skipped,
also when changes commit while you sync; a change may arrive twice (apply upserts and tombstones as
idempotent)."""


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["Sync"]

    @list_route(
        operation_id="Sync",
        summary="Your offline working set, or what changed in it since your cursor",
        description=DESCRIPTION,
        roles=("inspector",),
    )
    async def sync(
        self,
        request: AuthRequest,
        db: Db,
        cursor: SyncCursor = None,
        limit: SyncLimit = service.DEFAULT_LIMIT,
        have_checklists: HaveChecklists = None,
    ) -> Response[SyncPage]:
        page = await service.sync(
            db,
            request.user,
            cursor=cursor,
            limit=limit,
            request_id=request_id_of(request),
            have_checklists=frozenset(have_checklists or ()),
        )
        # Personal and sensitive data, different per user and per moment: no cache may keep it.
        return Response(page, headers={"Cache-Control": "no-store"})
