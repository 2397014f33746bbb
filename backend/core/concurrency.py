"""Optimistic concurrency for mutable back-office resources.

Every such row has a `version` integer. Reads send it as a strong ETag; writes must send it back in
If-Match (428 without it, 412 when stale). The UPDATE itself checks the version (`... WHERE id = $1 AND
version = $2`), so the check and the write are one atomic step.

Reads are conditional for every resource alike: `NotModified` turns a GET's 200 into 304 without a body when
its ETag matches the request's If-None-Match, so a route only has to send its ETag.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Response
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.errors import PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def required_version(header: str | None) -> int:
    """The version the client says it is changing, from its If-Match header."""
    if header is None:
        raise PreconditionRequired("Send If-Match with the ETag you read; this resource may have changed.")
    match = _ETAG.match(header.strip())
    if not match:
        raise PreconditionFailed("If-Match must be one ETag as returned by a read of this resource.")
    return int(match.group(1))


def stale(current_version: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The resource changed since you read it (now at version {current_version}); read it again.",
        code="stale_version",
    )


def not_modified(if_none_match: str | None, current: str) -> bool:
    """RFC 9110 If-None-Match: '*' or a list of (possibly weak) entity tags, compared weakly."""
    if if_none_match is None:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == current for tag in tags)


def conditional_response(body: Any, etag_value: str, if_none_match: str | None, cache_control: str) -> Response[Any]:
    """The body with its ETag, or 304 without a body when the client's copy is current (conditional GET)."""
    headers = {"ETag": etag_value, "Cache-Control": cache_control}
    if not_modified(if_none_match, etag_value):
        return Response(content=None, status_code=304, headers=headers)
    return Response(body, headers=headers)


# A 304 carries the headers a 200 would (ETag, Cache-Control, Vary, ...), except those that describe its body.
_BODY_HEADERS = frozenset({b"content-length", b"content-type", b"content-encoding"})


class NotModified:
    """Answers a GET whose If-None-Match names the ETag of the response with 304 and no body (RFC 9110 13.1.2)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if_none_match = (
            _header(scope, b"if-none-match") if scope["type"] == ScopeType.HTTP and scope["method"] == "GET" else None
        )
        if if_none_match is None:
            await self.app(scope, receive, send)
            return
        unchanged = False

        async def send_conditionally(message: Message) -> None:
            nonlocal unchanged
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = message.get("headers", [])
                current = next((value.decode("latin-1") for name, value in headers if name.lower() == b"etag"), None)
                unchanged = current is not None and not_modified(if_none_match, current)
                if unchanged:
                    kept = [(name, value) for name, value in headers if name.lower() not in _BODY_HEADERS]
                    message = {**message, "status": 304, "headers": kept}
            elif unchanged and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, send_conditionally)


def _header(scope: Scope, name: bytes) -> str | None:
    # A plain loop: every GET passes here, and a generator expression costs it more than the search.
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
