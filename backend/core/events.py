"""Domain events: a feature announces what happened, other features react, neither imports the other.

The announcer calls `announce(tx, event, principal)` inside the transaction that made the change. Every
reaction registered for the event's type runs right there, awaited one after the other on the same
connection: what a reaction writes commits with the change, and a reaction that raises rolls the change back
(and its error is the request's answer). Reactions are registered once at start (`react`, called from
backend/reactions.py, which create_app runs), so the announcing feature does not know who listens.

An event is the object a later outbox delivers outside, in the NL GOV profile for CloudEvents 1.0. Its fields
map onto the CloudEvents attributes as follows (`cloudevent()` builds that envelope):

    Event field            CloudEvents attribute
    id (UUIDv7)            id
    SOURCE (constant)      source            urn:nld:toezicht-bw (this application, URN as the profile advises)
    type                   type              reverse-DNS prefixed: nl.toezicht-bw.inspection.reviewed
    time                   time              RFC 3339, UTC
    subject_type/_id       subject           "inspection/0190..." (the resource the event is about)
    (constant)             datacontenttype   application/json
    related, regimes       data              {"related": {...}, "regimes": [...]}: ids and scope only
    actor                  data.actor        the user id who caused it (null: the system)
    (constant)             specversion       1.0

`request_id` correlates the event with the request and its audit records; it stays inside (an outbox may
carry it as a `traceparent`-like extension). Events carry ids, never personal data: a reaction that needs
more reads it through the owning feature's service, or takes `snapshot`: the subject as the announcing
transaction left it (the owning feature's own read of it), which the announcer may hand its reactions so that
they need not read it again. The snapshot never leaves the process: it is not part of the envelope.

A reaction that writes what the event alone decides (the reports' fact of a submission, the outbox's message)
may be a `StatementReaction`: it gives its SQL instead of running it, and the statement reactions registered
next to each other run as one statement, one round trip for all of them (a submission's reactions took three).
Each gives whole INSERT, UPDATE, DELETE or SELECT statements numbered from $1, without a WITH of their own (they
become the CTEs of that statement, so they see the database as it was before it, not each other's rows); one
with `then` gets the rows its statements returned, in order, when the statement has run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from backend.core import ids
from backend.core.auth import Principal

SOURCE = "urn:nld:toezicht-bw"
TYPE_PREFIX = "nl.toezicht-bw."


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened, announced in the transaction that did it."""

    id: UUID
    type: str  # e.g. "inspection.reviewed": <subject type>.<past tense>
    time: datetime
    actor: UUID | None  # the user who caused it; None for the system
    subject_type: str
    subject_id: UUID
    related: dict[str, UUID] = {}  # other ids it concerns, by role ("assignment": ..., "inspection": ...)
    regimes: list[str] = []  # the regimes it falls under, where that scopes who may see it
    request_id: str | None = None
    snapshot: Any = None  # the subject as the announcer's service reads it; for reactions here, never delivered


class Statement(NamedTuple):
    """One SQL statement of a statement reaction, with its bind values ($1 is the first of `args`)."""

    sql: str
    args: tuple[Any, ...] = ()


Rows = list[list[dict[str, Any]]]  # per statement of a reaction, the rows it returned (as JSON objects)


@dataclass(frozen=True)
class StatementReaction:
    """A reaction given as SQL (see the module): `statements` derives them from the event alone (no reads); `then`,
    if given, runs after them with the rows they returned (say, to act on photos that turned out to wait), so
    each of its statements returns rows (a SELECT, or RETURNING)."""

    statements: Callable[[Event], list[Statement]]
    then: Callable[[asyncpg.Connection, Event, Principal, Rows], Awaitable[None]] | None = None


Reaction = Callable[[asyncpg.Connection, Event, Principal], Awaitable[None]] | StatementReaction

_reactions: dict[str, list[Reaction]] = {}


def event(
    type: str,
    *,
    actor: UUID | None,
    subject_type: str,
    subject_id: UUID,
    related: dict[str, UUID] | None = None,
    regimes: list[str] | None = None,
    request_id: str | None = None,
    snapshot: Any = None,
) -> Event:
    happened = ids.new_id()
    return Event(
        id=happened,
        type=type,
        time=ids.moment_of(happened),  # the time the id carries: events sort by either alike
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        related=related or {},
        regimes=sorted(regimes or []),
        request_id=request_id,
        snapshot=snapshot,
    )


