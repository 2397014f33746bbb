"""Liveness and readiness for the orchestrator: no authentication, no personal data."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, get

from backend.core.errors import ServiceUnavailable
from backend.core.openapi import problem_responses

READY_TIMEOUT_S = 2.0


class HealthStatus(msgspec.Struct, frozen=True):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = {"exclude_from_auth": True}

    @get("/live", operation_id="GetLiveness", summary="The process is up", security=[{}],
         responses=problem_responses(400, 429, 500))
    async def live(self) -> HealthStatus:
        """No token needed. Answers 200 while the process runs; for the orchestrator's liveness probe."""
        return HealthStatus(status="ok")

    @get(
        "/ready",
        operation_id="GetReadiness",
        summary="The service can reach its database",
        security=[{}],
        responses=problem_responses(400, 429, 500, 503),
    )
    async def ready(self, request: Request[Any, Any, Any]) -> HealthStatus:
        """No token needed. Answers 200 when the database answers within two seconds, else 503 `not_ready`; for the
        orchestrator's readiness probe."""
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                async with request.app.state.db_pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except Exception as exc:  # any failure to answer in time means not ready
            raise ServiceUnavailable("The database does not answer.", code="not_ready") from exc
        return HealthStatus(status="ok")
