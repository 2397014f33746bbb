"""Test fixtures: a real PostgreSQL, the app over HTTP, and real signed tokens.

PostgreSQL is the server in TEST_DATABASE_URL (its user needs CREATEDB and CREATEROLE) or an embedded one
started for the run. Migrations run once into a template database; every test gets its own clone of it, so
tests cannot see each other's rows and the app commits for real.

Database roles, as in production (backend/core/roles.py): the app, and `database_url`, connect as the
service's role, which may not change the audit trail or any table's definition; `db` and
`owner_database_url` connect as the owner, for arranging and checking state.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from backend.app import create_app
from backend.core import db as core_db
from backend.core import events
from backend.core.config import PROJECT_ROOT, Settings, load_settings
from backend.core.migrations import migrate
from backend.core.roles import ensure_login_role, with_user
from backend.core.tokens import load_or_create_dev_key, mint_dev_token

# `make test` runs the suite in several processes (pytest-xdist). Each starts its own embedded PostgreSQL; on a
# shared TEST_DATABASE_URL server each has a template and a service role of its own, so that one process's
# fresh password or template rebuild never pulls the ground from under another's tests.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEMPLATE_DB = f"toezicht_test_template{_WORKER and '_' + _WORKER}"
RUNTIME_ROLE = f"toezicht_test_app{_WORKER and '_' + _WORKER}"
ISSUER = "toezicht-test"
AUDIENCE = "toezicht-api"

# Fixtures kept beside the helpers they use: the fault tests' own PostgreSQL (faulty_pg, fault_db).
pytest_plugins = ["tests.fault_postgres"]


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (keeps a ?host=/socket/dir query)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from backend.core import embedded

    with tempfile.TemporaryDirectory(prefix="toezicht-test-pg-") as tmp:
        server, url = embedded.start(Path(tmp) / "pgdata", cleanup_mode="delete", database="postgres")
        # Durability buys nothing in a throwaway test cluster; these make CREATE DATABASE and commits cheap.
        asyncio.run(_speed_up(url))
        yield url
        server.cleanup()  # type: ignore[attr-defined]


async def _speed_up(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            await conn.execute(f"ALTER SYSTEM SET {setting}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def runtime_server_url(pg_server_url: str) -> str:
    """The server URL as the service's role (created for the run, with a fresh password)."""
    password = uuid.uuid4().hex

    async def create() -> None:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await ensure_login_role(admin, RUNTIME_ROLE, password)
        finally:
            await admin.close()

    asyncio.run(create())
    return with_user(pg_server_url, RUNTIME_ROLE, password)


@pytest.fixture(scope="session")
def template_url(pg_server_url: str, runtime_server_url: str) -> str:
    asyncio.run(build_template(pg_server_url, TEMPLATE_DB))
    return with_database(pg_server_url, TEMPLATE_DB)


async def build_template(server_url: str, name: str) -> None:
    """(Re)create database `name` and migrate it as the owner, granting the service's role (which exists)."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(server_url, name))
    try:
        await migrate(conn, PROJECT_ROOT / "migrations", runtime_role=RUNTIME_ROLE)
    finally:
        await conn.close()


async def create_database(server_url: str, template: str | None = TEMPLATE_DB) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server_url)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await admin.close()
    return name


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def test_database(pg_server_url: str, template_url: str) -> AsyncIterator[str]:
    """The name of this test's own clone of the migrated template."""
    name = await create_database(pg_server_url)
    yield name
    await drop_database(pg_server_url, name)


@pytest.fixture
def database_url(runtime_server_url: str, test_database: str) -> str:
    """This test's database as the service's role: what the app connects with."""
    return with_database(runtime_server_url, test_database)


@pytest.fixture
def owner_database_url(pg_server_url: str, test_database: str) -> str:
    """This test's database as its owner: for setup and checks the service's role may not do."""
    return with_database(pg_server_url, test_database)


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="toezicht-test-data-") as tmp:
        yield Path(tmp)


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return make_settings(database_url, data_dir)


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "log_level": "warning",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "db_pool_min": 1,
        "db_pool_max": 5,
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        yield http


class app_client:
    """The app with its lifespan running, reached over HTTP (ASGI) in the test's own event loop.

    The lifespan runs in a task of its own: it must be entered and left in the same task."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self._started = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    async def _run_lifespan(self) -> None:
        async with self.app.lifespan():
            self._started.set()
            await self._stop.wait()

    async def __aenter__(self) -> httpx.AsyncClient:
        self._task = asyncio.create_task(self._run_lifespan())
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._task, started}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            started.cancel()
            self._task.result()  # startup failed: raise its error here
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        return self._http

    async def __aexit__(self, *exc: Any) -> None:
        assert self._http is not None and self._task is not None
        await self._http.aclose()
        self._stop.set()
        await self._task


@pytest.fixture
async def db(owner_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection (as the owner) for arranging and checking database state."""
    conn = await core_db.connect(owner_database_url)
    yield conn
    await conn.close()


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def dev_key(data_dir: Path) -> bytes:
    return load_or_create_dev_key(data_dir / "dev-signing-key.pem")


@pytest.fixture(scope="session")
def make_token(dev_key: bytes) -> TokenFactory:
    """Sign a token with the test signing key: `make_token("insp-1", roles=["inspector"], exp=...)`."""

    def make(
        sub: str = "user-1",
        *,
        roles: list[str] | None = None,
        regimes: list[str] | None = None,
        teams: list[str] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "roles": roles if roles is not None else ["inspector"],
            "regimes": regimes if regimes is not None else ["alcohol"],
            "teams": teams or [],
        }
        payload.update(claims)
        return mint_dev_token(dev_key, {k: v for k, v in payload.items() if v is not None})

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(make_token: TokenFactory) -> Callable[..., dict[str, str]]:
    """Headers for a caller: `auth("admin-1", roles=["admin"])`."""

    def headers(sub: str = "user-1", **kwargs: Any) -> dict[str, str]:
        return bearer(make_token(sub, **kwargs))

    return headers


async def wait_until(condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0) -> None:
    """Poll a condition (e.g. 'the other transaction is now waiting on our lock') until it holds."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@pytest.fixture
def reactions(monkeypatch) -> Callable[[str, events.Reaction], None]:
    """Register reactions for one test only (on a copy of what the app wired)."""
    monkeypatch.setattr(events, "_reactions", {kind: list(found) for kind, found in events._reactions.items()})
    return events.react
