"""Per-client request rate limit for the whole app (off unless TOEZICHT_RATE_LIMIT_PER_MINUTE is set).

Litestar's RateLimitMiddleware, placed before authentication so refused tokens count too (that is where
guessing happens). Its 429 is raised outside the router, so we turn it into our problem+json here, with
`Retry-After`: the seconds until the window resets (Litestar's `RateLimit-Reset`).
The count is per worker process (in-memory store); a reverse proxy is the place for a shared limit.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import error_response

WINDOW_S = 60


class _BeforeRouting(RateLimitMiddleware):
    def cache_key_from_request(self, request: Request[Any, Any, Any]) -> str:
        # The parent adds route-handler traits to the key; before routing there is no handler yet.
        return f"rate-limit::{self.get_identifier_for_request(request)}"


class RateLimit:
    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.limited = _BeforeRouting(app, RateLimitConfig(rate_limit=("minute", per_minute)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.limited(scope, receive, send)
        except TooManyRequestsException as exc:
            headers = exc.headers or {}
            exc.headers = {**headers, "Retry-After": str(max(1, int(headers.get("RateLimit-Reset", WINDOW_S))))}
            await error_response(scope, exc)(scope, receive, send)
