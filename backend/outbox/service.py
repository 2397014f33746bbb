"""Subscriptions, the outbox and dead letters: the rules and the transactions.

An event that leaves the service is written to `outbox_message` by `on_event`, a reaction that
backend/reactions.py registers for every type in models.EVENT_TYPES: it runs inside `announce`, in the
transaction of the change, so a message exists exactly when its change committed (a reaction rather than a hook
in core/events.py: the outbox is a feature like the others, and core knows no features). The dispatcher
(dispatcher.py) delivers the messages afterwards, outside any request.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.config import Settings
from backend.core.errors import Conflict, FieldProblems, NotFound
from backend.core.events import Event, Statement, StatementReaction
from backend.core.ids import new_id
from backend.core.pagination import PageRequest, decode_cursor, keyset_page
from backend.enforcement import mailing
from backend.outbox import queries, webhooks
from backend.outbox.destinations import Allowlist, Refused, checked_url, resolve
from backend.outbox.models import (
    Claimed,
    DeliveryState,
    MessageFilters,
    OutboxMessage,
    OutboxMessagePage,
    Subscription,
    SubscriptionCreate,
    SubscriptionPage,
    SubscriptionWithSecret,
)

OBJECT_TYPE = "webhook_subscription"


# --- the outbox ----------------------------------------------------------------------------------------


def _messages(happened: Event) -> list[Statement]:
    return [
        Statement(queries.ENQUEUE, (happened.id, happened.type, list(happened.regimes), webhooks.payload(happened)))
    ]


# A message per subscription that wants this event, in the announcing transaction (with the other statement
# reactions to it, in one round trip).
on_event = StatementReaction(_messages)


def retry_delay_s(attempts: int, settings: Settings) -> float:
    """Exponential back-off with jitter: base * 2^(attempts-1), capped, then a random 50-100% of it, so that
    receivers coming back from an outage are not hit by every message at the same moment."""
    delay: float = min(settings.outbox_retry_base_s * 2.0 ** min(attempts - 1, 60), settings.outbox_retry_max_s)
    return delay * random.uniform(0.5, 1.0)


async def claim(conn: asyncpg.Connection, settings: Settings, limit: int) -> list[Claimed]:
    rows = await conn.fetch(queries.CLAIM, settings.outbox_lease_s, limit, settings.smtp_host is not None)
    return [
        Claimed(
            id=row["id"],
            claim=row["claim"],
            attempts=row["attempts"],
            payload=row["payload"],
            url=row["url"] or "",
            secrets=[s for s in (row["secret"], row["previous_secret"]) if s],
            channel=row["channel"],
            event_type=row["event_type"],
            complaint_id=row["complaint_id"],
            step_id=row["step_id"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


async def record_delivered(conn: asyncpg.Connection, delivered: list[tuple[Claimed, int | None]]) -> None:
    """Messages the receivers took (with their HTTP status), where the claim is still ours; a letter's e-mail
    tells enforcement when its letter was made known, in the same transaction."""
    async with conn.transaction():
        recorded = await conn.fetch(
            queries.DELIVERED,
            [message.id for message, _ in delivered],
            [message.claim for message, _ in delivered],
            [status for _, status in delivered],
        )
        for row in recorded:
            if row["step_id"] is not None:
                await mailing.emailed(conn, row["step_id"], row["delivered_at"])


async def record_failed(
    conn: asyncpg.Connection, message: Claimed, outcome: webhooks.Outcome, settings: Settings
) -> tuple[asyncpg.Record | None, float]:
    """The message's state after a failed attempt (None when its claim was lost) and the delay before the next."""
    delay = retry_delay_s(message.attempts, settings)
    row = await conn.fetchrow(
        queries.FAILED,
        message.id,
        message.claim,
        delay,
        outcome.status,
        outcome.error,
        settings.outbox_max_attempts,
        outcome.final,
    )
    return row, delay


async def next_due(conn: asyncpg.Connection, settings: Settings) -> datetime | None:
    due: datetime | None = await conn.fetchval(queries.NEXT_DUE, settings.smtp_host is not None)
    return due


async def backlog(conn: asyncpg.Connection) -> dict[str, Any]:
    """For /health/ready's detail: messages waiting, dead letters, and the age of the oldest waiting one."""
    row = await conn.fetchrow(queries.BACKLOG)
    return {"pending": row["pending"], "dead": row["dead"], "oldest_pending_s": round(row["oldest_pending_s"], 3)}


# --- subscriptions -------------------------------------------------------------------------------------


async def create_subscription(
    tx: asyncpg.Connection,
    principal: Principal,
    body: SubscriptionCreate,
    settings: Settings,
    request_id: str | None,
) -> SubscriptionWithSecret:
    await _check_subscription(principal, body, settings)
    subscription_id, secret = new_id(), webhooks.new_secret()
    event_types, regimes = sorted(set(body.event_types)), sorted(set(body.regimes))
    await tx.execute(
        queries.INSERT_SUBSCRIPTION,
        subscription_id,
        body.url,
        event_types,
        regimes,
        body.description,
        secret,
        principal.user_id,
    )
    await audit.record_user_action(
        tx,
        principal,
        OBJECT_TYPE,
        subscription_id,
        "created",
        request_id=request_id,
        after={"url": body.url, "event_types": event_types, "regimes": regimes},
    )
    return _with_secret(await get_subscription(tx, subscription_id), secret)


