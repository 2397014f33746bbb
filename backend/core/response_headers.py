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
Headers = list[tuple[bytes, bytes]]


class ResponsePolicy:
    """Adds these headers to a response as it starts, by the request's method and path as they came in (the
    router rewrites the scope's path for mounted apps). RequestContextMiddleware calls it for every response, so
    that one layer rather than two wraps every request's messages (tests/bench/bench_http.py)."""

    def __init__(self, console: bytes | None = None) -> None:
        self.console = console or console_policy()

    def __call__(self, method: str, path: str, status: int, headers: Headers) -> Headers:
        return with_policy_headers(
            headers,
            status,
            personal=path.startswith(PERSONAL_PREFIX),
            safe=method in _SAFE_METHODS,
            html_policy=self.console if path.startswith(CONSOLE_PREFIX) else HTML_POLICY,
        )


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
