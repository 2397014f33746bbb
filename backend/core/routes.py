"""Route decorators for the three shapes of endpoint every feature has: a list, a read of one resource, and a
command. Each states once which problems its shape may answer (core.openapi) and turns the roles allowed into
a guard, so a controller names only what is its own: path, operation id, summary and roles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar import get, post
from litestar.handlers import HTTPRouteHandler

from backend.core.auth import requires_role
from backend.core.openapi import COMMAND, ETAG_HEADER, LIST, NOT_MODIFIED, READ_ONE, problem_responses
from backend.core.query_groups import Handler, spread_query_groups


def _guards(roles: Sequence[str]) -> list[Any] | None:
    """No roles: any authenticated user (authentication itself is the middleware's)."""
    return [requires_role(*roles)] if roles else None


def list_route(
    path: str | None = None,
    *,
    operation_id: str,
    summary: str,
    roles: Sequence[str] = (),
    problems: Sequence[int] = (),
    **options: Any,
) -> Callable[[Handler], HTTPRouteHandler]:
    """GET of a list (keyset pages or a worklist), answering besides a list's problems those of `problems` (e.g.
    404 for a list of one thing's parts). Its filters and page may be query groups (core.query_groups)."""
    route = get(
        path,
        operation_id=operation_id,
        summary=summary,
        guards=_guards(roles),
        responses=problem_responses(*LIST, *problems),
        **options,
    )
    return lambda handler: route(spread_query_groups(handler))


def read_route(
    path: str | None = None,
    *,
    operation_id: str,
    summary: str,
    roles: Sequence[str] = (),
    etag: bool = False,
    **options: Any,
) -> HTTPRouteHandler:
    """GET of one resource. With `etag` it documents its ETag and the 304 that answers a current If-None-Match."""
    responses = problem_responses(*READ_ONE)
    if etag:
        responses |= NOT_MODIFIED
        options["response_headers"] = ETAG_HEADER
    return get(path, operation_id=operation_id, summary=summary, guards=_guards(roles), responses=responses, **options)


def command_route(
    path: str | None = None,
    *,
    operation_id: str,
    summary: str,
    roles: Sequence[str] = (),
    status_code: int = 200,
    method: type[HTTPRouteHandler] = post,
    **options: Any,
) -> HTTPRouteHandler:
    """A write (POST unless `method` says otherwise), answering 200 unless `status_code` says otherwise (a POST
    would default to 201, which only a create answers)."""
    return method(
        path,
        operation_id=operation_id,
        summary=summary,
        guards=_guards(roles),
        status_code=status_code,
        responses=problem_responses(*COMMAND),
        **options,
    )
