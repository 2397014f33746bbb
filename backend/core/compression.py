"""Response compression: brotli or gzip, as the client's Accept-Encoding prefers, for text (JSON, HTML, CSS,
JavaScript, CSV) of at least TOEZICHT_COMPRESSION_MIN_BYTES. Images and other binary types are sent as they
are: they are compressed already, and a second pass only costs CPU.

A plain ASGI middleware around the whole app, so every response is covered, including the framework's own
(the OpenAPI document) and streamed ones (compressed chunk by chunk). ETags stay as they are: they name the
resource's version (what If-Match compares), whatever the transfer encoding.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import brotli
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

GZIP_LEVEL = 6  # zlib's default: level 9 costs about twice the CPU for a percent or two
BROTLI_QUALITY = 5  # the usual level for responses made per request (11 is for files compressed once)
_TEXT_TYPES = (b"text/", b"application/json", b"application/javascript", b"application/xml")
_TEXT_SUFFIXES = (b"+json", b"+xml")


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Brotli:
    def __init__(self) -> None:
        self._compressor = brotli.Compressor(quality=BROTLI_QUALITY)

    def compress(self, data: bytes) -> bytes:
        compressed: bytes = self._compressor.process(data)  # brotli ships no types
        return compressed

    def flush(self) -> bytes:
        rest: bytes = self._compressor.finish()
        return rest


def _gzip() -> _Compressor:
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: the gzip container


# Ours in order of preference when the client likes both equally.
ENCODINGS: dict[bytes, Callable[[], _Compressor]] = {b"br": _Brotli, b"gzip": _gzip}


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        encoding = chosen_encoding(scope) if scope["type"] == ScopeType.HTTP and scope["method"] != "HEAD" else None
        if encoding is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _CompressingSend(send, encoding, self.minimum_size))


def chosen_encoding(scope: Scope) -> bytes | None:
    """The coding of ENCODINGS with the highest q-value in Accept-Encoding (RFC 9110 12.5.3), or None."""
    header = b""
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            header = value
            break
    # Clients send a handful of distinct values, each on every request: parse each once. Bounded in entries
    # and in length, because the value is the client's to choose.
    if header in _CHOSEN:
        return _CHOSEN[header]
    choice = _preferred(header)
    if len(header) <= _CACHED_HEADER_MAX:
        if len(_CHOSEN) >= _CACHED_MAX:
            _CHOSEN.clear()
        _CHOSEN[header] = choice
    return choice


_CHOSEN: dict[bytes, bytes | None] = {}
_CACHED_MAX, _CACHED_HEADER_MAX = 64, 256


def _preferred(header: bytes) -> bytes | None:
    weights: dict[bytes, float] = {}
    for item in header.lower().split(b","):
        coding, _, params = item.strip().partition(b";")
        weights[coding.strip()] = _q_value(params)
    best, best_q = None, 0.0
    for encoding in ENCODINGS:
        q = weights.get(encoding, weights.get(b"*", 0.0))
        if q > best_q:
            best, best_q = encoding, q
    return best


def _q_value(params: bytes) -> float:
    name, _, value = params.strip().partition(b"=")
    if name.strip() != b"q":
        return 1.0
    try:
        return float(value)
    except ValueError:
        return 0.0


class _CompressingSend:
    """Holds the response start until the first body chunk shows whether compressing is worth it."""

    def __init__(self, send: Send, encoding: bytes, minimum_size: int) -> None:
        self.send, self.encoding, self.minimum_size = send, encoding, minimum_size
        self.start: HTTPResponseStartEvent | None = None
        self.compressor: _Compressor | None = None
        self.passthrough = False

    async def __call__(self, message: Message) -> None:
        if self.passthrough:
            await self.send(message)
        elif message["type"] == "http.response.start":
            self.start = message
        elif message["type"] != "http.response.body":
            await self.send(message)
        elif self.compressor is None:
            await self._first_body(message)
        else:
            await self._compress(message)

    async def _first_body(self, message: HTTPResponseBodyEvent) -> None:
        assert self.start is not None
        headers = list(self.start.get("headers", []))
        more = message.get("more_body", False)
        if not self._worth_it(headers, message["body"], more):
            self.passthrough = True
            await self.send(self.start)
            await self.send(message)
            return
        self.compressor = ENCODINGS[self.encoding]()
        headers = [(name, value) for name, value in headers if name.lower() not in (b"content-length", b"vary")]
        headers += [(b"content-encoding", self.encoding), (b"vary", _vary_with_encoding(self.start))]
        body = self.compressor.compress(message["body"]) + (b"" if more else self.compressor.flush())
        if not more:
            headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({**message, "body": body})

    async def _compress(self, message: HTTPResponseBodyEvent) -> None:
        assert self.compressor is not None
        more = message.get("more_body", False)
        body = self.compressor.compress(message["body"]) + (b"" if more else self.compressor.flush())
        await self.send({**message, "body": body})

    def _worth_it(self, headers: list[tuple[bytes, bytes]], first: bytes, more: bool) -> bool:
        assert self.start is not None
        present = {name.lower(): value for name, value in headers}
        if self.start["status"] in (204, 304) or b"content-encoding" in present or not _is_text(present):
            return False
        length = present.get(b"content-length")
        size = int(length) if length and length.isdigit() else (len(first) if not more else self.minimum_size)
        return size >= self.minimum_size


def _is_text(headers: dict[bytes, bytes]) -> bool:
    media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if media_type.startswith(b"image/"):  # never images, not even SVG (image/svg+xml)
        return False
    return media_type.startswith(_TEXT_TYPES) or media_type.endswith(_TEXT_SUFFIXES)


def _vary_with_encoding(start: HTTPResponseStartEvent) -> bytes:
    values = [value for name, value in start.get("headers", []) if name.lower() == b"vary"]
    return b", ".join([*values, b"Accept-Encoding"])
