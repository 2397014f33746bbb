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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any
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


Reaction = Callable[[asyncpg.Connection, Event, Principal], Awaitable[None]]

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
        for reaction in reactions_to(happened.type):
            await reaction(tx, happened, principal)
    finally:
        _follow_ups.reset(token)
    if outer is not None:
        outer.extend(mine)
    return mine


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
