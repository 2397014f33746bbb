"""Liveness and readiness for the orchestrator: no authentication, no personal data."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get

from backend.core.errors import ServiceUnavailable
from backend.core.openapi import problem_responses


class HealthStatus(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    # Figures for operators (e.g. `outbox`: messages waiting, dead letters, age of the oldest); not the status.
    detail: dict[str, Any] = {}


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = {"exclude_from_auth": True}

    @get(
        "/live",
        operation_id="GetLiveness",
        summary="The process is up",
        security=[{}],
        responses=problem_responses(400, 429, 500),
    )
    async def live(self) -> HealthStatus:
        """No token needed. Answers 200 while the process runs; for the orchestrator's liveness probe."""
        return HealthStatus(status="ok")

    @get(
        "/ready",
        operation_id="GetReadiness",
        summary="The service can reach its database (asked on a connection of its own, not the pool)",
        security=[{}],
        responses=problem_responses(400, 429, 500, 503),
    )
    async def ready(self, request: Request[Any, Any, Any]) -> HealthStatus:
        """No token needed. Answers 200 when the database answers within two seconds, else 503 `not_ready`; for the
        orchestrator's readiness probe. Asked on a connection of its own, not the pool: a busy instance (every pooled
        connection in use) stays ready. `detail.outbox` tells the webhook backlog: messages `pending`, `dead` letters
        and `oldest_pending_s`; a backlog never makes the service unready."""
        probe = request.app.state.database_probe
        if not await probe.ready():
            raise ServiceUnavailable("The database does not answer.", code="not_ready")
        return HealthStatus(status="ok", detail=probe.detail)
