"""Users: kept in step with verified tokens, listed for planners, deactivated by admins.

`PrincipalDirectory` turns verified claims into a Principal. It caches per (issuer, subject) so a
request with a known token costs no database round trip; the cache entry is refreshed when the token's
claims differ, after `user_cache_s`, or at once when another process (de)activates the user (NOTIFY on
`app_user_changed`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Collection
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, NotFound, Unauthorized
from backend.core.ids import new_id
from backend.core.pagination import PageRequest, decode_cursor, keyset_page
from backend.core.tokens import Claims
from backend.users import queries
from backend.users.models import Me, User, UserFilters, UserPage

_CLAIM_FIELDS = ("display_name", "roles", "regimes", "teams")


class _Entry(msgspec.Struct):
    principal: Principal
    active: bool
    claims: Claims
    fetched_at: float


class PrincipalDirectory:
    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self._entries: dict[tuple[str, str], _Entry] = {}

    def known(self, claims: Claims) -> Principal | None:
        """The caller from the cache, or None when the entry is missing, stale or from other claims: most
        requests are answered here without an await (tests/bench/bench_http.py)."""
        entry = self._entries.get((claims.iss, claims.sub))
        if entry is None or entry.claims != claims or time.monotonic() - entry.fetched_at > self.ttl_s:
            return None
        return _active(entry)

    async def resolve(self, claims: Claims, request_id: str | None = None) -> Principal:
        known = self.known(claims)
        if known is not None:
            return known
        entry = self._entries[(claims.iss, claims.sub)] = await self._refresh(claims, request_id)
        return _active(entry)

    def forget(self, user_id: str) -> None:
        """Drop a user's cache entry (called when another process changed the user)."""
        for key, entry in list(self._entries.items()):
            if str(entry.principal.user_id) == user_id:
                del self._entries[key]

    def forget_all(self) -> None:
        """Drop every cache entry (changes may have been missed while no one listened)."""
        self._entries.clear()

    async def _refresh(self, claims: Claims, request_id: str | None) -> _Entry:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await sync_user_from_claims(conn, claims, request_id)
        return _Entry(_principal(row), row["active"], claims, time.monotonic())


def _active(entry: _Entry) -> Principal:
    if not entry.active:
        raise Unauthorized("This user has been deactivated.", code="user_deactivated")
    return entry.principal


async def sync_user_from_claims(
    conn: asyncpg.Connection, claims: Claims, request_id: str | None = None
) -> asyncpg.Record:
    """Create or refresh the user record from a verified token; audit registration and claim changes."""
    row = await conn.fetchrow(queries.LOCK_BY_IDENTITY, claims.iss, claims.sub)
    # A token without a name keeps the name we know (development tokens usually carry none).
    name = claims.name if claims.name is not None or row is None else row["display_name"]
    wanted = {
        "display_name": name,
        "roles": list(claims.roles),
        "regimes": list(claims.regimes),
        "teams": list(claims.teams),
    }
    if row is None:
        row = await conn.fetchrow(queries.INSERT_FROM_TOKEN, new_id(), claims.iss, claims.sub, *wanted.values())
        if row is None:  # a concurrent first request registered the same user
            return await conn.fetchrow(queries.LOCK_BY_IDENTITY, claims.iss, claims.sub)
        await _record_token_claims(conn, row["id"], "registered", request_id, before=None, after=wanted)
        return row
    before = {field: row[field] for field in _CLAIM_FIELDS}
    if before == wanted:
        await conn.execute(queries.TOUCH, row["id"])
        return row
    row = await conn.fetchrow(queries.REFRESH_FROM_TOKEN, row["id"], *wanted.values())
    await _record_token_claims(conn, row["id"], "claims_changed", request_id, before=before, after=wanted)
    return row


