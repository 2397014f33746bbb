"""Checks every request passes before its handler runs.

- Request bodies must say what they are: a JSON endpoint refuses anything but JSON with 415. Litestar
  parses a JSON body whatever its Content-Type says; we do not want a form post or a text/plain body
  taken as JSON. Routes that accept other types (e.g. photo uploads) list them in `opt={"accepts": [...]}`.
- Query parameters must not hold NUL characters: PostgreSQL text cannot store them, so they would
  otherwise surface as a database error instead of a clear 422 naming the parameter.
- Query parameters must be ones the operation defines: a misspelt filter (`?q=` for `?name=`) would
  otherwise be ignored and the answer look filtered when it is not (400 naming each one).
- A JSON body may nest arrays and objects at most MAX_JSON_DEPTH deep (400 `body_too_deep`), checked
  before it is decoded: a decoder recurses per level, so deeper input would exhaust the stack.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any
from weakref import WeakKeyDictionary

from litestar import Request
from litestar.handlers import HTTPRouteHandler

from backend.core.errors import ApiError, BadRequest, FieldError, Unprocessable

JSON_TYPES = ("application/json",)
# Our deepest documents (checklist templates with nested conditions) nest about 10 levels.
MAX_JSON_DEPTH = 64
# At most this many unknown parameters are named in one answer; a long parameter name is cut short.
_MAX_NAMED, _MAX_NAME_LENGTH = 20, 100


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


async def check_request(request: Request[Any, Any, Any]) -> None:
    scope = request.scope
    # Most requests are a GET without a query: they pass with two lookups (tests/bench/bench_http.py).
    if scope["query_string"] or "\x00" in scope["path"]:
        _refuse_nul_in_query(request)
        _refuse_undeclared_query_parameters(request)
    if scope["method"] in _BODY_METHODS and _require_declared_content_type(request) in JSON_TYPES:
        await _refuse_deep_json(request)


def _refuse_nul_in_query(request: Request[Any, Any, Any]) -> None:
    if b"%00" not in request.scope["query_string"] and "\x00" not in request.scope["path"]:
        return
    errors = [
        FieldError(detail="must not contain NUL characters", parameter=name)
        for name, values in request.query_params.dict().items()
        if any("\x00" in value for value in values)
    ] or [FieldError(detail="must not contain NUL characters", parameter="path")]
    raise Unprocessable("The request has invalid fields.", errors=errors)


def _refuse_undeclared_query_parameters(request: Request[Any, Any, Any]) -> None:
    if not request.scope["query_string"]:
        return
    unknown = sorted(set(request.query_params) - _declared_query_parameters(request.route_handler, request.path_params))
    if unknown:
        raise BadRequest(
            "The request has query parameters this operation does not define.",
            code="unknown_parameter",
            errors=[
                FieldError(detail="not a parameter of this operation", parameter=name[:_MAX_NAME_LENGTH])
                for name in unknown[:_MAX_NAMED]
            ],
        )


_QUERY_PARAMETERS: WeakKeyDictionary[HTTPRouteHandler, frozenset[str]] = WeakKeyDictionary()


def _declared_query_parameters(handler: HTTPRouteHandler, path_params: dict[str, Any]) -> frozenset[str]:
    """The query parameter names a handler (with its dependencies) reads, as Litestar resolves them."""
    names = _QUERY_PARAMETERS.get(handler)
    if names is None:
        model = handler.create_kwargs_model(path_parameters=path_params)  # only the names are used
        names = _QUERY_PARAMETERS[handler] = frozenset(param.field_alias for param in model.expected_query_params)
    return names


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _require_declared_content_type(request: Request[Any, Any, Any]) -> str | None:
    """The body's media type, as the route takes it (JSON for `application/json` and `+json`); None without a body."""
    if not _has_body(request):
        return None
    accepted = request.route_handler.opt.get("accepts", JSON_TYPES)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in accepted:
        return media_type
    if tuple(accepted) == JSON_TYPES and media_type.endswith("+json"):
        return JSON_TYPES[0]
    raise UnsupportedMediaType(f"Send the body as {' or '.join(accepted)}.")


async def _refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    body = await request.body()  # kept for the handler's decoding
    # A body with fewer opening brackets than the limit cannot nest deeper: most bodies stop here.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.", code="body_too_deep")


_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in JSON text, without decoding it (linear, in C-speed steps).

    Escapes go first, so every quote left delimits a string; the text outside strings is then every other
    piece between quotes. For malformed text the count holds up to the first error, which is as far as a
    decoder gets."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, outside_strings.translate(None, _NOT_BRACKETS))), default=0)


def _has_body(request: Request[Any, Any, Any]) -> bool:
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or (length is not None and length.strip() not in {"", "0"})
