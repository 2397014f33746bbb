"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation in benchmarks.

httpx spends about as much CPU per request as the server under test does; on a two-core machine that would
measure the client. This one writes a prepared request and reads one response with a Content-Length (what
our server sends), nothing more: no redirects, no chunked bodies, no TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping


class HttpError(RuntimeError):
    pass


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._reader = self._writer = None

    async def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> None:
        """Write one request without reading its answer (a phone whose connection drops right after)."""
        if self._writer is None:
            await self.open()
        assert self._writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise HttpError(f"response without Content-Length: {lines[0]}")
        return status, await self._reader.readexactly(length)

    async def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> tuple[int, bytes]:
        await self.send(method, path, headers, body)
        return await self.receive()
