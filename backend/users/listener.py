"""The session that hears when a user is (de)activated anywhere, so every process drops that user at once.

The LISTEN needs a session of its own (not a pooled one). When it is lost (PostgreSQL restarted, network cut)
it is opened again, with backoff while the server is away; changes made while it was gone were not heard, so
every cached user is dropped when it is back. Without it (PgBouncer) the cache still expires after
TOEZICHT_USER_CACHE_S.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from backend.core.db import CONNECTION_LOST
from backend.users.service import PrincipalDirectory

CHANNEL = "app_user_changed"
APPLICATION_NAME = "toezicht-listener"
CONNECT_TIMEOUT_S = 10.0
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 10.0

log = structlog.get_logger("toezicht.users")


class UserChangeListener:
    def __init__(self, database_url: str, directory: PrincipalDirectory) -> None:
        self.database_url = database_url
        self.directory = directory

    async def run(self) -> None:
        """Listen until cancelled, re-opening the session whenever it is lost."""
        delay = RETRY_FIRST_S
        while True:
            try:
                await self._listen_once()
                delay = RETRY_FIRST_S  # it worked for a while: the next loss starts the backoff afresh
            except (*CONNECTION_LOST, asyncpg.PostgresError) as exc:
                log.warning("user_change_listener_unavailable", error=type(exc).__name__, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(
            self.database_url,
            timeout=CONNECT_TIMEOUT_S,
            statement_cache_size=0,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, lambda _conn, _pid, _channel, user_id: self.directory.forget(user_id))
            self.directory.forget_all()  # whatever changed while nobody listened
            log.info("user_change_listener_ready")
            await lost.wait()
            log.warning("user_change_listener_lost")
        finally:
            conn.terminate()
