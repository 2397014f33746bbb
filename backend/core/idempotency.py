"""Idempotency-Key for POST commands (draft-ietf-httpapi-idempotency-key-header).

The key is stored per principal with a fingerprint of the request and the response, in the same
transaction as the command's effect, so a retry after a lost response gets that response and never a
second effect. While the first request runs it holds an advisory transaction lock on the key: a
concurrent duplicate does not wait, it gets 409 at once. A failed command stores nothing (its
transaction rolls back), so its retry simply runs again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
from litestar import Response

from backend.core.auth import AuthRequest, Principal
from backend.core.errors import BadRequest, Conflict, Unprocessable

REPLAY_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')
_KEPT_HEADERS = ("etag", "location")

_FIND = """
SELECT fingerprint, status_code, response_body, response_headers
FROM idempotency_key
WHERE user_id = $1 AND key = $2 AND expires_at > now()
"""
_STORE = """
INSERT INTO idempotency_key (user_id, key, fingerprint, status_code, response_body, response_headers, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval)
ON CONFLICT (user_id, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status_code = EXCLUDED.status_code, response_body = EXCLUDED.response_body,
    response_headers = EXCLUDED.response_headers, created_at = now(), expires_at = EXCLUDED.expires_at
"""

Command = Callable[[], Awaitable[Response[Any]]]


def parse_key(raw: str | None) -> str | None:
    """The key from an Idempotency-Key header (a bare token or an RFC 8941 string); None when absent."""
    if raw is None:
        return None
    match = _KEY.match(raw.strip())
    if not match:
        raise BadRequest("Idempotency-Key must be 1-255 visible ASCII characters.", code="idempotency_key_invalid")
    return match.group(1)


async def run_once(
    request: AuthRequest, tx: asyncpg.Connection, command: Command, *, raw_key: str | None
) -> Response[Any]:
    """Run `command` at most once per (caller, Idempotency-Key); without a key, just run it. Keys are kept
    for the app's `idempotency_ttl`."""
    principal: Principal = request.user
    ttl: timedelta = request.app.state.idempotency_ttl
    key = parse_key(raw_key)
    if key is None:
        return await command()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + await request.body()
    ).hexdigest()
    lock_id = int.from_bytes(hashlib.sha256(f"{principal.user_id}:{key}".encode()).digest()[:8], "big", signed=True)
    if not await tx.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_id):
        raise Conflict("A request with this Idempotency-Key is still being processed.", code="idempotency_in_progress")
    stored = await tx.fetchrow(_FIND, principal.user_id, key)
    if stored is not None:
        if stored["fingerprint"] != fingerprint:
            raise Unprocessable("This Idempotency-Key was used for a different request.", code="idempotency_key_reused")
        headers = {**stored["response_headers"], REPLAY_HEADER: "true"}
        return Response(
            stored["response_body"], status_code=stored["status_code"], headers=headers, media_type="application/json"
        )
    response = await command()
    body = response.render(response.content, "application/json")
    # A Response without an explicit status gets the route's default only later; store the one the client sees.
    status = response.status_code or request.route_handler.status_code
    kept = {name: value for name, value in response.headers.items() if name.lower() in _KEPT_HEADERS}
    await tx.execute(_STORE, principal.user_id, key, fingerprint, status, body, kept, ttl)
    return Response(body, status_code=status, headers=kept, media_type="application/json")


async def purge_expired(conn: asyncpg.Connection) -> int:
    result = await conn.execute("DELETE FROM idempotency_key WHERE expires_at <= now()")
    return int(result.split()[-1])