def react(event_type: str, reaction: Reaction) -> None:
    """Register `reaction` for events of `event_type`; registering the same one again changes nothing."""
    registered = _reactions.setdefault(event_type, [])
    if reaction not in registered:
        registered.append(reaction)


def reactions_to(event_type: str) -> list[Reaction]:
    return list(_reactions.get(event_type, ()))


# The events announced while the reactions of an announcement run (their own announcements, and those of the
# reactions to them): one list per announcement being reacted to, in the task (the request) that announced it.
_follow_ups: ContextVar[list[Event] | None] = ContextVar("follow_ups", default=None)


async def announce(tx: asyncpg.Connection, happened: Event, principal: Principal) -> list[Event]:
    """Run every reaction to `happened` in the caller's transaction, in the order they were registered.
    `principal` is the caller on whose behalf the reactions act (they check and audit as that caller).
    Returns the events the reactions announced in turn, at any depth, in order: so the announcer learns what
    its change set off (say, a waiting photo that attached) without asking the database or the reactors."""
    outer = _follow_ups.get()
    if outer is not None:
        outer.append(happened)
    mine: list[Event] = []
    token = _follow_ups.set(mine)
    try:
        await _react(tx, happened, principal, reactions_to(happened.type))
    finally:
        _follow_ups.reset(token)
    if outer is not None:
        outer.extend(mine)
    return mine


async def _react(tx: asyncpg.Connection, happened: Event, principal: Principal, reactions: list[Reaction]) -> None:
    """Each reaction in order; statement reactions next to each other in one round trip."""
    batch: list[tuple[StatementReaction, list[Statement]]] = []
    for reaction in reactions:
        if isinstance(reaction, StatementReaction):
            batch.append((reaction, reaction.statements(happened)))
            continue
        await _run_batch(tx, happened, principal, batch)
        batch = []
        await reaction(tx, happened, principal)
    await _run_batch(tx, happened, principal, batch)


async def _run_batch(
    tx: asyncpg.Connection,
    happened: Event,
    principal: Principal,
    batch: list[tuple[StatementReaction, list[Statement]]],
) -> None:
    statements = [(statement, reaction.then is not None) for reaction, given in batch for statement in given]
    returned = iter(())
    if statements:
        sql = combined(tuple((statement.sql, len(statement.args), answered) for statement, answered in statements))
        args = [arg for statement, _ in statements for arg in statement.args]
        returned = iter(await tx.fetchrow(sql, *args))  # one row: a column per answered statement
    for reaction, given in batch:
        if reaction.then is not None:
            await reaction.then(tx, happened, principal, [next(returned) for _ in given])


_PARAMETER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=256)  # an event type's reactions give the same few statements every time
def combined(statements: tuple[tuple[str, int, bool], ...]) -> str:
    """One statement running each of `statements` (SQL, its number of bind values, answered) as a CTE, answering
    in one row a JSON array of the rows of each answered one (in order). Their parameters are renumbered to follow
    one another, so the statement's bind values are theirs one after the other."""
    parts: list[str] = []
    answers: list[str] = []
    offset = 0
    for number, (sql, count, answered) in enumerate(statements):
        if "$$" in sql or sql.lstrip()[:4].upper() == "WITH":
            raise ValueError("a statement reaction's SQL has no WITH and no dollar quoting")
        parts.append(f"s{number} AS ({_renumbered(sql, offset)})")
        offset += count
        if answered:
            answers.append(f"(SELECT coalesce(json_agg(s{number}), '[]') FROM s{number}) AS s{number}")
    return f"WITH {', '.join(parts)} SELECT {', '.join(answers) or 'NULL'}"


def _renumbered(sql: str, offset: int) -> str:
    return _PARAMETER.sub(lambda found: f"${int(found.group(1)) + offset}", sql)


def cloudevent(happened: Event) -> dict[str, Any]:
    """The event as a CloudEvents 1.0 envelope (structured JSON mode), per the mapping above."""
    return {
        "specversion": "1.0",
        "id": str(happened.id),
        "source": SOURCE,
        "type": TYPE_PREFIX + happened.type,
        "time": happened.time.isoformat().replace("+00:00", "Z"),
        "subject": f"{happened.subject_type}/{happened.subject_id}",
        "datacontenttype": "application/json",
        "data": {
            "actor": None if happened.actor is None else str(happened.actor),
            "related": {role: str(value) for role, value in happened.related.items()},
            "regimes": happened.regimes,
        },
    }
