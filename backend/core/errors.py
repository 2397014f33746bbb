"""Errors as RFC 9457 problem+json, with a stable `code` clients can switch on.

Our code raises `ApiError` subclasses; the framework raises `HTTPException`s; the database raises
asyncpg errors; anything else is a bug. Each path ends in `problem_response`, and no response ever
carries a stack trace, SQL text, or token.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from backend.core.http_methods import allow_header
from backend.core.logging import client_disconnected, request_id_of

log = structlog.get_logger("toezicht.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://toezicht.example/problems/"


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One bad input: `pointer` (RFC 6901) into the JSON body, or the name of a parameter."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ApiError(Exception):
    status: int = 400
    code: str = "bad_request"
    headers: dict[str, str] = {}
    # A problem type another specification defines (its URI replaces ours) and the members it adds.
    type_uri: str | None = None
    members: dict[str, Any] = {}

    def __init__(self, detail: str, *, code: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.errors = errors


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="toezicht"'}


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class Unprocessable(ApiError):
    status, code = 422, "validation_failed"


def invalid(pointer: str, detail: str, code: str = "validation_failed") -> Unprocessable:
    """The 422 for one bad field: `pointer` is the JSON pointer into the request ("/data/amount")."""
    return Unprocessable(detail, code=code, errors=[FieldError(detail=detail, pointer=pointer)])


def invalid_parameter(name: str, detail: str, code: str = "validation_failed") -> Unprocessable:
    """The 422 for one bad query parameter `name`."""
    return Unprocessable(detail, code=code, errors=[FieldError(detail=detail, parameter=name)])


class FieldProblems:
    """Field problems collected while checking a request, so that one 422 lists them all.

    Each problem keeps its stable code: when every problem has the same one, that code is the answer's;
    mixed problems answer the generic `validation_failed`. `detail` is what the 422 says as a whole."""

    def __init__(self, detail: str = "The request has invalid fields.") -> None:
        self.detail = detail
        self.items: list[tuple[str, FieldError]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, pointer: str, detail: str, code: str = "validation_failed") -> None:
        self.items.append((code, FieldError(detail=detail, pointer=pointer)))

    def add_parameter(self, name: str, detail: str, code: str = "validation_failed") -> None:
        self.items.append((code, FieldError(detail=detail, parameter=name)))

    def extend(self, errors: list[FieldError], code: str = "validation_failed") -> None:
        self.items.extend((code, error) for error in errors)

    def error(self) -> Unprocessable:
        """The 422 listing the problems found."""
        codes = {code for code, _ in self.items}
        code = codes.pop() if len(codes) == 1 else "validation_failed"
        return Unprocessable(self.detail, code=code, errors=[e for _, e in self.items])

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()


class PreconditionRequired(ApiError):
    status, code = 428, "precondition_required"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"
    headers = {"Retry-After": "5"}


# Framework status -> our stable code.
_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    type_uri: str | None = None,
    members: dict[str, Any] | None = None,
) -> Response[Any]:
    request_id = request_id_of(request)
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        code=code,
        detail=detail,
        instance=request.url.path,
        request_id=request_id,
        errors=errors,
    )
    if type_uri or members:
        extended = {**msgspec.to_builtins(body), **(members or {})}
        extended["type"] = type_uri or body.type
        return Response(extended, status_code=status, media_type=PROBLEM_JSON, headers=headers)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return problem_response(
        request,
        exc.status,
        exc.code,
        exc.detail,
        errors=exc.errors,
        headers=exc.headers or None,
        type_uri=exc.type_uri,
        members=exc.members,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ValidationException):
        return _validation_problem(request, exc)
    if isinstance(exc.__cause__, SerializationException):
        return problem_response(request, 400, "malformed_body", "The request body is not valid JSON.")
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    code = _CODE_BY_STATUS.get(status, "error")
    headers = {name.lower(): value for name, value in (exc.headers or {}).items() if name.lower() in _PASSED_ON_HEADERS}
    if "allow" in headers:  # the router names the methods it has; HEAD and OPTIONS are answered in front of it
        headers["allow"] = allow_header(headers["allow"].split(","))
    return problem_response(request, status, code, _public_detail(exc), headers=headers or None)


# Headers of framework exceptions that tell the client what to do next (the rest may describe internals).
_PASSED_ON_HEADERS = frozenset(
    {"allow", "retry-after", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"}
)


def _public_detail(exc: HTTPException) -> str:
    # Framework details are short, fixed phrases; we pass them on, but never an exception's repr.
    detail = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
    return detail[:300]


_MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']{1,100})'")
_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _validation_problem(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    """Litestar reports bad bodies and parameters as 400 ValidationException; we answer 422 with pointers,
    except for a body that is not JSON at all (400)."""
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        source, key = item.get("source"), item.get("key")
        if source == "body" or (source is None and key is None):
            errors.append(_body_field_error(message, key))
        else:
            errors.append(FieldError(detail=message[:300], parameter=_sent_name(request, str(key))))
    detail = str(exc.detail or "")
    if not errors and "malformed" in detail.lower():
        return problem_response(request, 400, "malformed_body", "The request body is not valid JSON.")
    missing = _MISSING_PARAMETER.match(detail)
    if not errors and missing:
        kind, name = missing.groups()
        errors.append(FieldError(detail=f"Missing required {kind} parameter.", parameter=name))
    if not errors:
        errors.append(_body_field_error(detail, None))
    return problem_response(request, 422, "validation_failed", "The request has invalid fields.", errors=errors)


def _sent_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a parameter was sent under (`from`), where Litestar reports the handler's (`from_`, a name
    that dodges a Python keyword or one Litestar reserves)."""
    handler: Any = request.scope.get("route_handler")
    parameter = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    sent = getattr(parameter.kwarg_definition, "name", None) if parameter is not None else None
    return sent or key


