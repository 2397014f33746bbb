"""OPTIONS, HEAD and the `Allow` header, the same for every path, from the router's own table of routes.

- OPTIONS answers 204 with `Allow` for anyone: without a token and for every role. It says only which
  methods a path has, as the public OpenAPI document does. A CORS preflight (OPTIONS with `Origin`) is
  answered by the CORS layer before it gets here.
- HEAD works wherever GET does (RFC 9110, 9.3.2): the GET runs as usual (authentication, roles, audit)
  and its status and headers are sent without the body.
- `Allow` (on OPTIONS and on 405) lists every method of the path, HEAD with GET, and OPTIONS.

Litestar answers OPTIONS per group of handlers rather than per path, runs a controller's guards for it
(a 500 before the principal exists), and has no HEAD for a GET; hence this layer in front of the router.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send
from litestar.utils import normalize_path

if TYPE_CHECKING:
    from litestar._asgi.asgi_router import ASGIRouter

# No route has this method, so asking the router for it makes it name the methods the path does have.
_NO_SUCH_METHOD = "LIST-ALLOWED-METHODS"


def allow_header(methods: Iterable[str]) -> str:
    """The `Allow` value for a path with these methods: HEAD wherever GET is, and always OPTIONS."""
    allowed = {method.strip().upper() for method in methods if method.strip()} | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


class HttpMethods:
    """In front of the rate limit, authentication and router: answers OPTIONS, runs HEAD as GET without the body."""

    def __init__(self, app: ASGIApp, router: ASGIRouter) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] != ScopeType.HTTP or method not in {"OPTIONS", "HEAD"}:
            await self.app(scope, receive, send)
            return
        methods = self.methods_of(scope["path"])
        if method == "HEAD":
            # Any answer to HEAD goes without its body (a 404 or 405 too). A copy of the scope: the access
            # log (outside) still records the request as HEAD.
            as_get = methods is not None and "GET" in methods and "HEAD" not in methods
            await self.app({**scope, "method": "GET"} if as_get else scope, receive, _without_body(send))
        elif methods is None:  # no such path: the router answers 404
            await self.app(scope, receive, send)
        else:
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", allow_header(methods).encode())],
            }
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(start)
            await send(body)

    def methods_of(self, path: str) -> list[str] | None:
        """The methods the router has for `path`, or None when it has no such path."""
        try:
            self.router.handle_routing(path=normalize_path(path), method=_NO_SUCH_METHOD)
        except MethodNotAllowedException as exc:
            return [method.strip() for method in (exc.headers or {}).get("allow", "").split(",")]
        except NotFoundException:
            return None
        return None  # a mount answering any method: not ours to describe


def _without_body(send: Send) -> Send:
    """Passes the response start (status, headers, Content-Length) on and replaces the body by one empty one."""

    async def send_head(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return send_head
