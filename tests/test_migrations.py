"""The migration runner (backend/core/migrations.py) and `toezicht migrate` / `toezicht serve` startup.

Each test gets a new, empty database (no template) and writes its own migration files into a tmp dir.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend.core import db as core_db
from backend.core.config import PROJECT_ROOT
from backend.core.migrations import MIGRATION_LOCK_KEY, MigrationError, migrate
from tests.conftest import create_database, drop_database, wait_until, with_database
from tests.helpers import run_cli

# 0002 needs 0001's table and 0010 needs 0002's: applying out of order fails outright.
FILES = {
    "0001_thing.sql": "CREATE TABLE thing (id integer PRIMARY KEY, label text NOT NULL);",
    "0002_part.sql": (
        "INSERT INTO thing (id, label) VALUES (1, 'one');\n"
        "CREATE TABLE part (thing_id integer NOT NULL REFERENCES thing (id));"
    ),
    "0010_part_row.sql": "INSERT INTO part (thing_id) VALUES (1);",
}
ALL_NAMES = sorted(FILES)


@pytest.fixture
async def empty_db_url(pg_server_url: str) -> AsyncIterator[str]:
    name = await create_database(pg_server_url, template=None)
    yield with_database(pg_server_url, name)
    await drop_database(pg_server_url, name)


@pytest.fixture
async def conn(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await core_db.connect(empty_db_url)
    yield connection
    await connection.close()


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    return directory


def write(directory: Path, files: dict[str, str]) -> None:
    # Highest number first, so a runner that trusted directory order would be caught more often.
    for name in sorted(files, reverse=True):
        (directory / name).write_text(files[name], encoding="utf-8")


async def recorded(conn: asyncpg.Connection) -> list[str]:
    return [r["name"] for r in await conn.fetch("SELECT name FROM schema_migration ORDER BY applied_at")]


async def table_exists(conn: asyncpg.Connection, name: str) -> bool:
    return await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)


# --- the runner ------------------------------------------------------------------------------------


async def test_applies_in_numeric_order_and_only_once(conn, mig_dir):
    write(mig_dir, FILES)

    assert await migrate(conn, mig_dir) == ALL_NAMES

    rows = await conn.fetch("SELECT name, checksum, applied_at FROM schema_migration ORDER BY applied_at")
    assert [r["name"] for r in rows] == ALL_NAMES
    # Each file commits in its own transaction, so the timestamps are distinct and show the order.
    assert all(a["applied_at"] < b["applied_at"] for a, b in itertools.pairwise(rows))
    assert {r["name"]: r["checksum"] for r in rows} == {
        name: hashlib.sha256(sql.encode()).hexdigest() for name, sql in FILES.items()
    }
    assert await conn.fetchval("SELECT count(*) FROM part") == 1

    assert await migrate(conn, mig_dir) == []
    assert await conn.fetch("SELECT name, checksum, applied_at FROM schema_migration ORDER BY applied_at") == rows
    assert await conn.fetchval("SELECT count(*) FROM part") == 1


async def test_failing_migration_rolls_back_completely(conn, mig_dir, empty_db_url):
    write(
        mig_dir,
        {
            "0001_thing.sql": FILES["0001_thing.sql"],
            "0002_broken.sql": "CREATE TABLE half_done (id integer);\nINSERT INTO no_such_table VALUES (1);",
            "0003_after.sql": "CREATE TABLE after_broken (id integer);",
        },
    )

    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(conn, mig_dir)

    assert await table_exists(conn, "thing")
    assert not await table_exists(conn, "half_done")
    assert not await table_exists(conn, "after_broken")
    assert await recorded(conn) == ["0001_thing.sql"]
    # The run released its lock: another instance can migrate without waiting forever.
    other = await core_db.connect(empty_db_url)
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY)
        await other.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await other.close()

    # Fixing the (never applied) file lets the next run continue where it stopped.
    (mig_dir / "0002_broken.sql").write_text("CREATE TABLE half_done (id integer);", encoding="utf-8")
    assert await migrate(conn, mig_dir) == ["0002_broken.sql", "0003_after.sql"]


async def test_changed_applied_file_stops_everything(conn, mig_dir):
    write(mig_dir, {k: FILES[k] for k in ("0001_thing.sql", "0002_part.sql")})
    await migrate(conn, mig_dir)
    (mig_dir / "0001_thing.sql").write_text(FILES["0001_thing.sql"] + "\n-- edited later\n", encoding="utf-8")
    write(mig_dir, {"0003_new.sql": "CREATE TABLE brand_new (id integer);"})

    with pytest.raises(MigrationError, match=r"0001_thing\.sql"):
        await migrate(conn, mig_dir)

    assert not await table_exists(conn, "brand_new")
    assert await recorded(conn) == ["0001_thing.sql", "0002_part.sql"]


async def test_applied_file_missing_from_directory_is_refused(conn, mig_dir):
    write(mig_dir, {k: FILES[k] for k in ("0001_thing.sql", "0002_part.sql")})
    await migrate(conn, mig_dir)
    (mig_dir / "0002_part.sql").unlink()

    with pytest.raises(MigrationError, match=r"0002_part\.sql"):
        await migrate(conn, mig_dir)


@pytest.mark.parametrize("bad_name", ["1_x.sql", "0001-x.sql", "00002_x.sql", "0002_X.sql"])
async def test_bad_file_name_is_refused(conn, mig_dir, bad_name):
    write(mig_dir, {"0001_thing.sql": FILES["0001_thing.sql"], bad_name: "CREATE TABLE from_bad (id integer);"})

    with pytest.raises(MigrationError) as raised:
        await migrate(conn, mig_dir)

    assert bad_name in str(raised.value)
    assert not await table_exists(conn, "thing")
    assert not await table_exists(conn, "from_bad")


async def test_duplicate_number_is_refused(conn, mig_dir):
    write(
        mig_dir,
        {
            "0001_thing.sql": FILES["0001_thing.sql"],
            "0002_one.sql": "CREATE TABLE one (id integer);",
            "0002_two.sql": "CREATE TABLE two (id integer);",
        },
    )

    with pytest.raises(MigrationError) as raised:
        await migrate(conn, mig_dir)

    assert "0002_one.sql" in str(raised.value) and "0002_two.sql" in str(raised.value)
    for table in ("thing", "one", "two"):
        assert not await table_exists(conn, table)


async def test_two_instances_starting_together_apply_each_file_once(empty_db_url, mig_dir):
    write(mig_dir, FILES)
    holder, first, second = [await core_db.connect(empty_db_url) for _ in range(3)]
    try:
        # Hold the runner's lock so both runs are certainly in flight at the same time.
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        runs = [asyncio.create_task(migrate(c, mig_dir)) for c in (first, second)]

        async def both_waiting() -> bool:
            return (
                await holder.fetchval(
                    """SELECT count(*) FROM pg_locks
                   WHERE locktype = 'advisory' AND NOT granted AND database = (
                       SELECT oid FROM pg_database WHERE datname = current_database())
                     AND classid::bigint = $1 AND objid::bigint = $2""",
                    MIGRATION_LOCK_KEY >> 32,
                    MIGRATION_LOCK_KEY & 0xFFFFFFFF,
                )
                == 2
            )

        await wait_until(both_waiting)
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        results = await asyncio.wait_for(asyncio.gather(*runs), timeout=10)

        applied = [name for result in results for name in result]
        assert sorted(applied) == ALL_NAMES  # all files, none twice
        counts = await holder.fetch("SELECT name, count(*) AS n FROM schema_migration GROUP BY name ORDER BY name")
        assert [(r["name"], r["n"]) for r in counts] == [(name, 1) for name in ALL_NAMES]
        assert await holder.fetchval("SELECT count(*) FROM part") == 1
    finally:
        for c in (holder, first, second):
            await c.close()


async def test_real_migrations_apply_to_an_empty_database(conn):
    real_dir = PROJECT_ROOT / "migrations"
    assert await migrate(conn, real_dir) == sorted(p.name for p in real_dir.glob("*.sql"))

    for table in ("app_user", "idempotency_key", "audit_event", "wijk", "establishment"):
        assert await table_exists(conn, table), table
    assert await conn.fetchval("SELECT count(*) FROM wijk") == 10
    assert await migrate(conn, real_dir) == []


# --- the CLI ------------------------------------------------------------------------------------------


def cli_env(database_url: str, mig_dir: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, TOEZICHT_MIGRATIONS_DIR=str(mig_dir), TOEZICHT_DATA_DIR=str(data_dir))
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_cli_migrate_reports_applied_files(conn, empty_db_url, mig_dir, tmp_path):
    write(mig_dir, FILES)
    env = cli_env(empty_db_url, mig_dir, tmp_path)

    code, out = await run_cli("migrate", env=env)
    assert code == 0, out
    assert [line.removeprefix("applied ") for line in out.splitlines() if line.startswith("applied ")] == ALL_NAMES
    assert await recorded(conn) == ALL_NAMES

    code, out = await run_cli("migrate", env=env)
    assert code == 0, out
    assert "applied" not in out and "up to date" in out


async def test_cli_migrate_and_serve_refuse_a_changed_applied_file(conn, empty_db_url, mig_dir, tmp_path):
    write(mig_dir, FILES)
    await migrate(conn, mig_dir)
    (mig_dir / "0002_part.sql").write_text(FILES["0002_part.sql"] + "\n-- edited\n", encoding="utf-8")
    env = cli_env(empty_db_url, mig_dir, tmp_path)

    code, out = await run_cli("migrate", env=env)
    assert code != 0
    assert "0002_part.sql" in out

    # Migrations run before the server starts, so serve exits instead of serving a mismatched schema.
    code, out = await run_cli("serve", "--port", str(free_port()), env=env)
    assert code != 0
    assert "0002_part.sql" in out
    assert "Toezicht BW API on" not in out
