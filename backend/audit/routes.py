"""HTTP for auditors: the audit trail ("wie heeft wat gedaan of ingezien") per object, or by actor and period,
and a person's reads of sensitive data as CSV."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import QueryParameter

from backend.audit import service
from backend.audit.models import AuditEventPage, FromDate, ToDate, TrailObject
from backend.core.auth import AuthRequest, requires_role
from backend.core.db import Db
from backend.core.errors import FieldProblems, invalid_parameter
from backend.core.pagination import PageRequest
from backend.core.routes import list_route

READERS = ("auditor", "admin")


class AuditController(Controller):
    path = "/api/v1/audit-events"
    tags = ["Audit"]
    guards = [requires_role(*READERS)]

    @list_route(
        operation_id="ListAuditEvents",
        summary="Audit events of one object (oldest first), or by actor and/or period (in the order they happened)",
        description="Give `object_type` and `object_id` for one object's trail (404 when you may not see the "
        "object's trail); or any of `actor_id`, `from`, `to` (or none: the whole trail). Events of sex-work "
        "records only with the sexwork regime.",
        problems=(404,),
    )
    async def list_events(
        self,
        request: AuthRequest,
        db: Db,
        of: TrailObject,
        trail: service.TrailFilter,
        page: PageRequest,
    ) -> AuditEventPage:
        object_type, object_id = of.object_type, of.object_id
        if object_type is None and object_id is None:
            return await service.list_trail(db, request.user, trail, page)
        if object_type is None or object_id is None:
            raise invalid_parameter(
                "object_type" if object_type is None else "object_id", "Missing required query parameter."
            )
        if trail != service.TrailFilter():
            problems = FieldProblems("An object's trail is read whole: leave out actor_id, from and to.")
            problems.add_parameter("actor_id", "not with object_type")
            raise problems.error()
        return await service.list_for_object(db, request.user, object_type, object_id, page)

    @list_route(
        "/reads",
        operation_id="ExportReads",
        media_type="text/csv",
        summary="A person's reads of sensitive data as CSV (for an AVG request)",
        description="Reporter details of complaints, photo originals and sex-work locations the user read, oldest "
        "first, within your regime scope; semicolon-separated with Dutch headers.",
    )
    async def export_reads(
        self,
        request: AuthRequest,
        db: Db,
        actor_id: Annotated[UUID, QueryParameter(description="The user whose reads are exported")],
        from_: FromDate = None,
        to: ToDate = None,
    ) -> Response[str]:
        trail = service.TrailFilter(actor_id=actor_id, from_=from_, to=to)
        text = await service.reads_csv(db, request.user, trail)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="inzage-{actor_id}.csv"'},
        )