_NAMED_MEMBER = re.compile(r"(?:missing required|contains unknown) field `(?P<name>[^`]+)`")


def _body_field_error(message: str, key: Any) -> FieldError:
    match = _MSGSPEC_PATH.search(message)
    if match:
        message = message[: match.start()]
        pointer = json_pointer(match.group("path"))
    else:
        # Litestar strips msgspec's path from the message and passes it as the key (`conditions.days[0]`);
        # it calls the body parameter itself `data`: that is the document root, not a member of it.
        pointer = json_pointer("." + str(key)) if key and key != "data" else ""
    named = _NAMED_MEMBER.search(message)
    if named:
        # msgspec points at the object; the client needs the member that is missing or not allowed.
        pointer += "/" + named.group("name").replace("~", "~0").replace("/", "~1")
    return FieldError(detail=message[:300], pointer=pointer)


def validation_field_error(error: msgspec.ValidationError) -> FieldError:
    """A msgspec validation error of a document converted outside a request body, with its JSON pointer."""
    return _body_field_error(str(error), None)


def json_pointer(msgspec_path: str) -> str:
    """msgspec's `$.a[0].b` path (without the `$`) as an RFC 6901 pointer `/a/0/b`."""
    parts = re.findall(r"\.([^.\[]+)|\[(\d+)\]", msgspec_path)
    escaped = [(name or index).replace("~", "~0").replace("/", "~1") for name, index in parts]
    return "".join("/" + part for part in escaped)


_DB_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InternalClientError,
)


def handle_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        log.warning("database_timeout", error=type(exc).__name__)
        return problem_response(
            request, 503, "database_timeout", "The database took too long; try again.", headers={"Retry-After": "5"}
        )
    if isinstance(exc, asyncpg.exceptions.SerializationError | asyncpg.exceptions.DeadlockDetectedError):
        log.warning("database_conflict", error=type(exc).__name__)
        return problem_response(request, 409, "concurrent_update", "A concurrent change interfered; try again.")
    if isinstance(exc, asyncpg.exceptions.DataError):
        # A value the database cannot store (e.g. NUL in text, a number out of range) that input checks
        # let through: the client's input is at fault, not the server.
        log.warning("database_rejected_value", error=type(exc).__name__)
        return problem_response(request, 422, "invalid_value", "A value in the request cannot be stored.")
    if isinstance(exc, _DB_UNAVAILABLE):
        log.warning("database_unavailable", error=type(exc).__name__)
        return problem_response(
            request,
            503,
            "database_unavailable",
            "The database is not reachable; try again.",
            headers={"Retry-After": "5"},
        )
    return handle_unexpected(request, exc)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if client_disconnected(request):
        # A phone that gives up mid-request (network lost, user cancelled): no bug, and nobody reads the answer.
        log.info("client_disconnected", error=type(exc).__name__)
        return problem_response(
            request, 400, "client_disconnected", "The client closed the request before it was complete."
        )
    # The traceback goes to our log (no locals, no request body); the client gets the correlation id only.
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return problem_response(
        request, 500, "internal_error", "An unexpected error occurred; quote the request_id when reporting it."
    )


def error_response(scope: Any, exc: Exception) -> Any:
    """The ASGI response our exception handlers give for `exc`, for code that runs outside the router
    (an app-wide middleware)."""
    request: Request[Any, Any, Any] = Request(scope)
    handler = next(EXCEPTION_HANDLERS[cls] for cls in type(exc).__mro__ if cls in EXCEPTION_HANDLERS)
    return handler(request, exc).to_asgi_response(app=None, request=request)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    asyncpg.PostgresError: handle_database_error,
    asyncpg.exceptions.InterfaceError: handle_database_error,
    asyncpg.exceptions.InternalClientError: handle_database_error,
    OSError: handle_database_error,
    TimeoutError: handle_database_error,
    Exception: handle_unexpected,
}
