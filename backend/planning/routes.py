"""HTTP for planning: assignments (planned inspections) under /api/v1/assignments.

Assignments are never deleted: a cancellation keeps its reason, and done is set by the submission.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody

from backend.core import commands
from backend.core.auth import AuthRequest
from backend.core.commands import Command, Creation
from backend.core.db import Db
from backend.core.openapi import (
    IfNoneMatch,
)
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.planning import service
from backend.planning.models import (
    Assignment,
    AssignmentCreate,
    AssignmentFilters,
    AssignmentPage,
    Cancel,
    Reassign,
    Reschedule,
)

PLANNERS = ("coordinator", "admin")


class AssignmentController(Controller):
    path = "/api/v1/assignments"
    tags = ["Planning"]

    @command_route(
        operation_id="CreateAssignment",
        summary="Plan an inspection of an object or location for a team",
        roles=PLANNERS,
        status_code=201,
    )
    async def create(self, data: JSONBody[AssignmentCreate], creation: Creation) -> Response[Assignment]:
        """Coordinators (for their own teams) and admins. Plans an inspection of an establishment or location for a
        team in a window of days, with the checklists to use and optionally the inspectors (members of the team).
        201 with Location and ETag; the inspectors' phones receive it at their next sync."""
        return await creation.run(service.create_assignment, data, location=lambda created: f"{self.path}/{created.id}")

    @list_route(
        operation_id="ListAssignments",
        summary="Assignments you may see, ordered by planned_from (keyset)",
    )
    async def list_(
        self, request: AuthRequest, db: Db, filters: AssignmentFilters, page: PageRequest
    ) -> AssignmentPage:
        """Any authenticated user, for the assignments of their regimes: admins and enforcement officers see all,
        coordinators and inspectors their teams' (and inspectors those they are assigned to). Ordered by
        planned_from, in pages (keyset `cursor`); filters by team, status, regime, wijk, inspector, dates, overdue."""
        return await service.list_assignments(db, request.user, filters, page)

    @read_route(
        "/{assignment_id:uuid}",
        operation_id="GetAssignment",
        summary="One assignment, with its ETag",
        etag=True,
    )
    async def get_one(
        self,
        request: AuthRequest,
        db: Db,
        assignment_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Assignment]:
        """Anyone who may see the assignment (see ListAssignments); 404 otherwise. The ETag is what the assignment
        commands need in If-Match."""
        return commands.with_etag(await service.get_assignment(db, request.user, assignment_id))

    @command_route(
        "/{assignment_id:uuid}/reassign",
        operation_id="ReassignAssignment",
        summary="Assign other inspectors; If-Match",
        roles=PLANNERS,
    )
    async def reassign(
        self, assignment_id: FromPath[UUID], data: JSONBody[Reassign], command: Command
    ) -> Response[Assignment]:
        """Coordinators and admins. Replaces the inspectors of a planned assignment (members of its team). If-Match
        is required: 428 without it, 412 when stale; 409 when it is no longer planned."""
        return await command.run(service.reassign, assignment_id, data)

    @command_route(
        "/{assignment_id:uuid}/reschedule",
        operation_id="RescheduleAssignment",
        summary="Move the planned window; If-Match",
        roles=PLANNERS,
    )
    async def reschedule(
        self, assignment_id: FromPath[UUID], data: JSONBody[Reschedule], command: Command
    ) -> Response[Assignment]:
        """Coordinators and admins. Moves the planned window of a planned assignment. If-Match is required: 428
        without it, 412 when stale; 409 when it is no longer planned."""
        return await command.run(service.reschedule, assignment_id, data)

    @command_route(
        "/{assignment_id:uuid}/cancel",
        operation_id="CancelAssignment",
        summary="Cancel with a reason; If-Match",
        roles=PLANNERS,
    )
    async def cancel(
        self, assignment_id: FromPath[UUID], data: JSONBody[Cancel], command: Command
    ) -> Response[Assignment]:
        """Coordinators and admins. Cancels a planned assignment with a reason; phones remove it at their next sync.
        If-Match is required: 428 without it, 412 when stale; 409 when it is no longer planned."""
        return await command.run(service.cancel, assignment_id, data)
