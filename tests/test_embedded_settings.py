"""The embedded PostgreSQL's settings follow the memory of the machine it runs on."""

from __future__ import annotations

import os

import asyncpg
import pytest

from backend.core.embedded import machine_memory, settings_for

GB = 1024**3


def test_a_large_machine_gets_two_gigabytes_of_shared_buffers_and_half_its_memory_as_cache():
    settings = settings_for(23 * GB)
    assert settings["shared_buffers"] == "2048MB"
    assert settings["effective_cache_size"] == f"{23 * 1024 // 2}MB"
    assert settings["work_mem"] == "23MB"
    assert settings["maintenance_work_mem"] == "512MB"


def test_a_small_machine_gets_a_quarter_of_its_memory_and_the_floors():
    settings = settings_for(2 * GB)
    assert settings["shared_buffers"] == "512MB"
    assert settings["effective_cache_size"] == "1024MB"
    assert settings["work_mem"] == "4MB"
    assert settings["maintenance_work_mem"] == "64MB"


@pytest.mark.parametrize("memory", [1 * GB, 8 * GB, 64 * GB])
def test_durability_is_never_traded_and_wal_and_planner_suit_an_ssd(memory):
    settings = settings_for(memory)
    assert not {"fsync", "synchronous_commit", "full_page_writes"} & settings.keys()
    assert settings["max_wal_size"] == "4GB"
    assert settings["checkpoint_completion_target"] == "0.9"
    assert settings["wal_compression"] == "on"
    assert settings["random_page_cost"] == "1.1"


async def test_the_embedded_server_runs_with_them_after_its_first_start(pg_server_url):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the suite runs on a server of its own, not the embedded one")
    wanted = settings_for(machine_memory())
    conn = await asyncpg.connect(pg_server_url)
    try:
        # shared_buffers takes a restart: in 8 kB pages, as pg_settings counts it.
        pages = int(await conn.fetchval("SELECT setting FROM pg_settings WHERE name = 'shared_buffers'"))
        cost = await conn.fetchval("SHOW random_page_cost")
    finally:
        await conn.close()
    assert pages * 8192 == int(wanted["shared_buffers"].removesuffix("MB")) * 1024 * 1024
    assert cost == wanted["random_page_cost"]
