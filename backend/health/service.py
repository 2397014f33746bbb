"""Readiness: can this instance reach its database?

Asked on a connection of its own with a short time-out, never through the pool: an exhausted pool means the
instance is busy, not cut off, and an orchestrator that then took every instance out of service would turn a
slow database into an outage. One question at a time goes to the database; callers meanwhile share its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from backend.core.db import CONNECTION_LOST

APPLICATION_NAME = "toezicht-ready"


# Figures for readiness's detail (e.g. the outbox backlog), asked on the probe's connection after it answered.
Detail = Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]


class DatabaseProbe:
    def __init__(self, database_url: str, timeout_s: float, details: dict[str, Detail] | None = None) -> None:
        self.database_url = database_url
        self.timeout_s = timeout_s
        self.details = details or {}
        # What the details said at the last answer: information only, never part of the status.
        self.detail: dict[str, Any] = {}
        self._conn: asyncpg.Connection | None = None
        self._asking: asyncio.Future[bool] | None = None

    async def ready(self) -> bool:
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask())
            self._asking.add_done_callback(self._answered)
        return await asyncio.shield(self._asking)

    def _answered(self, _future: asyncio.Future[bool]) -> None:
        self._asking = None

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self.database_url,
                        statement_cache_size=0,
                        server_settings={"application_name": APPLICATION_NAME},
                    )
                await self._conn.fetchval("SELECT 1")
                self.detail = {name: await ask(self._conn) for name, ask in self.details.items()}
            return True
        except (*CONNECTION_LOST, asyncpg.PostgresError):
            self._drop_connection()
            return False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def close(self) -> None:
        if self._asking is not None:
            with contextlib.suppress(BaseException):
                await self._asking
        self._drop_connection()