async def _check_subscription(principal: Principal, body: SubscriptionCreate, settings: Settings) -> None:
    problems = FieldProblems()
    try:
        parts = checked_url(
            body.url, Allowlist.of(settings.webhook_allowed_hosts), allow_http=settings.webhook_allow_http
        )
        await resolve(parts, Allowlist.of(settings.webhook_allowed_hosts))
    except Refused as refused:
        problems.add("/url", str(refused), "url_not_allowed")
    outside = sorted(set(body.regimes) - principal.regimes)
    if outside:
        problems.add("/regimes", f"Outside your regime scope: {', '.join(outside)}.", "regime_out_of_scope")
    problems.raise_if_any()


def _with_secret(subscription: Subscription, secret: str) -> SubscriptionWithSecret:
    return SubscriptionWithSecret(**msgspec.structs.asdict(subscription), secret=secret)


def _subscription(row: asyncpg.Record) -> Subscription:
    values = dict(row)
    deliveries = DeliveryState(**{field: values.pop(field) for field in DeliveryState.__struct_fields__})
    return msgspec.convert({**values, "deliveries": deliveries}, Subscription, from_attributes=True)


async def get_subscription(conn: asyncpg.Connection, subscription_id: UUID) -> Subscription:
    row = await conn.fetchrow(queries.GET_SUBSCRIPTION, subscription_id)
    if row is None:
        raise NotFound("No such subscription.")
    return _subscription(row)


async def list_subscriptions(conn: asyncpg.Connection, page: PageRequest) -> SubscriptionPage:
    after_time, after_id = decode_cursor(page.cursor, tuple[datetime, UUID]) or (None, None)
    limit = page.limit
    rows = await conn.fetch(queries.LIST_SUBSCRIPTIONS, after_time, after_id, limit + 1)
    items, next_cursor = keyset_page(rows, limit, _subscription, lambda s: (s.created_at, s.id))
    return SubscriptionPage(items=items, next_cursor=next_cursor)


async def delete_subscription(
    tx: asyncpg.Connection, principal: Principal, subscription_id: UUID, version: int, request_id: str | None
) -> None:
    """Nothing more is sent to it; its waiting messages are cancelled, its history stays."""
    current = await get_subscription(tx, subscription_id)
    if await tx.fetchval(queries.DELETE_SUBSCRIPTION, subscription_id, version) is None:
        raise stale(current.version)
    await tx.execute(queries.CANCEL_PENDING, subscription_id)
    before = {"url": current.url, "event_types": current.event_types, "regimes": current.regimes}
    await audit.record_user_action(
        tx, principal, OBJECT_TYPE, subscription_id, "deleted", request_id=request_id, before=before
    )


async def rotate_secret(
    tx: asyncpg.Connection,
    principal: Principal,
    subscription_id: UUID,
    version: int,
    settings: Settings,
    request_id: str | None,
) -> SubscriptionWithSecret:
    """A new secret; the previous one keeps signing too for the overlap, so receivers can switch in their time."""
    current = await get_subscription(tx, subscription_id)
    secret = webhooks.new_secret()
    rotated = await tx.fetchval(
        queries.ROTATE_SECRET, subscription_id, version, settings.webhook_rotation_overlap_hours, secret
    )
    if rotated is None:
        raise stale(current.version)
    # The secret itself never goes into the audit trail.
    await audit.record_user_action(tx, principal, OBJECT_TYPE, subscription_id, "secret_rotated", request_id=request_id)
    return _with_secret(await get_subscription(tx, subscription_id), secret)


# --- messages and dead letters -------------------------------------------------------------------------


def _message(row: asyncpg.Record) -> OutboxMessage:
    return msgspec.convert(dict(row), OutboxMessage)


async def get_message(conn: asyncpg.Connection, message_id: UUID) -> OutboxMessage:
    row = await conn.fetchrow(queries.GET_MESSAGE, message_id)
    if row is None:
        raise NotFound("No such outbox message.")
    return _message(row)


async def list_messages(conn: asyncpg.Connection, filters: MessageFilters, page: PageRequest) -> OutboxMessagePage:
    after_time, after_id = decode_cursor(page.cursor, tuple[datetime, UUID]) or (None, None)
    limit = page.limit
    rows = await conn.fetch(
        queries.LIST_MESSAGES, filters.message_state, filters.subscription_id, after_time, after_id, limit + 1
    )
    items, next_cursor = keyset_page(rows, limit, _message, lambda m: (m.created_at, m.id))
    return OutboxMessagePage(items=items, next_cursor=next_cursor)


async def replay(
    tx: asyncpg.Connection, actor: audit.Actor, message_id: UUID, request_id: str | None = None
) -> OutboxMessage:
    """A dead letter is due again now, with its own id (receivers see the same webhook-id, or Message-ID). A
    letter's e-mail is not, once the letter was posted instead (the dispatcher cancels one that slips through)."""
    current = await get_message(tx, message_id)
    if current.step_id is not None and await mailing.letter_posted(tx, current.step_id):
        raise Conflict(
            "This letter was posted after its e-mail failed; sending the e-mail now would deliver it twice.",
            code="letter_posted",
        )
    if await tx.fetchrow(queries.REPLAY, message_id) is None:
        raise Conflict("Only a dead letter (of a subscription that still exists) can be replayed.", code="not_dead")
    await audit.record(
        tx,
        actor=actor,
        action="outbox_message.replayed",
        object_type="outbox_message",
        object_id=message_id,
        request_id=request_id,
        before={"state": current.state, "attempts": current.attempts},
    )
    return await get_message(tx, message_id)


async def dead_letter_ids(conn: asyncpg.Connection) -> list[UUID]:
    return [row["id"] for row in await conn.fetch(queries.DEAD_LETTER_IDS)]
