"""What an operator meets: a clean stop on SIGTERM/SIGINT, readiness that means "can reach the database",
a client that gives up mid-request logged as such, not as a bug, and a server process whose garbage collector
leaves alone what it built at start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from backend.core.config import PROJECT_ROOT
from backend.core.tokens import load_or_create_dev_key, mint_dev_token
from tests.conftest import app_client, make_settings, wait_until
from tests.fault_postgres import requests_waiting_on_a_lock
from tests.registry_helpers import object_body
from tests.server_helpers import free_port

TOEZICHT = PROJECT_ROOT / ".venv" / "bin" / "toezicht"
SHUTDOWN_TIMEOUT_S = 5
START_TIMEOUT_S = 120


# --- readiness ---------------------------------------------------------------------------------------------


async def test_ready_while_every_pooled_connection_is_busy(database_url, data_dir, auth, db):
    coordinator = auth("coord-busy", roles=["coordinator"])
    settings = make_settings(database_url, data_dir, db_pool_min=1, db_pool_max=1, db_acquire_timeout_s=1)
    async with app_client(settings) as http:
        assert (await http.get("/api/v1/objects", headers=coordinator)).status_code == 200
        async with db.transaction():
            await db.execute("LOCK TABLE establishment IN ACCESS EXCLUSIVE MODE")
            busy = asyncio.create_task(http.get("/api/v1/objects", headers=coordinator))
            await requests_waiting_on_a_lock(db, 1)  # the pool's only connection
            # The pool has nothing to give (a request would wait and get 503), yet the database answers.
            ready = await http.get("/health/ready")
            assert ready.status_code == 200, ready.text
        assert (await busy).status_code == 200


# --- the garbage collector ------------------------------------------------------------------------------------


def test_the_servers_app_factory_freezes_start_up_objects_and_widens_young_collections():
    # In a fresh interpreter, as uvicorn calls the factory in each server process (tests share theirs).
    probe = (
        "import gc; from backend.app import create_app_from_env; before = gc.get_threshold()[0]; "
        "create_app_from_env(); print(before, gc.get_threshold()[0], gc.get_freeze_count())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_")}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    before, after, frozen = map(int, done.stdout.split())
    assert (before, after) == (700, 5_000)  # Python's default, then the server's
    assert frozen > 10_000  # the app, its routes and OpenAPI models, the modules: out of the collector's sight


# --- a client that gives up -------------------------------------------------------------------------------


async def test_a_client_that_disconnects_mid_body_is_logged_as_a_client_abort(
    database_url, data_dir, make_token, capfd, db
):
    token = make_token("coord-gone", roles=["coordinator"])
    settings = make_settings(database_url, data_dir, log_level="info")
    body = json.dumps(object_body()).encode()
    messages = [{"type": "http.request", "body": body[:20], "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/objects",
        "raw_path": b"/api/v1/objects",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    client = app_client(settings)
    async with client as http:
        assert (await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        await client.app(scope, receive, send)
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert not [line for line in lines if line["level"] == "error" or "exception" in line]
    access = [line for line in lines if line["event"] == "request" and line["path"] == "/api/v1/objects"]
    assert [line["status"] for line in access] == [400]
    assert await db.fetchval("SELECT count(*) FROM establishment") == 0


# --- a clean stop ---------------------------------------------------------------------------------------------


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _running(pid: int) -> bool:
    """A process that has ended but was not yet reaped by its parent (a zombie) is not running."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postmaster(pgdata: Path) -> tuple[int, str]:
    """The pid and socket directory that postmaster.pid records."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines[4]


@pytest.fixture(scope="module")
def serve_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for both signals: the second start reuses the stopped database, as `make run` does."""
    return tmp_path_factory.mktemp("serve-data")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_drains_requests_stops_the_embedded_database_and_exits_0_on(serve_data_dir, tmp_path, stop_signal):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOEZICHT_") and k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")
    }
    env.update(
        TOEZICHT_DATA_DIR=str(serve_data_dir),
        TOEZICHT_PORT=str(port),
        TOEZICHT_LOG_LEVEL="info",
        TOEZICHT_SHUTDOWN_TIMEOUT_S=str(SHUTDOWN_TIMEOUT_S),
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = await asyncio.create_subprocess_exec(str(TOEZICHT), "serve", env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:

            async def ready() -> bool:
                if server.returncode is not None:
                    raise AssertionError(f"serve exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    return (await http.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, timeout_s=START_TIMEOUT_S)
            postmaster_pid, socket_dir = _postmaster(serve_data_dir / "pgdata")
            owner = await asyncpg.connect(f"postgresql://postgres@/toezicht?host={socket_dir}")
            token = mint_dev_token(
                load_or_create_dev_key(serve_data_dir / "dev-signing-key.pem"),
                {
                    "iss": "toezicht-dev",
                    "aud": "toezicht-api",
                    "sub": "coord-stop",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 600,
                    "roles": ["coordinator"],
                    "regimes": ["alcohol"],
                    "teams": [],
                },
            )
            headers = {"Authorization": f"Bearer {token}"}
            assert (await http.get("/api/v1/objects", headers=headers)).status_code == 200
            # The service connects as its own role, not as the superuser that owns the schema.
            roles = await owner.fetch(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'toezicht'"
            )
            assert [row["usename"] for row in roles] == ["toezicht_app"]

            # A request in flight when the signal comes: held by a lock until the server no longer accepts.
            async with owner.transaction():
                await owner.execute("LOCK TABLE establishment IN ACCESS EXCLUSIVE MODE")
                in_flight = asyncio.create_task(http.get("/api/v1/objects", headers=headers))
                await requests_waiting_on_a_lock(owner, 1)
                server.send_signal(stop_signal)
                await wait_until(lambda: asyncio.to_thread(_refuses_connections, port), timeout_s=30)
            assert (await in_flight).status_code == 200  # drained, not cut off
            owner.terminate()

        async with asyncio.timeout(SHUTDOWN_TIMEOUT_S + 30):  # drain bound + pool close + database stop
            assert await server.wait() == 0
        assert not (serve_data_dir / "pgdata" / "postmaster.pid").exists()
        assert not _running(postmaster_pid)
        output = log_path.read_text()
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert not [line for line in lines if line["level"] in ("error", "critical") or "exception" in line]
        assert "Traceback" not in output
        assert lines[-1]["event"] == "stopped"
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
