"""Who is calling: the authentication middleware, the Principal it produces, and guards.

The middleware verifies the bearer token (core.tokens), then asks the users feature to turn the claims
into a Principal (it keeps the user record in step with the token and refuses deactivated users).
Route guards check roles; services check each object with the helpers here, answering 404 for objects
the caller may not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any, Protocol
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection, Request
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import Forbidden, NotFound, Unauthorized, error_response
from backend.core.tokens import Claims, TokenVerifier

PROTECTED_PREFIX = "/api/"


class Principal(msgspec.Struct, frozen=True):
    user_id: UUID
    subject: str
    issuer: str
    roles: frozenset[str]
    regimes: frozenset[str]
    teams: frozenset[str]
    display_name: str | None = None

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def sees_regime(self, regime: str) -> bool:
        return regime in self.regimes

    def sees_any_regime(self, regimes: Iterable[str]) -> bool:
        return not self.regimes.isdisjoint(regimes)


# The request every /api/ handler receives: its user is the authenticated caller.
AuthRequest = Request[Principal, Any, Any]


class Principals(Protocol):
    """Turns verified claims into the caller (the users feature's directory, put in the app's state at start)."""

    def known(self, claims: Claims) -> Principal | None:
        """The caller when it is at hand without a database round trip, else None."""

    async def resolve(self, claims: Claims, request_id: str | None) -> Principal:
        """The caller, looked up or registered; the request id goes on audit events the registration writes."""


class BearerAuthMiddleware:
    """Authenticates every request under /api/ before it reaches the router.

    A plain ASGI middleware around the whole app rather than Litestar's per-route authentication
    middleware: one layer fewer on every request (tests/bench/bench_http.py), and unknown /api/ paths
    answer 401 to a caller without a token instead of telling them which routes exist. Health and the
    OpenAPI docs are public; CORS preflight (OPTIONS) carries no token by design.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith(PROTECTED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        try:
            token = _bearer_token(scope)
            # Item access: the State's attribute access first fails a normal lookup, which costs several times more.
            state = scope["litestar_app"].state
            verifier: TokenVerifier = state["token_verifier"]
            principals: Principals = state["principal_directory"]
            # A token and caller seen before are answered from memory, without even an await.
            claims = verifier.known(token) or await verifier.verify(token)
            principal = principals.known(claims) or await principals.resolve(claims, scope["state"].get("request_id"))
        except Exception as exc:  # refused, or the user store is unreachable: answer as the app would
            await error_response(scope, exc)(scope, receive, send)
            return
        scope["user"], scope["auth"] = principal, claims
        _caller.set(principal)  # each request runs in a task of its own, so in a context of its own
        scope["state"]["user_id"] = principal.user_id  # for the access log, which writes it as text
        await self.app(scope, receive, send)


def _bearer_token(scope: Scope) -> str:
    header = _authorization_header(scope)
    if not header:
        raise Unauthorized("A bearer token is required.", code="token_missing")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use the Authorization: Bearer <token> scheme.", code="token_malformed")
    return token


def _authorization_header(scope: Scope) -> str | None:
    """The first Authorization header, read from the ASGI scope: building Litestar's Headers mapping
    cost more than checking a known token (tests/bench/bench_http.py)."""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def principal_of(connection: ASGIConnection[Any, Principal, Any, Any]) -> Principal:
    return connection.user


_caller: ContextVar[Principal] = ContextVar("caller")


def current_principal() -> Principal:
    """The authenticated caller of the request being handled, for a handler that takes no parameters: any
    handler parameter, even `request`, makes Litestar build and validate a signature model per request, which
    costs a small GET about a tenth of its CPU (tests/bench/bench_http.py). Only valid under /api/, where
    BearerAuthMiddleware has authenticated the request before any handler runs."""
    return _caller.get()


def requires_role(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A route guard: the caller must hold at least one of `roles` (403 otherwise). A coroutine function,
    because Litestar runs a plain function guard in a worker thread: a thread hop per request for a set lookup."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal_of(connection).has_role(*roles):
            raise Forbidden("Your role does not allow this action.")

    guard.__name__ = f"requires_role_{'_'.join(roles)}"
    return guard


def ensure_regime_visible(principal: Principal, regime: str) -> None:
    """Object-level check for services: an object of a regime the caller may not see does not exist."""
    if not principal.sees_regime(regime):
        raise NotFound("Not found.")
