"""A database as it was before a migration, to test what the migration does to data written the old way."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from backend.core import db as core_db
from backend.core.config import PROJECT_ROOT
from backend.core.migrations import migrate
from tests.conftest import create_database, drop_database, with_database


@contextlib.asynccontextmanager
async def database_before(pg_server_url: str, tmp_path: Path, migration: str) -> AsyncIterator[tuple[str, Path]]:
    """A new database migrated up to the migration before `migration` (its file name), and a directory holding
    those migrations (add the next ones to it and migrate again); dropped afterwards."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    for path in sorted((PROJECT_ROOT / "migrations").glob("*.sql")):
        if path.name < migration:
            shutil.copy(path, directory / path.name)
    name = await create_database(pg_server_url, template=None)
    url = with_database(pg_server_url, name)
    conn = await core_db.connect(url)
    try:
        await migrate(conn, directory)
    finally:
        await conn.close()
    try:
        yield url, directory
    finally:
        await drop_database(pg_server_url, name)
