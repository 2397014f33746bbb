"""CORS for the back-office web app (only for the origins in TOEZICHT_CORS_ORIGINS).

Litestar's CORS handling, placed around the whole app (create_app puts it outside the rate limit and
authentication), so a browser can read every answer, a 401 or 429 included. The web app may read the
headers it needs beyond the always-readable ones: validators for If-Match/If-None-Match, where a create put
its resource, correlation, when to retry, replays, downloads, the methods of a path, the token challenge and
the rate-limit state. A refused preflight is problem+json like every other error.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware._internal.cors import CORSMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import problem_response

EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "X-Request-ID",
    "Retry-After",
    "Idempotent-Replayed",
    "Content-Disposition",
    "Allow",
    "WWW-Authenticate",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
]


class Cors(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        super().__init__(app, CORSConfig(allow_origins=list(origins), expose_headers=EXPOSED_HEADERS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers.from_scope(scope)
        origin = headers.get("origin")
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS" or not origin:
            await super().__call__(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope)
        response: Any = self._create_preflight_response(origin=origin, request_headers=headers)
        if response.status_code >= 400:  # Litestar says "Disallowed CORS Origin" (or method, headers) in plain text
            response = problem_response(request, 400, "cors_refused", f"{response.content}.")
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)
