"""The back-office console at /console/: static HTML, CSS and JavaScript modules (backend/static/console/) that
call only /api/v1 with the signed-in user's token, plus what the page needs before anyone is signed in.

- /console/config.json: how to sign in. In oidc mode the identity provider's public client id and endpoints
  (Authorization Code with PKCE, run by the browser); in dev mode that the demo sign-in is available.
- /console/dev/users and /console/dev/token: the demo users and a token for one of them. They exist only when
  TOEZICHT_AUTH_MODE=dev; otherwise they answer 404, as any unknown path does.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody
from litestar.static_files import create_static_files_router
from msgspec import Meta

from backend.core.config import Settings
from backend.core.docs import STATIC_DIR
from backend.core.errors import NotFound
from backend.core.tokens import load_or_create_dev_key, mint_dev_token
from backend.demo import DEMO_USERS

CONSOLE_DIR = STATIC_DIR / "console"
VENDOR_DIR = STATIC_DIR / "vendor"
DEV_TOKEN_TTL_S = 8 * 3600  # a working day


class ConsoleConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    auth_mode: Literal["dev", "oidc"]
    client_id: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    scope: str | None = None


class DemoUser(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    name: str
    roles: list[str]
    regimes: list[str]


class DemoUserList(msgspec.Struct, frozen=True):
    items: list[DemoUser]


class DevTokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    subject: Annotated[str, Meta(min_length=1, max_length=100)]


class DevToken(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int


class ConsoleController(Controller):
    path = "/console"
    include_in_schema = False
    opt = {"exclude_from_auth": True}

    @get("/config.json", sync_to_thread=False, cache_control=CacheControlHeader(no_cache=True))
    def config(self, request: Request[Any, Any, Any]) -> ConsoleConfig:
        settings: Settings = request.app.state.settings
        if settings.auth_mode == "dev":
            return ConsoleConfig(auth_mode="dev")
        return ConsoleConfig(
            auth_mode="oidc",
            client_id=settings.oidc_client_id,
            scope=settings.oidc_scope,
            authorization_endpoint=settings.oidc_authorization_url,
            token_endpoint=settings.oidc_token_url,
        )

    @get("/dev/users", sync_to_thread=False)
    def demo_users(self, request: Request[Any, Any, Any]) -> DemoUserList:
        _require_dev_mode(request)
        return DemoUserList(
            [
                DemoUser(subject=sub, name=name, roles=roles, regimes=regimes)
                for _, sub, name, roles, regimes, _ in DEMO_USERS
            ]
        )

    @post("/dev/token", status_code=200, sync_to_thread=True, cache_control=CacheControlHeader(no_store=True))
    def dev_token(self, request: Request[Any, Any, Any], data: JSONBody[DevTokenRequest]) -> DevToken:
        settings = _require_dev_mode(request)
        user = next((user for user in DEMO_USERS if user[1] == data.subject), None)
        if user is None:
            raise NotFound("There is no demo user with this subject.", code="demo_user_not_found")
        _, sub, name, roles, regimes, teams = user
        now = int(time.time())
        claims = {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + DEV_TOKEN_TTL_S,
            "roles": roles,
            "regimes": regimes,
            "teams": teams,
            "name": name,
        }
        token = mint_dev_token(load_or_create_dev_key(settings.dev_signing_key_path), claims)
        return DevToken(access_token=token, token_type="Bearer", expires_in=DEV_TOKEN_TTL_S)


def _require_dev_mode(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    if settings.auth_mode != "dev":
        raise NotFound("Not found.", code="not_found")
    return settings


def console_assets() -> list[Router]:
    """The console's own files (index.html at /console/) and the vendored CSS, whose path names its version."""
    pages = create_static_files_router(
        path="/console",
        directories=[CONSOLE_DIR],
        html_mode=True,
        name="console",
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
    )
    vendor = create_static_files_router(
        path="/console/vendor",
        directories=[VENDOR_DIR],
        name="console_vendor",
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        include_in_schema=False,
    )
    return [vendor, pages]
