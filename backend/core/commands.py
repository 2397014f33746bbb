"""Commands on versioned resources: one way for a route to take If-Match and Idempotency-Key and answer with
the resource and its ETag.

A command checks If-Match before anything runs (428 without it, 412 when it is not an ETag), runs at most once
per Idempotency-Key (see `idempotency`), and answers with the resource, its ETag and, for a 201, its Location,
so that a replay carries the same headers as the first answer.

A route that changes a versioned resource declares `command: Command`, one that creates a resource
`creation: Creation`: the app provides them (`provide_command`, `provide_creation`) from the request, its
transaction and the headers they take, which the document then shows for that route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import asyncpg
from litestar import Response
from litestar.di import NamedDependency

from backend.core.auth import AuthRequest
from backend.core.concurrency import etag, required_version
from backend.core.db import Tx
from backend.core.idempotency import run_once
from backend.core.logging import request_id_of
from backend.core.openapi import IdempotencyKey, IfMatch


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)
T = TypeVar("T")


def versioned(value: T, version: int, status: int = 200, location: str | None = None) -> Response[T]:
    """`value` with the ETag of `version` (and its Location when one is given)."""
    headers = {"ETag": etag(version)}
    if location:
        headers["Location"] = location
    return Response(value, status_code=status, headers=headers)


def with_etag(value: V, status: int = 200, location: str | None = None) -> Response[V]:
    """A resource with its own version as ETag."""
    return versioned(value, value.version, status, location)


async def create(
    request: AuthRequest,
    tx: asyncpg.Connection,
    idempotency_key: str | None,
    make: Callable[[], Awaitable[V]],
    location: Callable[[V], str],
) -> Response[Any]:
    """Create a resource at most once per Idempotency-Key: 201 with its Location and ETag."""

    async def command() -> Response[V]:
        created = await make()
        return with_etag(created, 201, location(created))

    return await run_once(request, tx, command, raw_key=idempotency_key)


async def change(
    request: AuthRequest,
    tx: asyncpg.Connection,
    if_match: str | None,
    idempotency_key: str | None,
    apply: Callable[[int], Awaitable[Any]],
    respond: Callable[[Any], Response[Any]] = with_etag,
) -> Response[Any]:
    """Apply a change to the version named in If-Match, at most once per Idempotency-Key. `apply` gets that
    version and returns the changed resource; `respond` shapes the answer (by default 200 with its ETag)."""
    version = required_version(if_match)

    async def command() -> Response[Any]:
        return respond(await apply(version))

    return await run_once(request, tx, command, raw_key=idempotency_key)


@dataclass(frozen=True)
class ChangeCommand:
    """A change as a route receives it: the caller's request, its transaction, If-Match and Idempotency-Key."""

    request: AuthRequest
    tx: asyncpg.Connection
    if_match: str | None
    idempotency_key: str | None

    async def run(
        self,
        service_change: Callable[..., Awaitable[Any]],
        *args: Any,
        respond: Callable[[Any], Response[Any]] = with_etag,
        **options: Any,
    ) -> Response[Any]:
        """`service_change(tx, user, *args, version=<If-Match>, request_id=..., **options)` as a command (`change`):
        the way every service function that changes a versioned resource is called."""
        return await change(
            self.request,
            self.tx,
            self.if_match,
            self.idempotency_key,
            lambda version: service_change(
                self.tx,
                self.request.user,
                *args,
                version=version,
                request_id=request_id_of(self.request),
                **options,
            ),
            respond,
        )


@dataclass(frozen=True)
class CreateCommand:
    """A create as a route receives it: the caller's request, its transaction and Idempotency-Key."""

    request: AuthRequest
    tx: asyncpg.Connection
    idempotency_key: str | None

    async def run(
        self,
        service_create: Callable[..., Awaitable[Any]],
        *args: Any,
        location: Callable[[Any], str],
        **options: Any,
    ) -> Response[Any]:
        """`service_create(tx, user, *args, request_id=..., **options)` as a create (`create`): 201 at `location`
        of what it made."""
        return await create(
            self.request,
            self.tx,
            self.idempotency_key,
            lambda: service_create(
                self.tx, self.request.user, *args, request_id=request_id_of(self.request), **options
            ),
            location,
        )


# Handler parameter types; the parameter's name picks its provider (app.py): `command: Command` for a change
# (If-Match and Idempotency-Key), `replacement: Replacement` for a PUT that replaces a resource (If-Match only:
# the PUT itself is idempotent), `creation: Creation` for a create (Idempotency-Key).
Command = NamedDependency[ChangeCommand]
Replacement = NamedDependency[ChangeCommand]
Creation = NamedDependency[CreateCommand]


async def provide_command(
    request: AuthRequest, tx: Tx, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> ChangeCommand:
    return ChangeCommand(request, tx, if_match, idempotency_key)


async def provide_replacement(request: AuthRequest, tx: Tx, if_match: IfMatch = None) -> ChangeCommand:
    return ChangeCommand(request, tx, if_match, None)


async def provide_creation(request: AuthRequest, tx: Tx, idempotency_key: IdempotencyKey = None) -> CreateCommand:
    return CreateCommand(request, tx, idempotency_key)
