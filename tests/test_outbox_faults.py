"""The outbox loses nothing when a dispatcher is killed mid-delivery (kill -9 of a separate `toezicht dispatch`)
or PostgreSQL restarts under it: afterwards every message was delivered at least once, and a message delivered
twice carried the same webhook-id both times. The first delivery is held open by the receiver, so "mid-delivery"
is a fact the test waits for, not a matter of timing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx

from backend.core import db as core_db
from tests.conftest import app_client, make_settings, wait_until
from tests.fault_postgres import FaultDatabase, fault_db, faulty_pg  # noqa: F401 - fixtures
from tests.helpers import TOEZICHT
from tests.inspection_helpers import build_world
from tests.outbox_helpers import FAST, Receiver, messages, receiving, submit_cafe, subscribe, until_all_delivered

EVENTS = 5
BOUND_S = 60.0
# A short lease: a killed dispatcher's claims come back within seconds.
SHORT_LEASE = {**FAST, "outbox_lease_s": 3.0, "outbox_delivery_timeout_s": 2.0}


def dispatch(database_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    """`toezicht dispatch` as a process of its own, configured like the tests' app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        TOEZICHT_DATA_DIR=str(data_dir),
        TOEZICHT_LOG_LEVEL="warning",
        **{f"TOEZICHT_{name.upper()}": _env_value(value) for name, value in SHORT_LEASE.items()},
    )
    return subprocess.Popen([str(TOEZICHT), "dispatch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _env_value(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


async def arrived(receiver: Receiver) -> None:
    async def held() -> bool:
        return receiver.arrived.is_set()

    await wait_until(held, timeout_s=BOUND_S)


def assert_each_delivered_with_stable_ids(receiver: Receiver, rows: list[dict]) -> Counter[str]:
    sent = Counter(receiver.ids())
    assert set(sent) == {str(row["id"]) for row in rows}, "a message was never delivered"
    assert all(receiver.verified(delivery) for delivery in receiver.deliveries)
    return sent


async def test_a_dispatcher_killed_mid_delivery_loses_nothing(database_url, data_dir, auth, db):
    settings = make_settings(database_url, data_dir, **SHORT_LEASE, outbox_dispatcher=False)
    with receiving(Receiver(hold_first=True)) as receiver:
        async with app_client(settings) as client:
            world = await build_world(client, auth)
            await subscribe(client, world.h["admin"], receiver)
            for _ in range(EVENTS):
                await submit_cafe(client, world)
        first = dispatch(database_url, data_dir)
        try:
            await arrived(receiver)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, BOUND_S)
        finally:
            first.kill()
        receiver.release.set()
        second = dispatch(database_url, data_dir)
        try:
            await until_all_delivered(db, EVENTS, timeout_s=BOUND_S)
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(second.wait, BOUND_S) == 0  # stops cleanly on SIGTERM
    rows = await messages(db)
    assert len(rows) == EVENTS
    sent = assert_each_delivered_with_stable_ids(receiver, rows)
    # The held message was sent by the killed dispatcher and again, with the same id, after its lease.
    assert sent.most_common(1)[0][1] >= 2


async def test_nothing_is_lost_when_postgresql_restarts_under_the_dispatcher(
    fault_db: FaultDatabase,  # noqa: F811 - the fixture
    data_dir: Path,
    auth,
):
    settings = make_settings(fault_db.runtime_url, data_dir, **SHORT_LEASE)
    with receiving(Receiver(hold_first=True)) as receiver:
        async with app_client(settings) as client:
            world = await build_world(client, auth)
            await subscribe(client, world.h["admin"], receiver)
            for _ in range(EVENTS - 2):
                await submit_cafe(client, world)
            await arrived(receiver)
            await asyncio.to_thread(fault_db.server.restart)
            receiver.release.set()
            await _until_answered(client, world.h["admin"])
            for _ in range(2):
                await submit_cafe(client, world)
            owner = await core_db.connect(fault_db.owner_url)
            try:
                await until_all_delivered(owner, EVENTS, timeout_s=BOUND_S)
                rows = await messages(owner)
            finally:
                await owner.close()
    assert len(rows) == EVENTS
    assert_each_delivered_with_stable_ids(receiver, rows)


async def _until_answered(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    async def answered() -> bool:
        return (await client.get("/api/v1/me", headers=headers)).status_code == 200

    await wait_until(answered, timeout_s=BOUND_S)
