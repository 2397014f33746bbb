"""Who is calling: the authentication middleware, the Principal it produces, and guards.

The middleware verifies the bearer token (core.tokens), then asks the users feature to turn the claims
into a Principal (it keeps the user record in step with the token and refuses deactivated users).
Route guards check roles; services check each object with the helpers here, answering 404 for objects
the caller may not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from backend.core.errors import Forbidden, NotFound, Unauthorized
from backend.core.tokens import Claims, TokenVerifier



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


# Called with the verified claims and the request id (recorded on audit events the resolution writes).
PrincipalResolver = Callable[[Claims, str | None], Awaitable[Principal]]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = _authorization_header(connection.scope)
        if not header:
            raise Unauthorized("A bearer token is required.", code="token_missing")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use the Authorization: Bearer <token> scheme.", code="token_malformed")
        state = connection.app.state
        verifier: TokenVerifier = state.token_verifier
        claims = await verifier.verify(token.strip())
        resolve: PrincipalResolver = state.resolve_principal
        principal = await resolve(claims, connection.scope["state"].get("request_id"))
        connection.scope["state"]["user_id"] = str(principal.user_id)
        return AuthenticationResult(user=principal, auth=claims)


def _authorization_header(scope: Any) -> str | None:
    """The first Authorization header, read from the ASGI scope as `Headers.get` would: building the
    full Headers mapping cost more than checking a known token (tests/bench/bench_http.py)."""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return connection.scope["user"]


def requires_role(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A route guard: the caller must hold at least one of `roles` (403 otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not principal_of(connection).has_role(*roles):
            raise Forbidden("Your role does not allow this action.")

    guard.__name__ = f"requires_role_{'_'.join(roles)}"
    return guard


def ensure_regime_visible(principal: Principal, regime: str) -> None:
    """Object-level check for services: an object of a regime the caller may not see does not exist."""
    if not principal.sees_regime(regime):
        raise NotFound("Not found.")

