"""Database faults are answered as outages (503), never as bugs, and the service recovers by itself.

A PostgreSQL of the tests' own (tests/fault_postgres.py) is stopped, frozen and restarted while the app has
requests in flight. Requests are held mid-query by a lock the test holds, so "in flight" is a fact the test
checks (pg_stat_activity), not a matter of timing.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

from backend.core import db as core_db
from tests.conftest import app_client, make_settings, wait_until
from tests.fault_postgres import FaultDatabase, requests_waiting_on_a_lock
from tests.helpers import assert_problem
from tests.registry_helpers import object_body

# A test that the old behaviour would hang forever fails after this instead.
BOUND_S = 20.0
IN_FLIGHT = 4


async def _until_answered(http: httpx.AsyncClient, path: str, headers: dict[str, str], status: int) -> httpx.Response:
    """Ask again until the answer has this status (the pool reconnects by itself after an outage)."""
    answer: httpx.Response | None = None

    async def answered() -> bool:
        nonlocal answer
        answer = await http.get(path, headers=headers)
        return answer.status_code == status

    await wait_until(answered, timeout_s=BOUND_S)
    assert answer is not None
    return answer


async def test_writes_mid_query_when_postgresql_stops_get_503_and_the_service_recovers(
    fault_db: FaultDatabase, data_dir: Path, auth
):
    coordinator = auth("coord-fault", roles=["coordinator", "admin"], regimes=["alcohol", "nix18"])
    # Every connection open beforehand: the test is about queries in flight, not about opening connections.
    settings = make_settings(fault_db.runtime_url, data_dir, db_pool_min=IN_FLIGHT + 2, db_pool_max=IN_FLIGHT + 2)
    async with app_client(settings) as http:
        assert (await http.get("/api/v1/me", headers=coordinator)).status_code == 200
        owner = await core_db.connect(fault_db.owner_url)
        locked = owner.transaction()
        await locked.start()
        await owner.execute("LOCK TABLE establishment IN ACCESS EXCLUSIVE MODE")
        writes = [
            asyncio.create_task(http.post("/api/v1/objects", json=object_body(name=f"Café {i}"), headers=coordinator))
            for i in range(IN_FLIGHT)
        ]
        await requests_waiting_on_a_lock(owner, IN_FLIGHT)

        await asyncio.to_thread(fault_db.server.stop, "immediate")
        async with asyncio.timeout(BOUND_S):
            answers = await asyncio.gather(*writes)
        for answer in answers:
            assert_problem(answer, 503, "database_unavailable")
            assert answer.headers["retry-after"]
        owner.terminate()

        await asyncio.to_thread(fault_db.server.start)
        await _until_answered(http, "/api/v1/objects", coordinator, 200)
        stored = await http.post("/api/v1/objects", json=object_body(name="Café na de storing"), headers=coordinator)
        assert stored.status_code == 201, stored.text
    owner = await core_db.connect(fault_db.owner_url)
    try:
        # Nothing of the cut-off writes was kept, and every audit event is linked.
        assert await owner.fetchval("SELECT array_agg(name) FROM establishment") == ["Café na de storing"]
        assert await owner.fetchval("SELECT count(*) FROM audit_event WHERE seq IS NULL") == 0
    finally:
        await owner.close()


async def test_requests_holding_a_connection_to_a_frozen_postgresql_get_503_after_the_query_timeout(
    fault_db: FaultDatabase, data_dir: Path, auth
):
    coordinator = auth("coord-frozen", roles=["coordinator"], regimes=["alcohol", "nix18"])
    settings = make_settings(
        fault_db.runtime_url,
        data_dir,
        db_pool_min=3,
        db_pool_max=3,
        db_statement_timeout_ms=500,
        db_query_timeout_s=1.0,
    )
    app = app_client(settings)
    async with app as http:
        assert (await http.get("/api/v1/objects", headers=coordinator)).status_code == 200
        pool: asyncpg.Pool = app.app.state.db_pool

        async def pool_is_open() -> bool:
            return pool.get_size() == 3 and pool.get_idle_size() == 3

        await wait_until(pool_is_open)
        fault_db.server.freeze()
        try:
            async with asyncio.timeout(BOUND_S):
                read, write, newcomer = await asyncio.gather(
                    http.get("/api/v1/objects", headers=coordinator),
                    http.post("/api/v1/objects", json=object_body(), headers=coordinator),
                    # A user not yet cached: the token's user record is looked up first.
                    http.get("/api/v1/me", headers=auth("insp-newcomer", roles=["inspector"])),
                )
            assert_problem(read, 503, "database_unavailable")
            assert_problem(write, 503, "database_unavailable")
            assert_problem(newcomer, 503, "database_unavailable")
        finally:
            fault_db.server.thaw()
        await _until_answered(http, "/api/v1/objects", coordinator, 200)


async def test_a_deactivation_reaches_the_cache_again_after_postgresql_restarts(
    fault_db: FaultDatabase, data_dir: Path, auth
):
    admin = auth("admin-restart", roles=["admin"])
    inspector = auth(f"insp-{uuid.uuid4().hex[:8]}", roles=["inspector"])
    # Only the LISTEN session can evict the inspector within this test: the cache would last an hour.
    settings = make_settings(fault_db.runtime_url, data_dir, user_cache_s=3600)
    owner = await core_db.connect(fault_db.owner_url)

    async def listening() -> bool:
        return (
            await owner.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
            == 1
        )

    try:
        async with app_client(settings) as http:
            await wait_until(listening, timeout_s=BOUND_S)
            await asyncio.to_thread(fault_db.server.restart)
            owner = await core_db.connect(fault_db.owner_url)
            await wait_until(listening, timeout_s=BOUND_S)

            me = (await _until_answered(http, "/api/v1/me", inspector, 200)).json()
            assert (await http.get("/api/v1/me", headers=admin)).status_code == 200
            etag = (await http.get(f"/api/v1/users/{me['id']}", headers=admin)).headers["etag"]
            deactivated = await http.post(
                f"/api/v1/users/{me['id']}/deactivate",
                json={"reason": "uit dienst"},
                headers={**admin, "If-Match": etag},
            )
            assert deactivated.status_code == 200, deactivated.text
            refused = await _until_answered(http, "/api/v1/me", inspector, 401)
            assert refused.json()["code"] == "user_deactivated"
    finally:
        await owner.close()
