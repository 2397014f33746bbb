"""The headers every response gets, decided in one place: who may keep a copy (Cache-Control) and what a
browser may do with it (nosniff, framing, the docs page's Content-Security-Policy).

Cache-Control, unless the handler chose one itself (e.g. an immutable checklist version, a sync page):
- under /api/ (every response there is personal or answers a token): a GET or HEAD answered with an ETag
  (200, or 304 to If-None-Match) gets `private, no-cache`: the client keeps its copy and revalidates it, shared
  caches keep nothing. Everything else there, errors included, gets `no-store`.
- elsewhere (health, the OpenAPI document, the docs page): `no-cache`; nothing there is personal, but it
  must be fresh. The vendored docs assets name their version in the path and are `immutable` (core/docs.py).
Every response: `X-Content-Type-Options: nosniff`. HTML: a Content-Security-Policy that allows only the
service's own scripts, styles, images and requests and no framing, plus `X-Frame-Options: DENY` for browsers
that predate `frame-ancestors`. The console (/console/) gets its own policy: it also shows photos and letters it
fetched with the user's token (blob: URLs) and may send the browser to the identity provider (a navigation,
which no directive governs), but it still runs only its own script files and talks only to this service.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

PERSONAL_PREFIX = "/api/"
REVALIDATE = b"private, no-cache"
NO_STORE = b"no-store"
PUBLIC_FRESH = b"no-cache"
# Swagger UI sets some styles from script (CSSOM, which style-src does not govern) and its stylesheet embeds
# icons as data: URIs; nothing needs an inline script or another host.
HTML_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    b"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CONSOLE_PREFIX = "/console/"


def console_policy(token_url: str | None = None) -> bytes:
    """The console's policy. With an identity provider (oidc mode) the page also posts the authorization code to
    its token endpoint, so that one origin joins connect-src; the page still talks to no other host."""
    connect = "'self'" + (f" {_origin(token_url)}" if token_url else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src {connect}; font-src 'self'; frame-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ).encode()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_SAFE_METHODS = {"GET", "HEAD"}


class ResponseHeadersMiddleware:
    def __init__(self, app: ASGIApp, console: bytes | None = None) -> None:
        self.app = app
        self.console = console or console_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(
            scope, receive, _SendWithPolicy(scope, send, self.console) if scope["type"] == ScopeType.HTTP else send
        )


class _SendWithPolicy:
    def __init__(self, scope: HTTPScope, send: Send, console: bytes) -> None:
        self.send = send
        self.personal = scope["path"].startswith(PERSONAL_PREFIX)
        self.safe = scope["method"] in _SAFE_METHODS
        self.html_policy = console if scope["path"].startswith(CONSOLE_PREFIX) else HTML_POLICY

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            message["headers"] = with_policy_headers(
                headers, message["status"], self.personal, self.safe, self.html_policy
            )
        await self.send(message)


def with_policy_headers(
    headers: list[tuple[bytes, bytes]], status: int, personal: bool, safe: bool, html_policy: bytes = HTML_POLICY
) -> list[tuple[bytes, bytes]]:
    present = {name.lower(): value for name, value in headers}
    if b"cache-control" not in present:
        headers.append((b"cache-control", _cache_control(present, status, personal, safe)))
    if b"x-content-type-options" not in present:
        headers.append((b"x-content-type-options", b"nosniff"))
    if present.get(b"content-type", b"").startswith(b"text/html") and b"content-security-policy" not in present:
        headers.append((b"content-security-policy", html_policy))
        headers.append((b"x-frame-options", b"DENY"))
    return headers


def _cache_control(present: dict[bytes, bytes], status: int, personal: bool, safe: bool) -> bytes:
    if not personal:
        return PUBLIC_FRESH
    if safe and status in (200, 304) and b"etag" in present:
        return REVALIDATE
    return NO_STORE