async def _record_token_claims(
    conn: asyncpg.Connection,
    user_id: UUID,
    verb: str,
    request_id: str | None,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """Audit what a verified token's claims did to its user (`user.<verb>`); the token is the actor."""
    await audit.record(
        conn,
        actor=audit.Actor("token", user_id),
        action=f"user.{verb}",
        object_type="user",
        object_id=user_id,
        request_id=request_id,
        before=before,
        after=after,
    )


def _principal(row: asyncpg.Record) -> Principal:
    return Principal(
        user_id=row["id"],
        subject=row["subject"],
        issuer=row["issuer"],
        roles=frozenset(row["roles"]),
        regimes=frozenset(row["regimes"]),
        teams=frozenset(row["teams"]),
        display_name=row["display_name"],
    )


async def stored_principal(conn: asyncpg.Connection, issuer: str, subject: str) -> Principal | None:
    """The stored user of this identity as the API sees them once signed in (None when there is none): for work
    the service does on a user's behalf without a request, such as the demo data."""
    row = await conn.fetchrow(queries.BY_IDENTITY, issuer, subject)
    return None if row is None else _principal(row)


@functools.lru_cache(maxsize=1024)
def me(principal: Principal) -> Me:
    """What GET /me answers for a caller; made once per caller (a frozen Principal is its own key), because a phone
    asks it often and sorting three sets per request was a measurable part of that answer."""
    return Me(
        id=principal.user_id,
        subject=principal.subject,
        display_name=principal.display_name,
        # A Principal's roles and regimes come from verified tokens, which keep only known ones (core.tokens);
        # it types them as str because core cannot name this feature's Role and Regime.
        roles=sorted(principal.roles),  # type: ignore[arg-type]
        regimes=sorted(principal.regimes),  # type: ignore[arg-type]
        teams=sorted(principal.teams),
    )


def _user(row: asyncpg.Record) -> User:
    return msgspec.convert(dict(row), User)


async def list_users(conn: asyncpg.Connection, filters: UserFilters, page: PageRequest) -> UserPage:
    after_subject, after_id = decode_cursor(page.cursor, tuple[str, UUID]) or (None, None)
    limit = page.limit
    rows = await conn.fetch(
        queries.LIST, filters.team, filters.role, filters.active, after_subject, after_id, limit + 1
    )
    items, next_cursor = keyset_page(rows, limit, _user, lambda last: (last.subject, str(last.id)))
    return UserPage(items=items, next_cursor=next_cursor)


async def get_user(conn: asyncpg.Connection, user_id: UUID) -> User:
    row = await conn.fetchrow(queries.GET, user_id)
    if row is None:
        raise NotFound("No such user.")
    return _user(row)


async def display_names(conn: asyncpg.Connection, user_ids: Collection[UUID]) -> dict[UUID, str | None]:
    """The name of each of these users (None for a user without one), in one query: other features' lists show
    who did what. Ids of no user are left out."""
    if not user_ids:
        return {}
    return {row["id"]: row["display_name"] for row in await conn.fetch(queries.DISPLAY_NAMES, list(user_ids))}


async def names_in_order(conn: asyncpg.Connection, user_ids: list[UUID]) -> list[tuple[UUID, str]]:
    """The names of these users (their subject when they have none), ordered by name as the database orders
    text; ids of no user are left out."""
    if not user_ids:
        return []
    return [(row["id"], row["name"]) for row in await conn.fetch(queries.NAMES, user_ids)]


async def as_inspector(conn: asyncpg.Connection, user_id: UUID) -> tuple[User | None, str | None]:
    """The user behind an inspector id, or why they cannot be one: missing, deactivated, not an inspector."""
    try:
        user = await get_user(conn, user_id)
    except NotFound:
        return None, "no such user"
    if not user.active:
        return user, "this user is deactivated"
    if "inspector" not in user.roles:
        return user, "this user is not an inspector"
    return user, None


async def set_active(
    tx: asyncpg.Connection,
    principal: Principal,
    *,
    user_id: UUID,
    version: int,
    active: bool,
    reason: str,
    request_id: str | None,
) -> User:
    if not active and user_id == principal.user_id:
        raise Conflict("You cannot deactivate yourself; ask another admin.", code="cannot_deactivate_self")
    current = await get_user(tx, user_id)
    row = await tx.fetchrow(queries.SET_ACTIVE, user_id, version, active)
    if row is None:
        raise stale(current.version)
    await tx.execute(queries.NOTIFY_CHANGED, str(user_id))
    await audit.record_user_action(
        tx,
        principal,
        "user",
        user_id,
        "activated" if active else "deactivated",
        request_id=request_id,
        reason=reason,
        before={"active": current.active},
        after={"active": active},
    )
    return _user(row)
