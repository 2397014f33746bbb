"""API shapes for webhook subscriptions and outbox messages, and the one list of event types that may leave."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.users.models import Regime

# Every domain event (backend/core/events.py) a subscription may ask for. Adding a type here is all it takes to
# make it subscribable: backend/reactions.py writes each of these to the outbox when it is announced.
EventType = Literal[
    "inspection.submitted",
    "inspection.corrected",
    "inspection.reviewed",
    "inspection.returned",
    "case.opened",
    "step.sent",
    "complaint.received",
    "complaint.answered",
    "complaint.reopened",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

MessageState = Literal["pending", "delivered", "dead", "cancelled"]
Channel = Literal["webhook", "email"]
Url = Annotated[str, Meta(min_length=1, max_length=2000, description="Where deliveries are POSTed (https)")]


class SubscriptionCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A receiver of webhooks: its URL, the event types it wants and the regimes it may hear of."""

    url: Url
    event_types: Annotated[list[EventType], Meta(min_length=1, max_length=len(EVENT_TYPES))]
    regimes: Annotated[list[Regime], Meta(min_length=1, max_length=5)]
    description: Annotated[str, Meta(min_length=1, max_length=300)] | None = None


class DeliveryState(msgspec.Struct, frozen=True):
    """How deliveries to a subscription go: messages per state and its latest attempt."""

    pending: int
    delivered: int
    dead: int
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    url: str
    event_types: list[EventType]
    regimes: list[Regime]
    description: str | None
    version: int
    created_at: datetime
    # While a rotation runs, deliveries carry a signature with the previous secret too, until this moment.
    previous_secret_until: datetime | None
    deliveries: DeliveryState


class SubscriptionWithSecret(Subscription, frozen=True, kw_only=True):
    """Answered once, at creation or rotation: the signing secret is never shown again."""

    secret: str


class SubscriptionPage(Page[Subscription], frozen=True):
    pass


class OutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one subscription (its id is the `webhook-id` of every attempt), or an e-mail to the reporter
    of a complaint or of a sent letter to its addressee (its id is in the Message-ID of every attempt)."""

    id: UUID
    event_id: UUID
    event_type: str
    channel: Channel
    subscription_id: UUID | None  # a webhook's
    complaint_id: UUID | None  # an e-mail's: its recipient is found through the complaint when it is sent
    step_id: UUID | None  # a sent letter's e-mail: its addressee is found through the step when it is sent
    state: MessageState
    attempts: int
    next_attempt_at: datetime | None  # when pending
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class OutboxMessagePage(Page[OutboxMessage], frozen=True):
    pass


class Claimed(msgspec.Struct, frozen=True):
    """A message a dispatcher holds for one attempt (until its lease ends), with what it needs to send it."""

    id: UUID
    claim: UUID
    attempts: int
    payload: str  # the CloudEvent as stored (JSON): sent as these bytes, which the signature covers
    url: str  # a webhook's ("" for an e-mail)
    secrets: list[str]
    channel: Channel = "webhook"
    event_type: str = ""
    complaint_id: UUID | None = None  # an e-mail to a reporter
    step_id: UUID | None = None  # an e-mail of a sent letter
    created_at: datetime | None = None  # when its event happened (the letter's addressee then)


class MessageFilters(QueryGroup, frozen=True):
    """ListOutboxMessages' filters."""

    message_state: Annotated[
        MessageState | None, QueryParameter(name="state", description="Only messages in this state (dead: letters)")
    ] = None
    subscription_id: Annotated[UUID | None, QueryParameter(description="Only messages to this subscription")] = None
