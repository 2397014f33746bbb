"""HTTP for inspections (/api/v1/inspections) and violations (/api/v1/violations).

Phones PUT an inspection to its own UUID (same body again: same answer; the HTTP Date header tells us the
phone's clock); coordinators review or return it with If-Match; violations are listed per object, location
or inspection.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, put
from litestar.params import FromPath, HeaderParameter, JSONBody

from backend.core import commands
from backend.core.auth import AuthRequest, requires_role
from backend.core.commands import Command
from backend.core.concurrency import conditional_response, etag
from backend.core.db import Db, Tx
from backend.core.errors import PROBLEM_JSON, problem_response
from backend.core.logging import request_id_of
from backend.core.openapi import (
    AUTHENTICATED,
    ETAG_HEADER,
    IfNoneMatch,
    problem_responses,
)
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.inspections import reads, submission
from backend.inspections import review as reviewing
from backend.inspections.models import (
    Inspection,
    InspectionFilters,
    InspectionPage,
    InspectionSubmission,
    ReturnRequest,
    RevisionList,
    ViolationFilters,
    ViolationPage,
)

READ_CACHE = "private, no-cache"

DeviceDate = Annotated[
    str | None,
    HeaderParameter(
        name="Date",
        description="The phone's clock when sending (HTTP-date). Not part of the body, so a resend stays "
        "identical; it lets the server measure the phone's clock skew",
    ),
]


def _stale_revision(request: Request[Any, Any, Any], exc: submission.StaleRevision) -> Response[Any]:
    """409 with the current revision as an extension member (RFC 9457), so the phone can rebase."""
    problem = problem_response(request, exc.status, exc.code, exc.detail).content
    body = {**msgspec.to_builtins(problem), "current_revision": exc.current_revision}
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON)


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["Inspections"]
    exception_handlers = {submission.StaleRevision: _stale_revision}

    @put(
        "/{inspection_id:uuid}",
        operation_id="SubmitInspection",
        summary="Submit (or resend, or correct) an inspection under the phone's own UUID",
        description="Every success is 200 with the stored inspection, its violations and the photos it still "
        "expects; the same body again gives the same answer and stores nothing. Another body for an existing id is "
        "409 `inspection_conflict`, unless it corrects a returned inspection: then `base_revision` must be the "
        "current revision (409 `stale_revision` with `current_revision` otherwise). A photo id of another "
        "inspection is 409 `photo_id_in_use`. Answers are checked against the checklist versions: 422 lists every "
        "problem with a pointer.",
        guards=[requires_role("inspector")],
        status_code=200,
        responses=problem_responses(*AUTHENTICATED, 400, 404, 409, 413, 415, 422),
        response_headers=ETAG_HEADER,
    )
    async def submit(
        self,
        request: AuthRequest,
        tx: Tx,
        inspection_id: FromPath[UUID],
        data: JSONBody[InspectionSubmission],
        date_: DeviceDate = None,
    ) -> Response[Inspection]:
        submitted = await submission.submit(
            tx, request.user, inspection_id, data, date_header=date_, request_id=request_id_of(request)
        )
        return commands.with_etag(submitted)

    @list_route(
        operation_id="ListInspections",
        summary="Inspections you may see, newest first (keyset)",
    )
    async def list_(
        self, request: AuthRequest, db: Db, filters: InspectionFilters, page: PageRequest
    ) -> InspectionPage:
        """Any authenticated user, for the inspections they may see: admins and enforcement officers all of their
        regimes, coordinators their teams', inspectors their teams' planned ones and those they submitted or were
        present at. Newest first, in pages (keyset `cursor`), filtered by target, assignment, state, team, regime,
        wijk and dates."""
        return await reads.list_inspections(db, request.user, filters, page, request_id=request_id_of(request))

    @read_route(
        "/{inspection_id:uuid}",
        operation_id="GetInspection",
        summary="One inspection with its checklists, photos and violations; ETag = version",
        etag=True,
    )
    async def get_one(
        self,
        request: AuthRequest,
        db: Db,
        inspection_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Inspection]:
        """Anyone who may see the inspection (see ListInspections; 404 otherwise). The inspection with its
        checklists and answers, photos and violations; the ETag (its version) is what review and return need, and
        If-None-Match gives 304."""
        found = await reads.read_inspection(db, request.user, inspection_id, request_id=request_id_of(request))
        return conditional_response(found, etag(found.version), if_none_match, READ_CACHE)

    @read_route(
        "/{inspection_id:uuid}/revisions",
        operation_id="ListInspectionRevisions",
        summary="Every revision of an inspection as the phone sent it",
    )
    async def revisions(self, request: AuthRequest, db: Db, inspection_id: FromPath[UUID]) -> RevisionList:
        """Anyone who may see the inspection. Every revision as the phone sent it (the first submission and each
        correction), oldest first."""
        return await reads.list_revisions(db, request.user, inspection_id, request_id=request_id_of(request))

    @command_route(
        "/{inspection_id:uuid}/review",
        operation_id="ReviewInspection",
        summary="Accept a complete or corrected inspection (coordinator of its team, not present there); If-Match",
        roles=reviewing.REVIEWERS,
        response_headers=ETAG_HEADER,
    )
    async def review(self, inspection_id: FromPath[UUID], command: Command) -> Response[Inspection]:
        """Coordinators of the inspection's team who were not present at it, and admins (403 otherwise). Accepts a
        complete or corrected inspection; its violations then open or extend enforcement cases. If-Match is
        required: 428 without it, 412 when stale; 409 when it is not awaiting review."""
        return await command.run(reviewing.review, inspection_id)

    @command_route(
        "/{inspection_id:uuid}/return",
        operation_id="ReturnInspection",
        summary="Send an inspection back to its inspectors with a reason; If-Match",
        roles=reviewing.REVIEWERS,
        response_headers=ETAG_HEADER,
    )
    async def return_(
        self, inspection_id: FromPath[UUID], data: JSONBody[ReturnRequest], command: Command
    ) -> Response[Inspection]:
        """Coordinators of the inspection's team and admins. Sends the inspection back to its inspectors with a
        reason; the phone corrects it with a PUT that names the revision it corrects. If-Match is required: 428
        without it, 412 when stale; 409 when it is not awaiting review."""
        return await command.run(reviewing.return_, inspection_id, data.reason)


class ViolationController(Controller):
    path = "/api/v1/violations"
    tags = ["Inspections"]

    @list_route(
        operation_id="ListViolations",
        summary="Violations of an object, location or inspection, newest first (keyset)",
        description="Give at least one of object_id, location_id, inspection_id (422 otherwise). Withdrawn "
        "violations (a correction no longer establishes them) only with include_withdrawn=true.",
    )
    async def list_(self, request: AuthRequest, db: Db, filters: ViolationFilters, page: PageRequest) -> ViolationPage:
        return await reads.list_violations(db, request.user, filters, page, request_id=request_id_of(request))
