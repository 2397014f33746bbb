"""HTTP for complaints (klachtmeldingen) under /api/v1/complaints.

Complaints are never deleted: a complaint that is not ours is rejected (forwarded to a named partner).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Response, get
from litestar.params import FromPath, JSONBody

from backend.complaints import intake, lifecycle, service
from backend.complaints.models import (
    AssignHandler,
    CategoryList,
    Complaint,
    ComplaintCreate,
    ComplaintFilters,
    ComplaintPage,
    DueQuery,
    HotSpotList,
    HotSpotQuery,
    InformReporter,
    ObjectMatch,
    PlanInspection,
    PlannedInspection,
    ReporterToInformPage,
    Transition,
    WorklistFilters,
)
from backend.core import commands
from backend.core.auth import AuthRequest
from backend.core.commands import Command, Creation
from backend.core.config import Settings
from backend.core.db import Db, Tx
from backend.core.logging import request_id_of
from backend.core.openapi import AUTHENTICATED, problem_responses
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.registry.models import EstablishmentPage

HANDLERS = service.HANDLERS
PLANNERS = service.PLANNERS


def _planned(planned: PlannedInspection) -> Response[PlannedInspection]:
    """201 at the new assignment, with the ETag of the complaint it refers to."""
    return commands.versioned(planned, planned.complaint.version, 201, f"/api/v1/assignments/{planned.assignment.id}")


class ComplaintController(Controller):
    path = "/api/v1/complaints"
    tags = ["Complaints"]

    @get(
        "/categories",
        operation_id="ListComplaintCategories",
        summary="Complaint categories with their regime and deadlines in working days",
        responses=problem_responses(*AUTHENTICATED),
    )
    async def categories(self) -> CategoryList:
        """Any authenticated user. The complaint categories with the regime that decides who may see their
        complaints and their acknowledgement and handling terms in working days
        (schemas/complaints/categories.json)."""
        return service.categories()

    @command_route(
        operation_id="CreateComplaint",
        summary="Register a complaint (handlers, or an external intake system with an Idempotency-Key)",
        roles=HANDLERS,
        status_code=201,
    )
    async def create(
        self, request: AuthRequest, tx: Tx, data: JSONBody[ComplaintCreate], creation: Creation
    ) -> Response[Complaint]:
        """Complaints officers and admins (also as the account of an external intake system, with an
        Idempotency-Key). Registers a resident's complaint about an address, coordinates or an establishment; the
        wijk follows from it unless given. 201 with Location and ETag; 422 `location_outside_wijken` when the place
        lies in none of the wijken, `unknown_category` for a category not in the list."""
        # The stored (replayable) answer holds no contact details; the caller gets what a GET would show them.
        response = await creation.run(
            intake.create_complaint, data, location=lambda created: f"{self.path}/{created.id}"
        )
        created = (
            response.content
            if isinstance(response.content, Complaint)
            else msgspec.json.decode(response.content, type=Complaint)
        )
        shown = await service.with_reporter(tx, request.user, created, request_id=request_id_of(request))
        return Response(shown, status_code=response.status_code, headers=dict(response.headers))

    @list_route(
        operation_id="ListComplaints",
        summary="Complaints you may see, newest first (keyset); never the reporter's details",
    )
    async def list_(self, request: AuthRequest, db: Db, filters: ComplaintFilters, page: PageRequest) -> ComplaintPage:
        """Any authenticated user, for the complaints of their regimes (categories without a regime: complaints
        officers and admins only). Newest first, in pages (keyset `cursor`); never the reporter's identity or
        contact details."""
        return await service.list_complaints(db, request.user, filters, page)

    @list_route(
        "/deadlines",
        operation_id="ListComplaintDeadlines",
        summary="Open complaints by due date, earliest first: overdue, upcoming, or both (keyset)",
        roles=HANDLERS,
    )
    async def deadlines(
        self, request: AuthRequest, db: Db, due: DueQuery, filters: WorklistFilters, page: PageRequest
    ) -> ComplaintPage:
        """Any authenticated user, for the complaints they may see. Open complaints by their acknowledgement or
        resolution date, earliest first: overdue, upcoming or both, in pages (keyset `cursor`)."""
        return await service.list_due(db, request.user, due, filters, page)

    @list_route(
        "/reporters-to-inform",
        operation_id="ListComplaintReportersToInform",
        summary="Complaints whose reporter did not hear from us (e-mail failed, or answered without e-mail "
        "address): inform them, oldest first",
        roles=HANDLERS,
    )
    async def reporters_to_inform(
        self, request: AuthRequest, db: Db, filters: WorklistFilters, page: PageRequest
    ) -> ReporterToInformPage:
        """Complaints officers and admins, for the complaints they may see. The reporters who did not hear from us
        since they were last informed another way: complaints in any state whose acknowledgement or answer e-mail
        to the reporter failed for good (refused, or retries exhausted; `to_inform_because` `email_failed`), and
        answered complaints (resolved or rejected) whose reporter wants feedback but left no e-mail address, so only
        the handler can tell them (`no_email_address`). The oldest first by `to_inform_since` (the failure, or the
        answer), in pages (keyset `cursor`); never the reporter's details (open the complaint for their phone
        number). A complaint leaves the list when POST .../reporter-informed records that they were informed."""
        return await service.reporters_to_inform(db, request.user, filters, page)

    @list_route(
        "/hotspots",
        operation_id="ListComplaintHotSpots",
        summary="Objects by their number of complaints in the last days (default 90), most first",
        roles=(*PLANNERS, *HANDLERS),
    )
    async def hotspots(self, request: AuthRequest, db: Db, query: HotSpotQuery) -> HotSpotList:
        """Coordinators, complaints officers and admins. Establishments by their number of complaints in the last
        `days` (default TOEZICHT_COMPLAINT_HOTSPOT_DAYS), most first: where to plan inspections."""
        settings: Settings = request.app.state.settings
        return await service.hotspots(db, request.user, query, default_days=settings.complaint_hotspot_days)

    @list_route(
        "/object-suggestions",
        operation_id="SuggestComplaintObjects",
        summary="Active objects you may see matching a name and/or address, to link a complaint to",
        roles=HANDLERS,
    )
    async def suggestions(self, request: AuthRequest, db: Db, match: ObjectMatch) -> EstablishmentPage:
        """Complaints officers and admins. Active establishments they may see that match a name and/or address, to
        link a new complaint to."""
        return await service.suggest_objects(db, request.user, match)

    @read_route(
        "/{complaint_id:uuid}",
        operation_id="GetComplaint",
        summary="One complaint with history, inspections and related complaints; handlers also see the reporter "
        "(audited)",
    )
    async def get_one(self, request: AuthRequest, tx: Tx, complaint_id: FromPath[UUID]) -> Response[Complaint]:
        """Any authenticated user who may see the complaint (404 otherwise). Its history, planned inspections and
        their outcome, and related complaints; complaints officers and admins also see the reporter's details, and
        that read is audited."""
        return commands.with_etag(
            await service.get_complaint(tx, request.user, complaint_id, request_id=request_id_of(request))
        )

    @command_route(
        "/{complaint_id:uuid}/transitions",
        operation_id="TransitionComplaint",
        summary="Change the state (in_progress, resolved, reopened, rejected); If-Match",
        roles=HANDLERS,
    )
    async def transition(
        self, complaint_id: FromPath[UUID], data: JSONBody[Transition], command: Command
    ) -> Response[Complaint]:
        """Complaints officers and admins. Moves the complaint through its lifecycle (in_progress, resolved,
        reopened, rejected) with a reason; resolving and rejecting need an answer for the reporter when they want
        feedback (422 `answer_required`) and refuse one when they do not (422 `no_feedback_wanted`); the answer goes
        to them by e-mail when they left an address. If-Match is required: 428 without it, 412 when stale; 409
        `transition_not_allowed` names the states it can go to."""
        return await command.run(lifecycle.transition, complaint_id, data)

    @command_route(
        "/{complaint_id:uuid}/handler",
        operation_id="AssignComplaintHandler",
        summary="Assign a complaint handler; If-Match",
        roles=HANDLERS,
    )
    async def assign(
        self, complaint_id: FromPath[UUID], data: JSONBody[AssignHandler], command: Command
    ) -> Response[Complaint]:
        """Complaints officers and admins. Makes a complaints officer the complaint's handler. If-Match is required:
        428 without it, 412 when stale."""
        return await command.run(lifecycle.assign_handler, complaint_id, data)

    @command_route(
        "/{complaint_id:uuid}/reporter-informed",
        operation_id="RecordComplaintReporterInformed",
        summary="Record that the reporter was informed another way (e-mail failed, or no e-mail address); If-Match",
        roles=HANDLERS,
    )
    async def reporter_informed(
        self, complaint_id: FromPath[UUID], data: JSONBody[InformReporter], command: Command
    ) -> Response[Complaint]:
        """Complaints officers and admins. When the reporter is to be informed (`reporter_to_inform`: an e-mail to
        them failed for good, or the complaint was answered and they left no e-mail address), records that they
        were informed by phone, letter or a visit, and by whom (audited); the complaint leaves the
        reporters-to-inform list. 409 `no_failed_email` when there is nothing of either since the last record.
        If-Match is required: 428 without it, 412 when stale."""
        return await command.run(lifecycle.inform_reporter, complaint_id, data)

    @command_route(
        "/{complaint_id:uuid}/inspections",
        operation_id="PlanComplaintInspection",
        summary="Plan an inspection from the complaint (an assignment that knows it); If-Match of the complaint",
        roles=PLANNERS,
        status_code=201,
    )
    async def plan(
        self, complaint_id: FromPath[UUID], data: JSONBody[PlanInspection], command: Command
    ) -> Response[PlannedInspection]:
        """Coordinators and admins. Plans an inspection of the complaint's establishment or location as an
        assignment that refers to the complaint, so its outcome is reported back on the complaint. If-Match (of the
        complaint) is required; 201 with the assignment's Location."""
        return await command.run(lifecycle.plan_inspection, complaint_id, data, respond=_planned)
