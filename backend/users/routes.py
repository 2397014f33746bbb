"""HTTP for users: the caller's identity, user lists for planners, (de)activation by admins."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from litestar import Controller, Response, get
from litestar.params import FromPath, JSONBody

from backend.core import commands
from backend.core.auth import Principal, current_principal, requires_role
from backend.core.commands import Command
from backend.core.db import Db
from backend.core.openapi import (
    AUTHENTICATED,
    IfNoneMatch,
    problem_responses,
)
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.users import service
from backend.users.models import ActivationChange, Me, User, UserFilters, UserPage


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["Users"]

    @get(
        operation_id="GetMe",
        summary="The caller's id, roles, regimes and teams",
        responses=problem_responses(*AUTHENTICATED),
    )
    async def get_me(self) -> Me:
        """Any authenticated user. Answers who the token says you are, as the service records it (your user id,
        roles, regimes and teams); the first call registers you, so coordinators can assign work to you."""
        return service.me(current_principal())


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["Users"]
    guards = [requires_role("coordinator", "admin")]

    @list_route(
        operation_id="ListUsers",
        summary="Users known to the service, e.g. the inspectors of a team",
    )
    async def list_users(self, db: Db, filters: UserFilters, page: PageRequest) -> UserPage:
        """Coordinators and admins. Lists the users who have signed in at least once, filtered by team, role or
        active state, in pages (keyset `cursor`)."""
        return await service.list_users(db, filters, page)

    @read_route(
        "/{user_id:uuid}",
        operation_id="GetUser",
        summary="One user, with its ETag",
        etag=True,
    )
    async def get_user(self, db: Db, user_id: FromPath[UUID], if_none_match: IfNoneMatch = None) -> Response[User]:
        """Coordinators and admins. One user with their roles, regimes and teams; the ETag is what DeactivateUser
        and ActivateUser need in If-Match (304 to a current If-None-Match). 404 when no such user exists."""
        user = await service.get_user(db, user_id)
        return commands.with_etag(user)

    @command_route(
        "/{user_id:uuid}/deactivate",
        operation_id="DeactivateUser",
        summary="Deactivate a user: their tokens are refused from now on",
        roles=("admin",),
    )
    async def deactivate(
        self, user_id: FromPath[UUID], data: JSONBody[ActivationChange], command: Command
    ) -> Response[User]:
        """Admins. Refuses the user's tokens from now on (in every worker at once), with a reason that is audited.
        If-Match is required: 428 without it, 412 when the user changed since you read it."""
        return await self._set_active(command, user_id, data, active=False)

    @command_route(
        "/{user_id:uuid}/activate",
        operation_id="ActivateUser",
        summary="Activate a deactivated user again",
        roles=("admin",),
    )
    async def activate(
        self, user_id: FromPath[UUID], data: JSONBody[ActivationChange], command: Command
    ) -> Response[User]:
        """Admins. Accepts a deactivated user's tokens again, with a reason that is audited. If-Match is required:
        428 without it, 412 when the user changed since you read it."""
        return await self._set_active(command, user_id, data, active=True)

    async def _set_active(
        self, command: Command, user_id: UUID, data: ActivationChange, *, active: bool
    ) -> Response[User]:
        async def set_active(
            tx: asyncpg.Connection, principal: Principal, *, version: int, request_id: str | None
        ) -> User:
            user = await service.set_active(
                tx,
                principal,
                user_id=user_id,
                version=version,
                active=active,
                reason=data.reason,
                request_id=request_id,
            )
            command.request.app.state.principal_directory.forget(str(user_id))
            return user

        return await command.run(set_active)
