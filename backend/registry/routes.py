"""HTTP for the registry: establishments (/objects), their permits, locations, and the CSV import.

Establishments are never deleted: inspections, permits and sanctions refer to them, and reports count them
per period. Closing one is a PUT with status "closed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.core import audit, commands
from backend.core.auth import AuthRequest, requires_role
from backend.core.commands import Command, Creation, Replacement
from backend.core.db import Db, Tx
from backend.core.errors import PROBLEM_JSON, Problem, problem_response
from backend.core.idempotency import run_once
from backend.core.logging import request_id_of
from backend.core.openapi import (
    COMMAND,
    IdempotencyKey,
    IfNoneMatch,
    problem_responses,
)
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.letters.models import Addressee
from backend.registry import importer, service
from backend.registry.models import (
    Establishment,
    EstablishmentPage,
    ImportReport,
    Location,
    LocationCreate,
    ObjectAddressee,
    ObjectFilters,
    ObjectWrite,
    Permit,
    PermitList,
    PermitWrite,
    ReinstatePermit,
    SuspendPermit,
    WithdrawPermit,
)

WRITERS = ("coordinator", "admin")
ADDRESSEE_WRITERS = ("coordinator", "enforcement_officer", "admin")
IMPORT_MAX_BYTES = 50 * 1024 * 1024

OnDate = Annotated[date | None, QueryParameter(description="Only the permits in force on this date (inclusive bounds)")]


# --- the CSV import: a text/csv body and a problem that carries the report ----------------------------------


class ImportProblem(Problem):
    report: ImportReport | None = None


@dataclass
class _CsvOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            required=True,
            description="UTF-8, semicolon-separated, with a header row; the columns are listed in the README",
        )


def _import_rejected(request: Request[Any, Any, Any], exc: importer.ImportRejected) -> Response[ImportProblem]:
    plain = problem_response(request, exc.status, exc.code, exc.detail)
    body = ImportProblem(**{f: getattr(plain.content, f) for f in plain.content.__struct_fields__}, report=exc.report)
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON)


_IMPORT_RESPONSES = {
    **problem_responses(*COMMAND),
    422: ResponseSpec(
        data_container=ImportProblem,
        media_type=PROBLEM_JSON,
        generate_examples=False,
        description="Nothing stored; `report` lists every bad row (row, column, reason)",
    ),
}


# --- controllers ------------------------------------------------------------------------------------------


class ObjectController(Controller):
    path = "/api/v1/objects"
    tags = ["Registry"]

    @command_route(
        operation_id="CreateObject",
        summary="Register an establishment",
        roles=WRITERS,
        status_code=201,
    )
    async def create(self, data: JSONBody[ObjectWrite], creation: Creation) -> Response[Establishment]:
        """Coordinators and admins. Registers an establishment with its address, wijk, kind and regimes; 201 with
        Location and ETag. 422 names every bad field (e.g. a sex business without the sexwork regime); 409 when an
        active establishment of that name is registered at the address. Send an Idempotency-Key to retry safely."""
        return await creation.run(service.create_object, data, location=lambda created: f"{self.path}/{created.id}")

    @list_route(
        operation_id="SearchObjects",
        summary="Search establishments you may see, ordered by name",
    )
    async def search(
        self, request: AuthRequest, db: Db, filters: ObjectFilters, page: PageRequest
    ) -> EstablishmentPage:
        """Any authenticated user; only establishments of your regimes (sex businesses only with the sexwork
        regime). Filters by name, postcode, street, house number, wijk, kind, regime and status, ordered by name, in
        pages (keyset `cursor`)."""
        return await service.search_objects(db, request.user, filters, page)

    @read_route(
        "/{object_id:uuid}",
        operation_id="GetObject",
        summary="One establishment, with its ETag",
        etag=True,
    )
    async def get_one(
        self,
        request: AuthRequest,
        db: Db,
        object_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Establishment]:
        """Any authenticated user who may see the establishment (its regimes); 404 otherwise, as for one that does
        not exist. The ETag is what ReplaceObject needs in If-Match."""
        found = await service.get_object(db, request.user, object_id)
        return commands.with_etag(found)

    @command_route(
        "/{object_id:uuid}",
        operation_id="ReplaceObject",
        summary="Replace an establishment (close it with status closed); If-Match",
        roles=WRITERS,
        method=put,
    )
    async def replace(
        self, object_id: FromPath[UUID], data: JSONBody[ObjectWrite], replacement: Replacement
    ) -> Response[Establishment]:
        """Coordinators and admins. Replaces the establishment as a whole (omitted optional fields are cleared);
        closing it is status `closed`, it is never deleted. If-Match is required: 428 without it, 412 when it
        changed since you read it."""
        return await replacement.run(service.replace_object, object_id, data)

    @read_route(
        "/{object_id:uuid}/addressee",
        operation_id="GetObjectAddressee",
        summary="Who receives the establishment's letters, with the history",
    )
    async def addressee(self, request: AuthRequest, db: Db, object_id: FromPath[UUID]) -> ObjectAddressee:
        """Any authenticated user who may see the establishment. The operator (exploitant or permit holder) who
        receives its letters, with correspondence address and optional e-mail, and every earlier one, newest first."""
        return await service.get_addressee(db, request.user, object_id)

    @command_route(
        "/{object_id:uuid}/addressee",
        operation_id="SetObjectAddressee",
        summary="Record who receives the establishment's letters (the earlier one stays as history)",
        roles=ADDRESSEE_WRITERS,
        method=put,
    )
    async def set_addressee(
        self,
        request: AuthRequest,
        tx: Tx,
        object_id: FromPath[UUID],
        data: JSONBody[Addressee],
    ) -> ObjectAddressee:
        """Coordinators, enforcement officers and admins. Records the operator and correspondence address the
        enforcement letters go to; the previous addressee stays in the history. Audited."""
        return await service.set_addressee(tx, request.user, object_id, data, request_id=request_id_of(request))

    @read_route(
        "/{object_id:uuid}/permits",
        operation_id="ListObjectPermits",
        summary="An establishment's permits; with `on`, those in force on that date (vergunningcontrole)",
    )
    async def permits(
        self,
        request: AuthRequest,
        db: Db,
        object_id: FromPath[UUID],
        on: OnDate = None,
    ) -> PermitList:
        """Any authenticated user who may see the establishment. Its permits of every type, or with `on` only those
        in force on that date (the vergunningcontrole). Leidinggevenden are shown only to users with the alcohol
        regime."""
        return await service.list_permits(db, request.user, object_id, on)

    @command_route(
        "/{object_id:uuid}/permits",
        operation_id="CreatePermit",
        summary="Record a permit of an establishment",
        roles=WRITERS,
        status_code=201,
    )
    async def create_permit(
        self, object_id: FromPath[UUID], data: JSONBody[PermitWrite], creation: Creation
    ) -> Response[Permit]:
        """Coordinators and admins. Records a permit of the establishment; the body's `type` decides its conditions
        (e.g. the leidinggevenden of an alcoholvergunning). 201 with Location and ETag; 409 `permit_overlap` when a
        permit of the type is already granted for an overlapping period."""
        return await creation.run(
            service.create_permit, object_id, data, location=lambda permit: f"/api/v1/permits/{permit.id}"
        )

    @post(
        "/import",
        operation_id="ImportObjects",
        summary="Import establishments from a register export (CSV); all-or-nothing unless partial=true",
        guards=[requires_role(*WRITERS)],
        status_code=200,
        responses=_IMPORT_RESPONSES,
        operation_class=_CsvOperation,
        opt={"accepts": ["text/csv"]},
        request_max_body_size=IMPORT_MAX_BYTES,
        exception_handlers={importer.ImportRejected: _import_rejected},
    )
    async def import_csv(
        self,
        request: AuthRequest,
        tx: Tx,
        partial: Annotated[bool, QueryParameter(description="Store the good rows and report the bad ones")] = False,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ImportReport]:
        """Coordinators and admins. Imports establishments from a register export (text/csv, semicolon-separated,
        columns in the README): all-or-nothing by default (422 with a report of every bad row, nothing stored), or
        with partial=true the good rows are stored and the bad ones reported."""

        async def command() -> Response[ImportReport]:
            report = await importer.import_objects(
                tx,
                await request.body(),
                partial=partial,
                actor=audit.user_actor(request.user),
                request_id=request_id_of(request),
            )
            return Response(report, status_code=200)

        return await run_once(request, tx, command, raw_key=idempotency_key)


class PermitController(Controller):
    path = "/api/v1/permits"
    tags = ["Registry"]

    @read_route(
        "/{permit_id:uuid}",
        operation_id="GetPermit",
        summary="One permit with its history and ETag",
        etag=True,
    )
    async def get_one(
        self,
        request: AuthRequest,
        db: Db,
        permit_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Permit]:
        """Any authenticated user who may see the establishment. One permit with its history (every change, who,
        when, why) and its ETag for the permit commands."""
        permit = await service.get_permit(db, request.user, permit_id)
        return commands.with_etag(permit)

    @command_route(
        "/{permit_id:uuid}",
        operation_id="ReplacePermit",
        summary="Correct a permit (holder, number, validity, conditions such as the leidinggevenden); If-Match",
        roles=WRITERS,
        method=put,
    )
    async def replace(
        self, permit_id: FromPath[UUID], data: JSONBody[PermitWrite], replacement: Replacement
    ) -> Response[Permit]:
        """Coordinators and admins. Corrects a permit as a whole (holder, number, validity, conditions); the type
        cannot change. If-Match is required: 428 without it, 412 when stale."""
        return await replacement.run(service.replace_permit, permit_id, data)

    @command_route(
        "/{permit_id:uuid}/suspend",
        operation_id="SuspendPermit",
        summary="Suspend a permit for a period; If-Match",
        roles=WRITERS,
    )
    async def suspend(
        self, permit_id: FromPath[UUID], data: JSONBody[SuspendPermit], command: Command
    ) -> Response[Permit]:
        """Coordinators and admins. Suspends the permit from `starts_on` to `ends_on` (inclusive) with a reason.
        If-Match is required: 428 without it, 412 when stale; 409 `permit_withdrawn` for a withdrawn permit."""
        return await command.run(service.suspend_permit, permit_id, data)

    @command_route(
        "/{permit_id:uuid}/withdraw",
        operation_id="WithdrawPermit",
        summary="Withdraw a permit from a date; If-Match",
        roles=WRITERS,
    )
    async def withdraw(
        self, permit_id: FromPath[UUID], data: JSONBody[WithdrawPermit], command: Command
    ) -> Response[Permit]:
        """Coordinators and admins. Withdraws the permit from `effective_on` with a reason (intrekking). If-Match is
        required: 428 without it, 412 when stale; 409 `permit_withdrawn` when it is already withdrawn."""
        return await command.run(service.withdraw_permit, permit_id, data)

    @command_route(
        "/{permit_id:uuid}/reinstate",
        operation_id="ReinstatePermit",
        summary="Lift a suspension or withdrawal from a date; If-Match",
        roles=WRITERS,
    )
    async def reinstate(
        self, permit_id: FromPath[UUID], data: JSONBody[ReinstatePermit], command: Command
    ) -> Response[Permit]:
        """Coordinators and admins. Lifts a suspension or withdrawal from `effective_on`; an `effective_on` at or
        before its start undoes it entirely (e.g. after bezwaar). If-Match is required: 428 without it, 412 when
        stale; 409 `nothing_to_reinstate` when nothing is in effect from that day."""
        return await command.run(service.reinstate_permit, permit_id, data)


class LocationController(Controller):
    path = "/api/v1/locations"
    tags = ["Registry"]

    @command_route(
        operation_id="CreateLocation",
        summary="Record an address to inspect (e.g. from an advertisement or a complaint)",
        roles=("inspector", "coordinator", "complaints_officer", "admin"),
        status_code=201,
    )
    async def create(
        self,
        request: AuthRequest,
        tx: Tx,
        data: JSONBody[LocationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Location]:
        """Inspectors, coordinators, complaints officers and admins. Records an address to inspect that is not (yet)
        a registered establishment, e.g. from an advertisement or a complaint; it is linked to an active
        establishment at the same address. 201 with Location."""

        async def command() -> Response[Location]:
            location = await service.create_location(tx, request.user, data, request_id=request_id_of(request))
            return Response(location, status_code=201, headers={"Location": f"{self.path}/{location.id}"})

        return await run_once(request, tx, command, raw_key=idempotency_key)

    @read_route(
        "/{location_id:uuid}",
        operation_id="GetLocation",
        summary="One location (reads of sex-work locations are audited)",
    )
    async def get_one(self, request: AuthRequest, tx: Tx, location_id: FromPath[UUID]) -> Location:
        """Any authenticated user whose regimes include one of the location's; 404 otherwise. Reads of sex-work
        locations are audited."""
        return await service.get_location(tx, request.user, location_id, request_id=request_id_of(request))
