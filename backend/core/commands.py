"""Commands on versioned resources: one way for a route to take If-Match and Idempotency-Key and answer with
the resource and its ETag.

A command checks If-Match before anything runs (428 without it, 412 when it is not an ETag), runs at most once
per Idempotency-Key (see `idempotency`), and answers with the resource, its ETag and, for a 201, its Location,
so that a replay carries the same headers as the first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import asyncpg
from litestar import Request, Response

from backend.core.auth import Principal
from backend.core.concurrency import etag, required_version
from backend.core.idempotency import run_once


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
    request: Request[Principal, Any, Any],
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
    request: Request[Principal, Any, Any],
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
