"""Forward-only SQL migrations: `migrations/NNNN_name.sql`, applied in order, each once.

Two instances starting together must not both apply a file: the runner holds a session-level advisory
lock for its whole run. Each file runs in its own transaction together with its bookkeeping row, and
the file's SHA-256 is recorded; an applied file whose content changed afterwards stops startup, because
the database no longer matches what the repository says it is.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

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


async def migrate(conn: asyncpg.Connection, directory: Path) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(_BOOKKEEPING)
        applied = {row["name"]: row["checksum"] for row in await conn.fetch("SELECT name, checksum FROM schema_migration")}
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
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


def _check_applied_unchanged(migrations: list[Migration], applied: dict[str, str]) -> None:
    on_disk = {m.name: m for m in migrations}
    for name, checksum in sorted(applied.items()):
        migration = on_disk.get(name)
        if migration is None:
            raise MigrationError(f"migration {name} was applied to the database but is missing from the migrations directory")
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {name} changed after it was applied (checksum {checksum[:12]} in the database, "
                f"{migration.checksum[:12]} on disk); write a new migration instead of editing an applied one"
            )
