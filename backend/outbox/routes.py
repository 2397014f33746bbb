"""HTTP for webhooks: subscriptions, and outbox messages with their dead letters. Admins only."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete
from litestar.params import FromPath, JSONBody

from backend.core import audit, commands
from backend.core.auth import AuthRequest, requires_role
from backend.core.db import Db, Tx
from backend.core.idempotency import run_once
from backend.core.logging import request_id_of
from backend.core.openapi import (
    COMMAND,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    problem_responses,
)
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.outbox import service
from backend.outbox.models import (
    MessageFilters,
    OutboxMessage,
    OutboxMessagePage,
    Subscription,
    SubscriptionCreate,
    SubscriptionPage,
    SubscriptionWithSecret,
)


def _location(subscription: Subscription) -> str:
    return f"/api/v1/subscriptions/{subscription.id}"


class SubscriptionController(Controller):
    path = "/api/v1/subscriptions"
    tags = ["Webhooks"]
    guards = [requires_role("admin")]

    @command_route(
        operation_id="CreateSubscription",
        summary="Subscribe a receiver to events by webhook; the signing secret is answered this once",
        status_code=201,
    )
    async def create(
        self, request: AuthRequest, tx: Tx, data: JSONBody[SubscriptionCreate]
    ) -> Response[SubscriptionWithSecret]:
        """Admins. Registers a webhook receiver: an https URL on a host in TOEZICHT_WEBHOOK_ALLOWED_HOSTS (every
        address it resolves to must be public unless the allowlist names it; 422 `url_not_allowed`), the event
        types and the regimes it may hear of (within your own scope). The answer holds the `secret`
        (`whsec_...`) that signs every delivery (Standard Webhooks); it is never shown again. No
        Idempotency-Key: a stored answer would keep the secret."""
        created = await service.create_subscription(
            tx, request.user, data, request.app.state.settings, request_id_of(request)
        )
        return commands.versioned(created, created.version, 201, _location(created))

    @list_route(
        operation_id="ListSubscriptions",
        summary="Webhook subscriptions, with how their deliveries go",
    )
    async def list_subscriptions(self, db: Db, page: PageRequest) -> SubscriptionPage:
        """Admins. Every subscription in creation order (keyset `cursor`), each with its messages pending,
        delivered and dead, its latest attempt (time, HTTP status, error code) and its next attempt. Secrets are
        never shown."""
        return await service.list_subscriptions(db, page)

    @read_route(
        "/{subscription_id:uuid}",
        operation_id="GetSubscription",
        summary="One webhook subscription with its ETag and delivery state",
        etag=True,
    )
    async def get_subscription(
        self, db: Db, subscription_id: FromPath[UUID], if_none_match: IfNoneMatch = None
    ) -> Response[Subscription]:
        """Admins. One subscription: URL, event types, regimes, its deliveries (pending, delivered, dead, latest
        attempt, next attempt) and whether a secret rotation runs. The ETag is what DeleteSubscription and
        RotateSubscriptionSecret need in If-Match. 404 when it does not exist or was deleted."""
        return commands.with_etag(await service.get_subscription(db, subscription_id))

    @delete(
        "/{subscription_id:uuid}",
        operation_id="DeleteSubscription",
        summary="Delete a webhook subscription: nothing more is sent to it",
        status_code=204,
        responses=problem_responses(*COMMAND),
    )
    async def delete_subscription(
        self,
        request: AuthRequest,
        tx: Tx,
        subscription_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> Response[None]:
        """Admins. Stops deliveries to the receiver: messages still waiting for it are cancelled, delivered and dead
        ones stay listed. If-Match is required: 428 without it, 412 when it changed since you read it; audited."""

        async def apply(version: int) -> None:
            await service.delete_subscription(tx, request.user, subscription_id, version, request_id_of(request))

        return await commands.change(request, tx, if_match, None, apply, lambda _: Response(None, status_code=204))

    @command_route(
        "/{subscription_id:uuid}/rotate-secret",
        operation_id="RotateSubscriptionSecret",
        summary="A new signing secret; the previous one signs too for the overlap period",
    )
    async def rotate_secret(
        self,
        request: AuthRequest,
        tx: Tx,
        subscription_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> Response[SubscriptionWithSecret]:
        """Admins. Answers a new `secret` this once. For TOEZICHT_WEBHOOK_ROTATION_OVERLAP_HOURS every delivery
        carries two signatures, space-separated in `webhook-signature` (new and previous secret), so the receiver
        can switch without missing one. If-Match is required (428, 412); audited without the secret."""

        async def apply(version: int) -> SubscriptionWithSecret:
            return await service.rotate_secret(
                tx, request.user, subscription_id, version, request.app.state.settings, request_id_of(request)
            )

        return await commands.change(request, tx, if_match, None, apply)


class OutboxMessageController(Controller):
    path = "/api/v1/outbox-messages"
    tags = ["Webhooks"]
    guards = [requires_role("admin")]

    @list_route(
        operation_id="ListOutboxMessages",
        summary="Messages of the outbox, e.g. the dead letters (state=dead)",
    )
    async def list_messages(self, db: Db, filters: MessageFilters, page: PageRequest) -> OutboxMessagePage:
        """Admins. Messages in creation order (keyset `cursor`), filtered by state and subscription: per message
        the event type and id, attempts, last HTTP status and error code, next attempt. `state=dead` lists the
        dead letters, which ReplayOutboxMessage sends again. Payloads and secrets are not shown."""
        return await service.list_messages(db, filters, page)

    @read_route(
        "/{message_id:uuid}",
        operation_id="GetOutboxMessage",
        summary="One outbox message with its attempts and next attempt",
    )
    async def get_message(self, db: Db, message_id: FromPath[UUID]) -> OutboxMessage:
        """Admins. One message: its state (pending, delivered, dead, cancelled), attempts, the latest attempt's
        time, HTTP status and error code, and when it is tried next. Its id is the `webhook-id` receivers see."""
        return await service.get_message(db, message_id)

    @command_route(
        "/{message_id:uuid}/replay",
        operation_id="ReplayOutboxMessage",
        summary="Send a dead letter again (same webhook-id, a fresh count of attempts)",
    )
    async def replay(
        self,
        request: AuthRequest,
        tx: Tx,
        message_id: FromPath[UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OutboxMessage]:
        """Admins. Makes a dead letter due now with a fresh count of attempts; it keeps its id, so the receiver
        sees the same webhook-id. 409 `not_dead` for a message that is not a dead letter or whose subscription was
        deleted, `letter_posted` for a letter's e-mail whose letter was posted instead; Idempotency-Key; audited."""
        actor = audit.user_actor(request.user)

        async def command() -> Response[OutboxMessage]:
            return Response(await service.replay(tx, actor, message_id, request_id_of(request)))

        return await run_once(request, tx, command, raw_key=idempotency_key)
