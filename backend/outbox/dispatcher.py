"""The dispatcher: delivers outbox messages, at least once, from any number of processes at the same time.

It claims due messages (FOR UPDATE SKIP LOCKED, so processes never claim the same one) for the length of a lease,
delivers each outside any transaction, and records the outcome only if it still holds the claim. A process killed
mid-delivery (kill -9) leaves its messages claimed until the lease ends; then another process delivers them again
with the same webhook-id. A database that goes away costs only time: the dispatcher keeps trying, and what it
could not record is delivered again after the lease.

It runs inside `toezicht serve` (started and stopped with the app's lifespan) and as `toezicht dispatch`. It
wakes on NOTIFY when a transaction commits new messages, and otherwise looks every poll interval (or sooner,
when a retry is due).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import UTC, datetime

import asyncpg
import httpx
import structlog

from backend.core.config import Settings
from backend.core.db import CONNECTION_LOST, _init_connection
from backend.letters import service as letters
from backend.outbox import email, letter_mail, queries, service, webhooks
from backend.outbox.destinations import Allowlist
from backend.outbox.models import Claimed

log = structlog.get_logger("toezicht.outbox")
DATABASE_TROUBLE = (*CONNECTION_LOST, asyncpg.PostgresError)


POOL_SIZE = 3  # claims and outcomes are short statements; deliveries hold no connection
APPLICATION_NAME = "toezicht-outbox"


class Dispatcher:
    """Its connections are its own (a small pool and a LISTEN session), never the requests': a slow or stuck
    delivery round cannot take a connection a request is waiting for."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url
        self.settings = settings
        self.allowlist = Allowlist.of(settings.webhook_allowed_hosts)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        # Successes are recorded together, one statement for all that finished meanwhile: at a high rate that
        # saves a round trip (and a pooled connection) per message.
        self._delivered: list[tuple[Claimed, int | None]] = []
        self._to_record = asyncio.Event()
        # Claims wait until this many slots are free (or nothing is in flight): fewer, larger claims.
        self._claim_at = max(1, settings.outbox_concurrency // 2)
        self._database_lost = False  # logged once per outage, not at every poll

    @functools.cached_property
    def stored_letters(self) -> letters.Letters:
        """Where sent letters are stored (read when one is e-mailed)."""
        return letters.letters_for(self.settings)

    async def run(self) -> None:
        """Deliver until cancelled; deliveries in flight are cancelled with it (their lease brings them back)."""
        self.pool = await asyncpg.create_pool(
            self.settings.database_url,
            min_size=0,
            max_size=POOL_SIZE,
            init=_init_connection,  # jsonb as values, as the audit record of an e-mail's recipient read needs
            command_timeout=self.settings.db_query_timeout_s,
            statement_cache_size=0 if self.settings.db_pgbouncer else 100,
            server_settings={
                "statement_timeout": str(self.settings.db_statement_timeout_ms),
                "application_name": APPLICATION_NAME,
                "timezone": "UTC",
            },
        )
        listener = None if self.settings.db_pgbouncer else asyncio.create_task(self._listen())
        recorder = asyncio.create_task(self._record_forever())
        try:
            async with webhooks.client(self.settings.outbox_delivery_timeout_s) as http:
                while True:
                    try:
                        await self._round(http)
                    except Exception as exc:  # never the dispatcher's end: what a round claimed returns after its lease
                        log.error("outbox_round_failed", error=type(exc).__name__)
                        await self._wait(self.settings.outbox_poll_interval_s)
        finally:
            tasks = [*self._in_flight, recorder, *([listener] if listener else [])]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(*DATABASE_TROUBLE):  # what finished is kept; else it comes back after the lease
                async with asyncio.timeout(self.settings.db_acquire_timeout_s):
                    await self._record_delivered()
            await self._close_pool()

    async def _close_pool(self) -> None:
        """Close politely, so that a connection given back mid-query (a claim cut off by the stop) is reset
        before it goes; a database that does not answer must not hold up the stop."""
        try:
            await asyncio.wait_for(self.pool.close(), self.settings.db_acquire_timeout_s)
        except (TimeoutError, *DATABASE_TROUBLE):
            self.pool.terminate()

    async def _round(self, http: httpx.AsyncClient) -> None:
        free = self.settings.outbox_concurrency - len(self._in_flight)
        claimed: list[Claimed] = []
        wait_s = self.settings.outbox_poll_interval_s
        if free >= self._claim_at or not self._in_flight:
            self._wake.clear()
            try:
                async with self.pool.acquire() as conn:
                    claimed = await service.claim(conn, self.settings, free)
                    if not claimed and not self._in_flight:
                        wait_s = await self._until_next_due(conn)
                if self._database_lost:
                    self._database_lost = False
                    log.info("outbox_database_available")
            except DATABASE_TROUBLE as exc:
                if not self._database_lost:
                    self._database_lost = True
                    log.warning("outbox_database_unavailable", error=type(exc).__name__)
        for message in claimed:
            task = asyncio.create_task(self._deliver(http, message))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if len(claimed) == free and free > 0:
            return  # there may be more due right now
        await self._wait(wait_s)

    async def _until_next_due(self, conn: asyncpg.Connection) -> float:
        due = await service.next_due(conn, self.settings)
        poll = self.settings.outbox_poll_interval_s
        if due is None:
            return poll
        return max(0.0, min(poll, (due - datetime.now(UTC)).total_seconds()))

    async def _wait(self, timeout_s: float) -> None:
        """Until new messages are announced, a delivery finishes (a slot is free), or the time is up."""
        waiters = [asyncio.ensure_future(self._wake.wait()), *self._in_flight]
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiters[0].cancel()

    async def _deliver(self, http: httpx.AsyncClient, message: Claimed) -> None:
        try:
            outcome = await self._attempt(http, message)
        except DATABASE_TROUBLE as exc:  # reading an e-mail's recipient: the lease brings the message back
            log.warning("outbox_recipient_not_read", message_id=str(message.id), error=type(exc).__name__)
            return
        if outcome.delivered:
            self._delivered.append((message, outcome.status))
            self._to_record.set()
            return
        try:
            async with self.pool.acquire() as conn:
                row, delay = await service.record_failed(conn, message, outcome, self.settings)
        except DATABASE_TROUBLE as exc:
            # Not recorded: the lease ends and the message is delivered again, with the same webhook-id.
            log.warning("outbox_outcome_not_recorded", message_id=str(message.id), error=type(exc).__name__)
            return
        if row is not None:
            _log_failure(message, outcome, row, delay)

    async def _attempt(self, http: httpx.AsyncClient, message: Claimed) -> webhooks.Outcome:
        if message.channel == "email" and message.step_id is not None:
            return await letter_mail.deliver(self.pool, message, self.stored_letters)
        if message.channel == "email":
            return await email.deliver(self.pool, message, self.settings)
        return await webhooks.deliver(
            http,
            message,
            self.allowlist,
            allow_http=self.settings.webhook_allow_http,
            timeout_s=self.settings.outbox_delivery_timeout_s,
        )

    async def _record_forever(self) -> None:
        while True:
            await self._to_record.wait()
            self._to_record.clear()
            try:
                await self._record_delivered()
            except DATABASE_TROUBLE as exc:
                log.warning("outbox_outcome_not_recorded", error=type(exc).__name__)

    async def _record_delivered(self) -> None:
        """Record the deliveries that finished; those the database does not take are delivered again after
        their lease, with the same webhook-id."""
        done, self._delivered = self._delivered, []
        if done:
            async with self.pool.acquire() as conn:
                await service.record_delivered(conn, done)

    async def _listen(self) -> None:
        """Wake the loop when a transaction commits new messages; reconnect when the connection is lost."""
        assert self.settings.database_url
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.settings.database_url, server_settings={"application_name": APPLICATION_NAME}
                )
                await conn.add_listener(queries.CHANNEL, lambda *_: self._wake.set())
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                self._wake.set()  # messages may have come while no one listened
                await lost.wait()
            except DATABASE_TROUBLE:
                pass
            finally:
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(self.settings.outbox_poll_interval_s)


def _log_failure(message: Claimed, outcome: webhooks.Outcome, row: asyncpg.Record, delay_s: float) -> None:
    """One JSON line per failed attempt: ids, status and error code, never the URL, payload, secret or an
    e-mail's address or text."""
    dead, pending = row["state"] == "dead", row["state"] == "pending"
    log.warning(
        "webhook_delivery_failed" if row["channel"] == "webhook" else "email_delivery_failed",
        message_id=str(message.id),
        subscription_id=str(row["subscription_id"]) if row["subscription_id"] else None,
        event_type=row["event_type"],
        attempt=row["attempts"],
        status=outcome.status,
        error=outcome.error,
        dead_letter=dead,
        retry_in_s=round(delay_s, 3) if pending else None,
    )
