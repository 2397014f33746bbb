"""Forward-only SQL migrations: `migrations/NNNN_name.sql`, applied in order, each once.

Two instances starting together must not both apply a file: the runner holds a session-level advisory
lock for its whole run. Each file runs in its own transaction together with its bookkeeping row, and
the file's SHA-256 is recorded; an applied file whose content changed afterwards stops startup, because
the database no longer matches what the repository says it is.

Migrations run as the schema's owner. Given the service's role, a run ends by granting it what it needs
(core.roles), so tables added by the run are covered. A role that may not migrate (the service's own) can
still run this when nothing is pending: it only reads the bookkeeping then.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from backend.core.roles import grant_runtime_role

# Arbitrary but fixed: the advisory lock key that serialises migration runs ("toezicht" in ASCII).
MIGRATION_LOCK_KEY = 0x746F657A69636874
FILE_PATTERN = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migration (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path) -> list[Migration]:
    if not directory.is_dir():
        raise MigrationError(f"migrations directory not found: {directory}")
    migrations: list[Migration] = []
    seen_numbers: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(f"migration file name must look like NNNN_name.sql: {path.name}")
        number = match.group(1)
        if number in seen_numbers:
            raise MigrationError(f"two migrations share number {number}: {seen_numbers[number]}, {path.name}")
        seen_numbers[number] = path.name
        migrations.append(Migration(path.name, path.read_text(encoding="utf-8")))
    return migrations


async def migrate(conn: asyncpg.Connection, directory: Path, *, runtime_role: str | None = None) -> list[str]:
    """Apply pending migrations, then grant `runtime_role` its privileges; return the names applied."""
    migrations = discover(directory)
    applied = await _applied(conn)
    _check_applied_unchanged(migrations, applied)
    if runtime_role is None and all(migration.name in applied for migration in migrations):
        return []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(_BOOKKEEPING)
        applied = await _applied(conn)  # another instance may have applied some while we waited for the lock
        _check_applied_unchanged(migrations, applied)
        done: list[str] = []
        for migration in migrations:
            if migration.name in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migration (name, checksum) VALUES ($1, $2)", migration.name, migration.checksum
                )
            done.append(migration.name)
        if runtime_role is not None:
            await grant_runtime_role(conn, runtime_role)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def _applied(conn: asyncpg.Connection) -> dict[str, str]:
    if not await conn.fetchval("SELECT to_regclass('schema_migration') IS NOT NULL"):
        return {}
    return {row["name"]: row["checksum"] for row in await conn.fetch("SELECT name, checksum FROM schema_migration")}


def _check_applied_unchanged(migrations: list[Migration], applied: dict[str, str]) -> None:
    on_disk = {m.name: m for m in migrations}
    for name, checksum in sorted(applied.items()):
        migration = on_disk.get(name)
        if migration is None:
            raise MigrationError(
                f"migration {name} was applied to the database but is missing from the migrations directory"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {name} changed after it was applied (checksum {checksum[:12]} in the database, "
                f"{migration.checksum[:12]} on disk); write a new migration instead of editing an applied one"
            )
