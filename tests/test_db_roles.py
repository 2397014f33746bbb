"""The service's database role cannot rewrite the audit trail (backend/core/roles.py, migration 0017).

The app connects as the service's role; everything here runs as that role, as a compromised service would.
"""

from __future__ import annotations

import os
import shutil

import asyncpg
import pytest

from backend.core import db as core_db
from backend.core.config import PROJECT_ROOT
from backend.core.roles import user_of
from tests.conftest import RUNTIME_ROLE, create_database, drop_database, with_database
from tests.helpers import run_cli


@pytest.fixture
async def as_service(database_url):
    conn = await core_db.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def trail(client, auth, db) -> None:
    """A few audit events, written through the API as the service's role."""
    await client.get("/api/v1/me", headers=auth("insp-roles", roles=["inspector"]))
    await client.get("/api/v1/me", headers=auth("insp-roles-2", roles=["inspector"]))
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE seq IS NOT NULL") >= 2


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE audit_event SET reason = 'rewritten'", "permission denied for table audit_event"),
        ("DELETE FROM audit_event", "permission denied for table audit_event"),
        ("TRUNCATE audit_event", "permission denied for table audit_event"),
        ("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete", "must be owner of table audit_event"),
        ("ALTER TABLE audit_event DISABLE TRIGGER ALL", "must be owner of table audit_event"),
        ("DROP TRIGGER audit_event_no_update_delete ON audit_event", "must be owner of relation audit_event"),
    ],
)
async def test_service_role_cannot_change_the_audit_trail(trail, as_service, db, statement, refusal):
    before = await db.fetch("SELECT * FROM audit_event ORDER BY seq")
    with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
        await as_service.execute(statement)
    assert refusal in str(refused.value)  # refused by privilege, not only by the append-only trigger
    assert await db.fetch("SELECT * FROM audit_event ORDER BY seq") == before


async def test_service_role_is_no_superuser_owns_nothing_and_may_not_truncate(as_service):
    role = await as_service.fetchrow(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
    )
    assert role["rolname"] == RUNTIME_ROLE
    assert not (role["rolsuper"] or role["rolcreaterole"] or role["rolcreatedb"])
    owned = await as_service.fetchval(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    )
    assert owned == 0
    truncatable = await as_service.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        " AND has_table_privilege(current_user, format('%I.%I', schemaname, tablename), 'TRUNCATE')"
    )
    assert truncatable == []
    audit = {
        p: await as_service.fetchval("SELECT has_table_privilege(current_user, 'audit_event', $1)", p)
        for p in ("SELECT", "INSERT", "UPDATE", "DELETE")
    }
    assert audit == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False}


async def test_the_app_connects_as_the_service_role_and_still_links_its_audit_events(client, auth, db, settings):
    assert user_of(settings.database_url) == RUNTIME_ROLE
    await client.get("/api/v1/me", headers=auth("insp-linked", roles=["inspector"]))
    users = await db.fetch("SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'toezicht'")
    assert [row["usename"] for row in users] == [RUNTIME_ROLE]
    # Linked at commit by the owner's function: no event is left unlinked.
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE seq IS NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'user'") >= 1


async def test_migrate_grants_the_service_role_on_every_run_also_for_new_tables(
    pg_server_url, runtime_server_url, tmp_path
):
    """`toezicht migrate` as the owner (MIGRATION_DATABASE_URL) grants the role in DATABASE_URL; a table a
    later migration adds is granted too, and a second run changes nothing."""
    name = await create_database(pg_server_url, template=None)
    owner_url, service_url = with_database(pg_server_url, name), with_database(runtime_server_url, name)
    migrations = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", migrations)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_")}
    env.update(
        DATABASE_URL=service_url,
        MIGRATION_DATABASE_URL=owner_url,
        TOEZICHT_MIGRATIONS_DIR=str(migrations),
        TOEZICHT_DATA_DIR=str(tmp_path),
    )
    service = None
    try:
        assert (await run_cli("migrate", env=env))[0] == 0
        (migrations / "9999_later_table.sql").write_text("CREATE TABLE later_table (id integer PRIMARY KEY);")
        code, out = await run_cli("migrate", env=env)
        assert code == 0 and "applied 9999_later_table.sql" in out
        assert (await run_cli("migrate", env=env)) == (0, "migrations: up to date\n")
        service = await core_db.connect(service_url)
        await service.execute("INSERT INTO later_table (id) VALUES (1)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await service.execute("TRUNCATE later_table")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await service.execute("DELETE FROM audit_event")
        # The service's role alone may run the migrator while nothing is pending (serve does at start).
        env.pop("MIGRATION_DATABASE_URL")
        assert (await run_cli("migrate", env=env)) == (0, "migrations: up to date\n")
    finally:
        if service is not None:
            await service.close()
        await drop_database(pg_server_url, name)
