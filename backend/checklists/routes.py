"""HTTP for checklists: phones fetch the current templates (ETag, 304); admins publish new versions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from backend.checklists import service
from backend.checklists.models import ChecklistList, ChecklistVersion
from backend.core import audit
from backend.core.auth import AuthRequest, requires_role
from backend.core.concurrency import conditional_response
from backend.core.db import Db, Tx
from backend.core.idempotency import run_once
from backend.core.logging import request_id_of
from backend.core.openapi import (
    AUTHENTICATED,
    ETAG_HEADER,
    NOT_MODIFIED,
    IdempotencyKey,
    IfNoneMatch,
    problem_responses,
)
from backend.core.routes import read_route

# The list depends on the caller's regimes; a published version never changes, so a phone may keep it.
LIST_CACHE = "private, no-cache"
VERSION_CACHE = "private, max-age=31536000, immutable"


class ChecklistController(Controller):
    path = "/api/v1/checklists"
    tags = ["Checklists"]

    @get(
        operation_id="ListChecklists",
        summary="The current version of every checklist template the caller's regimes allow",
        responses={**problem_responses(*AUTHENTICATED), **NOT_MODIFIED},
        response_headers=ETAG_HEADER,
    )
    async def list_checklists(
        self, request: AuthRequest, db: Db, if_none_match: IfNoneMatch = None
    ) -> Response[ChecklistList]:
        """Any authenticated user. One entry per template of your regimes (its latest version, with its full content;
        no pagination: there is one row per template); phones usually get these through GET /api/v1/sync. Send the
        ETag back in If-None-Match for a 304 when nothing changed."""
        checklists, etag = await service.list_current(db, request.user)
        return conditional_response(checklists, etag, if_none_match, LIST_CACHE)

    @read_route(
        "/{version_id:uuid}",
        operation_id="GetChecklistVersion",
        summary="One published checklist version with its full content",
        etag=True,
    )
    async def get_checklist_version(
        self,
        request: AuthRequest,
        db: Db,
        version_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[ChecklistVersion]:
        """Any authenticated user. One published version by id, also an older one an inspection refers to; a version
        of a regime you are not scoped for answers 404. The ETag is the SHA-256 of the content (a version never
        changes); If-None-Match gives 304."""
        version = await service.get_version(db, request.user, version_id)
        return conditional_response(version, f'"{version.content_sha256}"', if_none_match, VERSION_CACHE)

    @post(
        operation_id="PublishChecklist",
        summary="Publish a checklist template (schemas/checklist.schema.json) as its next version",
        guards=[requires_role("admin")],
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=ChecklistVersion, description="Unchanged: the latest version already has this content"
            ),
            **problem_responses(*AUTHENTICATED, 400, 409, 413, 415, 422),
        },
        response_headers=ETAG_HEADER,
    )
    async def publish_checklist(
        self,
        request: AuthRequest,
        tx: Tx,
        data: JSONBody[dict[str, Any]],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ChecklistVersion]:
        """Admins. Publishes a template (schemas/checklist.schema.json) as its next version: 201 with Location when
        the content is new, 200 with the latest version when the content is unchanged. 422 with a JSON pointer per
        problem when the template is invalid or changes the answer type of an existing question."""

        async def command() -> Response[ChecklistVersion]:
            result = await service.publish(
                tx,
                data,
                actor=audit.user_actor(request.user),
                published_by=request.user.user_id,
                request_id=request_id_of(request),
            )
            version = result.version
            headers = {"ETag": f'"{version.content_sha256}"', "Location": f"{self.path}/{version.id}"}
            return Response(version, status_code=201 if result.outcome == "published" else 200, headers=headers)

        return await run_once(request, tx, command, raw_key=idempotency_key)
