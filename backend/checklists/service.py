"""Checklists: publishing template versions, and serving the current ones to phones.

Publishing is one transaction per template: check the document (templates.check_template), lock the
template's row, compare with the latest version, refuse a question whose answer type differs from an
earlier version, insert the new version, write the audit event. A refusal raises before anything is
written, and the caller's transaction rolls back whatever it had begun, so nothing is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.checklists import queries, templates, validator
from backend.checklists.models import ChecklistList, ChecklistSummary, ChecklistVersion, Publication
from backend.core import audit
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.ids import new_id
from backend.core.publishing import (
    FileReport,
    checked_content,
    content_sha256,
    next_version,
    publish_files,
    refused,
    template_files,
)

ANY_REGIME = "any"


async def publish(
    tx: asyncpg.Connection, document: Any, *, actor: audit.Actor, published_by: UUID | None, request_id: str | None
) -> Publication:
    """Publish a template document as its next version, or report it unchanged; raises Unprocessable."""
    content = checked_content(
        tx, document, templates.check_template, detail="The checklist template is invalid.", code="checklist_invalid"
    )
    key, sha = content["key"], content_sha256(content)
    await tx.execute(queries.INSERT_TEMPLATE, key, content["regime"], content["title"])
    template = await tx.fetchrow(queries.LOCK_TEMPLATE, key)
    if template["regime"] != content["regime"]:
        raise refused(
            f"Template {key} belongs to regime {template['regime']}; a version cannot move it to {content['regime']}.",
            "regime_changed",
            [("/regime", f"must stay {template['regime']}")],
        )
    latest = await tx.fetchrow(queries.LATEST_VERSION, key)
    if latest is not None and latest["content_sha256"] == sha:
        return Publication(
            "unchanged", _version(await tx.fetchrow(queries.GET_VERSION_BY_NUMBER, key, latest["version"]))
        )
    types = templates.question_types(content)
    changed = _type_changes(content, types, await tx.fetch(queries.QUESTION_TYPES_HISTORY, key))
    if changed:
        raise refused(
            f"Template {key}: a question key keeps its answer type in every version; use a new key for "
            "a question of another type.",
            "question_type_changed",
            changed,
        )
    number = next_version(latest)
    version_id = new_id()
    await tx.execute(
        queries.INSERT_VERSION,
        version_id,
        key,
        number,
        content["kind"],
        content["title"],
        date.fromisoformat(content["valid_from"]),
        content,
        sha,
        types,
        published_by,
    )
    await tx.execute(queries.SET_TEMPLATE_TITLE, key, content["title"])
    version = _version(await tx.fetchrow(queries.GET_VERSION, version_id))
    await audit.record(
        tx,
        actor=actor,
        action="checklist.published",
        object_type="checklist_template",
        object_id=key,
        request_id=request_id,
        after={"version_id": str(version_id), "version": number, "content_sha256": sha},
    )
    return Publication("published", version)


def _type_changes(
    content: Mapping[str, Any], types: Mapping[str, str], history: list[asyncpg.Record]
) -> list[tuple[str, str]]:
    """Questions whose answer type differs from the latest earlier version that had the same key."""
    known: dict[str, tuple[str, int]] = {}
    for row in history:
        for key, type_ in row["question_types"].items():
            known[key] = (type_, row["version"])
    changes = []
    for at, item in validator.iter_items(content):
        key = item["key"]
        if key in known and known[key][0] != types[key]:
            old, version = known[key]
            changes.append(
                (
                    f"{at}/answer/type",
                    f"question {key} has type {old} in version {version}; it cannot become {types[key]}",
                )
            )
    return changes


def _version(row: asyncpg.Record) -> ChecklistVersion:
    return msgspec.convert(dict(row), ChecklistVersion)


# --- reading ---------------------------------------------------------------------------------------------


def _sees(principal: Principal, regime: str) -> bool:
    return regime == ANY_REGIME or principal.sees_regime(regime)


async def list_current(conn: asyncpg.Connection, principal: Principal) -> tuple[ChecklistList, str]:
    """The latest version of every template the caller may see, and an ETag over that list."""
    rows = await conn.fetch(queries.LIST_CURRENT, sorted(principal.regimes))
    items = [msgspec.convert(dict(row), ChecklistSummary) for row in rows]
    digest = hashlib.sha256("".join(f"{item.id}:{item.content_sha256}\n" for item in items).encode()).hexdigest()
    return ChecklistList(items=items), f'"{digest}"'


async def get_version(conn: asyncpg.Connection, principal: Principal, version_id: UUID) -> ChecklistVersion:
    """One version; a version of a regime the caller does not see does not exist for them (404)."""
    row = await conn.fetchrow(queries.GET_VERSION, version_id)
    if row is None or not _sees(principal, row["regime"]):
        raise NotFound("No such checklist version.")
    return _version(row)


async def get_versions(
    conn: asyncpg.Connection, principal: Principal, version_ids: list[UUID]
) -> list[ChecklistVersion]:
    """The versions of `version_ids` the caller may see, in one query (the others are left out)."""
    if not version_ids:
        return []
    rows = await conn.fetch(queries.GET_VERSIONS, version_ids)
    return [_version(row) for row in rows if _sees(principal, row["regime"])]


# Published versions never change (the database refuses it), so their content may be kept in process.
_VERSION_CACHE: dict[UUID, ChecklistVersion] = {}
_VERSION_CACHE_SIZE = 1024


async def get_version_cached(conn: asyncpg.Connection, principal: Principal, version_id: UUID) -> ChecklistVersion:
    """get_version without a database round trip for a version read before; visibility is checked each time."""
    version = _VERSION_CACHE.get(version_id)
    if version is None:
        version = await get_version(conn, principal, version_id)
        if len(_VERSION_CACHE) >= _VERSION_CACHE_SIZE:
            _VERSION_CACHE.clear()
        _VERSION_CACHE[version_id] = version
    elif not _sees(principal, version.regime):
        raise NotFound("No such checklist version.")
    return version


# --- publishing a directory (the CLI) ------------------------------------------------------------------


async def publish_directory(conn: asyncpg.Connection, directory: Path) -> list[FileReport]:
    """Publish every *.json template in `directory`, each in its own transaction: a refused file stores
    nothing and does not stop the others."""
    return await publish_files(conn, template_files(directory), identity="key", publish=publish)
