"""The connection pool, owned by the app's lifespan, and the per-request connection.

A request gets one connection; handlers that write ask for `tx` and get that connection inside one
transaction, committed when the handler returns and rolled back when it raises.

A connection whose server is gone or does not answer (stopped, frozen, network lost) is not asked anything
more: it is terminated, so neither a rollback nor the return to the pool waits for that server, and the
request ends with the error that says the database is unavailable (503) instead of a second one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
from litestar import Request
from litestar.di import NamedDependency

from backend.core.config import Settings

Connection = asyncpg.Connection


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns travel as Python values; msgspec does the (de)serialisation.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL).

    The app never changes session state: settings are SET LOCAL, locks are transaction-scoped, there are no
    LISTENs or cursors outside a transaction. asyncpg still rolls back a transaction left open before this
    runs. Skipping the reset saves a round trip per request and keeps the server's cached plans valid.
    """


async def create_pool(settings: Settings) -> asyncpg.Pool:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")
    return await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        init=_init_connection,
        reset=_keep_session,
        # The client's own limit on every query (the server's statement_timeout cannot fire when it is frozen).
        command_timeout=settings.db_query_timeout_s,
        # Behind PgBouncer (transaction mode) named prepared statements do not survive; see README.
        statement_cache_size=0 if settings.db_pgbouncer else 100,
        server_settings={
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "application_name": "toezicht",
            "timezone": "UTC",
        },
    )


async def connect(database_url: str, **kwargs: Any) -> asyncpg.Connection:
    """One direct connection (CLI, migrations): same codecs as the pool."""
    conn = await asyncpg.connect(database_url, server_settings={"timezone": "UTC"}, **kwargs)
    await _init_connection(conn)
    return conn


# Errors after which a connection cannot be trusted to answer: its server went away or stopped answering, or
# (InternalClientError) asyncpg found the connection mid-operation, as a pooled one can be after a server restart.
CONNECTION_LOST = (
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InternalClientError,
)


async def provide_db(request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for a read-only handler (autocommit, no explicit transaction)."""
    settings: Settings = request.app.state.settings
    async with request.app.state.db_pool.acquire(timeout=settings.db_acquire_timeout_s) as conn:
        try:
            yield conn
        except CONNECTION_LOST:
            _terminate(conn)
            raise


async def provide_tx(request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside one transaction, for handlers that write.

    Litestar throws the handler's exception into this generator, so an error rolls everything back. Only the
    handler's error leaves here: had the rollback's own failure escaped too, Litestar would pass both on as an
    ExceptionGroup, which no error handler recognises.
    """
    settings: Settings = request.app.state.settings
    async with request.app.state.db_pool.acquire(timeout=settings.db_acquire_timeout_s) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        except BaseException as exc:
            await _roll_back(conn, transaction, exc)
            raise
        try:
            await transaction.commit()
        except CONNECTION_LOST:
            _terminate(conn)  # whether it committed is unknown; the client retries (idempotently)
            raise


async def _roll_back(conn: asyncpg.Connection, transaction: Any, cause: BaseException) -> None:
    """Roll back; on a lost connection, or when the rollback fails, end the session instead (the server rolls
    back a transaction whose session ends)."""
    if not isinstance(cause, CONNECTION_LOST):
        try:
            await transaction.rollback()
            return
        except (*CONNECTION_LOST, asyncpg.PostgresError):
            pass
    _terminate(conn)


def _terminate(conn: asyncpg.Connection) -> None:
    """End the session without asking the server anything."""
    with contextlib.suppress(asyncpg.InterfaceError):  # a connection found closed went back to the pool already
        conn.terminate()


# Handler parameter types: `db: Db` for reads, `tx: Tx` for writes (the parameter name picks the dependency).
Db = NamedDependency[asyncpg.Connection]
Tx = NamedDependency[asyncpg.Connection]
