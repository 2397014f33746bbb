"""Structured JSON logs: one line per request, plus events our code emits, plus what libraries log through the
standard library (uvicorn's start and stop, its warnings about bad requests, asyncpg): every line the service
writes is one JSON object with at least `event`, `level` and `timestamp`, so a log pipeline can parse all of it.

What a line may carry: request id, method, path (never the query string: searches hold names and
addresses), status, duration, the internal user id. Never tokens, bodies or personal data.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast
from uuid import UUID

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID_HEADER = b"x-request-id"


def _dumps(obj: Any, default: Any = None) -> bytes:
    # structlog always passes `default=`; msgspec calls it `enc_hook`.
    return msgspec.json.encode(obj, enc_hook=default or str)


class _AccessLine(msgspec.Struct):
    """The access log line: the keys, order and values structlog gives a `log.info("request", ...)` with
    the processors below (the request id is the request's, as _add_request_id adds it)."""

    method: str
    path: str
    status: int
    duration_ms: float
    user_id: UUID | None
    event: str
    request_id: str
    level: str
    timestamp: datetime  # msgspec writes UTC as structlog's TimeStamper(fmt="iso", utc=True) does: ...T21:34:22.290668Z


class _AccessLog:
    """Writes the access log line straight to the log stream, past structlog's generic pipeline: it is
    written for every request, and through structlog it cost as much as the rest of the middleware (the
    HTTP benchmark, tests/bench/bench_http.py). Configured by `configure_logging` with the rest.

    Lines go into the stream's buffer at once (so they keep their order with the other log lines, which
    share that buffer) and reach the file at the end of the event loop's turn: under load one system call
    carries the lines of many requests. Never more than FLUSH_BYTES wait, so a write stays well below
    PIPE_BUF and reaches a pipe shared by several workers whole, line by line."""

    FLUSH_BYTES = 2048

    def __init__(self) -> None:
        self.stream: Any = None
        self.enabled = False
        self._encode = msgspec.json.Encoder().encode
        self._waiting = 0  # bytes written to the stream's buffer since its last flush
        self._flush_scheduled = False

    def write(
        self, method: str, path: str, status: int, duration_s: float, user_id: UUID | None, request_id: str
    ) -> None:
        if not self.enabled:
            return
        # Milliseconds with two decimals; round() to a whole number is several times cheaper than round(x, 2).
        duration_ms = round(duration_s * 100_000) / 100
        line = _AccessLine(method, path, status, duration_ms, user_id, "request", request_id, "info", datetime.now(UTC))
        data = self._encode(line) + b"\n"
        if self._waiting + len(data) > self.FLUSH_BYTES:
            self.flush()
        self.stream.write(data)
        self._waiting += len(data)
        if not self._flush_scheduled:
            try:
                asyncio.get_running_loop().call_soon(self._scheduled_flush)
            except RuntimeError:  # no event loop: nothing would flush later
                self.flush()
                return
            self._flush_scheduled = True

    def flush(self) -> None:
        self._waiting = 0
        self.stream.flush()

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()


_access_log = _AccessLog()


class _StandardOutput:
    """Standard output as it is when a line is written. Loggers are cached on first use with their stream; one
    first used while sys.stdout was temporarily another file (a test capturing output) must not keep that file."""

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def flush(self) -> None:
        sys.stdout.buffer.flush()


def configure_logging(level: str, stream: Any = None) -> None:
    output = stream or sys.stdout.buffer
    _access_log.stream = output
    _access_log.enabled = _LEVELS[level] <= logging.INFO
    structlog.configure(
        processors=[
            *_COMMON_FIELDS,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        # BytesLogger only calls write() and flush(), which _StandardOutput has.
        logger_factory=structlog.BytesLoggerFactory(stream or cast(BinaryIO, _StandardOutput())),
        cache_logger_on_first_use=True,
    )
    _route_standard_logging(level, output)


# The id of the request being handled (RequestContextMiddleware sets it in the request's own task): a context
# variable of our own, because binding it through structlog.contextvars cost a tenth of that middleware.
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Every line written while a request is handled names the request."""
    request_id = _request_id.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


# The fields every line has (the access line writes the same ones itself).
_COMMON_FIELDS: list[Any] = [
    _add_request_id,
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _route_standard_logging(level: str, output: Any) -> None:
    """Standard-library loggers write through the same JSON rendering to the same stream, with their name
    as `logger`. uvicorn says when it starts and stops at our level; other libraries log warnings and up.
    Our access log replaces uvicorn's."""
    handler = _JsonLineHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_COMMON_FIELDS, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=lambda obj, default=None: _dumps(obj, default).decode()),
            ],
        )
    )
    logging.basicConfig(level=max(_LEVELS[level], logging.WARNING), handlers=[handler], force=True)
    logging.getLogger("uvicorn").setLevel(_LEVELS[level])
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)  # Python warnings become log lines too, not text on stderr


class _JsonLineHandler(logging.Handler):
    """Writes each record as one line of bytes to the stream structlog writes to, in one write."""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode() + b"\n"
            with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
                self.stream.write(line)
                self.stream.flush()
        except Exception:
            self.handleError(record)


# Adds headers to a response as it starts, given the request's method and path and the status
# (core.response_headers.ResponsePolicy).
ResponseHeaders = Callable[[str, str, int, list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]


class RequestContextMiddleware:
    """Gives each request an id (a well-formed incoming X-Request-ID, else a new UUID), echoes it in the
    response with the headers every response gets (`response_headers`), and writes the access log line when the
    response has started."""

    def __init__(self, app: ASGIApp, response_headers: ResponseHeaders | None = None) -> None:
        self.app = app
        self.response_headers = response_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # Each request runs in its own task with a copy of the server's context, so no earlier request's id can leak in.
        _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        # As the request came in: the router rewrites the scope's path for a mounted app (the console's files).
        method, path = scope["method"], scope["path"]

        async def receive_noting_disconnect() -> ReceiveMessage:
            # A client that gives up mid-request makes the request fail; the error handler must know it was
            # the client, not a bug (core.errors.handle_unexpected).
            message = await receive()
            if message["type"] == "http.disconnect":
                scope["state"]["client_disconnected"] = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if self.response_headers is not None:
                    headers = self.response_headers(method, path, status, headers)
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive_noting_disconnect, send_with_id)
        finally:
            _access_log.write(
                method,
                path,
                status,
                time.perf_counter() - started,
                scope["state"].get("user_id"),
                request_id,
            )


class _RandomIds:
    """128 random bits from the operating system's generator, as 32 hex digits. Read 4 KB at a time: one
    getrandom call per 256 ids instead of one per request."""

    _BATCH = 4096

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pool = b""
        self._next = 0

    def __call__(self) -> str:
        if self._next >= len(self._pool):
            self._pool, self._next = os.urandom(self._BATCH), 0
        start, self._next = self._next, self._next + 16
        return self._pool[start : self._next].hex()


_new_request_id = _RandomIds()
os.register_at_fork(after_in_child=_new_request_id.reset)  # a forked child must not repeat its parent's ids


def request_id_of(request: Any) -> str | None:
    """The id RequestContextMiddleware gave this request (for audit events and problem bodies)."""
    request_id = request.scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else None


def client_disconnected(request: Any) -> bool:
    """Whether the client went away before the request was handled (RequestContextMiddleware notes it)."""
    return bool(request.scope.get("state", {}).get("client_disconnected"))


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.match(candidate) else None
    return None
