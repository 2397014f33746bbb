"""Liveness and readiness for the orchestrator: no authentication, no personal data."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get

from backend.core.errors import ServiceUnavailable
from backend.core.openapi import problem_responses


class HealthStatus(msgspec.Struct, frozen=True):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = {"exclude_from_auth": True}

    @get("/live", operation_id="GetLiveness", summary="The process is up", security=[{}], responses=problem_responses(500))
    async def live(self) -> HealthStatus:
        return HealthStatus(status="ok")

    @get(
        "/ready",
        operation_id="GetReadiness",
        summary="The service can reach its database (asked on a connection of its own, not the pool)",
        security=[{}],
        responses=problem_responses(500, 503),
    )
    async def ready(self, request: Request[Any, Any, Any]) -> HealthStatus:
        if not await request.app.state.database_probe.ready():
            raise ServiceUnavailable("The database does not answer.", code="not_ready")
        return HealthStatus(status="ok")
