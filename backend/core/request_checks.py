"""Checks every request passes before its handler runs.

- Request bodies must say what they are: a JSON endpoint refuses anything but JSON with 415. Litestar
  parses a JSON body whatever its Content-Type says; we do not want a form post or a text/plain body
  taken as JSON. Routes that accept other types (e.g. photo uploads) list them in `opt={"accepts": [...]}`.
- Query parameters must not hold NUL characters: PostgreSQL text cannot store them, so they would
  otherwise surface as a database error instead of a clear 422 naming the parameter.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.core.errors import ApiError, FieldError, Unprocessable

JSON_TYPES = ("application/json",)


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


async def check_request(request: Request[Any, Any, Any]) -> None:
    _refuse_nul_in_query(request)
    _require_declared_content_type(request)


def _refuse_nul_in_query(request: Request[Any, Any, Any]) -> None:
    if b"%00" not in request.scope["query_string"] and "\x00" not in request.scope["path"]:
        return
    errors = [
        FieldError(detail="must not contain NUL characters", parameter=name)
        for name, values in request.query_params.dict().items()
        if any("\x00" in value for value in values)
    ] or [FieldError(detail="must not contain NUL characters", parameter="path")]
    raise Unprocessable("The request has invalid fields.", errors=errors)


def _require_declared_content_type(request: Request[Any, Any, Any]) -> None:
    if request.method not in {"POST", "PUT", "PATCH"} or not _has_body(request):
        return
    accepted = request.route_handler.opt.get("accepts", JSON_TYPES)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in accepted and not (JSON_TYPES == tuple(accepted) and media_type.endswith("+json")):
        raise UnsupportedMediaType(f"Send the body as {' or '.join(accepted)}.")


def _has_body(request: Request[Any, Any, Any]) -> bool:
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or (length is not None and length.strip() not in {"", "0"})
