"""The baseline for bench_http.py: a bare Litestar app with no middleware, no database and no auth,
answering the same two paths with the same JSON as the real app (same shapes, same byte lengths).

Whatever the real app costs beyond this is ours: token check, principal lookup, request id, access log,
the database round trip of /health/ready.

Run: uvicorn --app-dir tests/bench bare_app:app
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Litestar, get


class Me(msgspec.Struct, frozen=True):
    id: UUID
    subject: str
    display_name: str | None
    roles: list[str]
    regimes: list[str]
    teams: list[str]


class HealthStatus(msgspec.Struct, frozen=True):
    status: str


# What the real app answers for the bench token (`--sub bench-user --role inspector --regime alcohol`).
BENCH_ME = Me(
    id=UUID("00000000-0000-4000-8000-000000000000"),
    subject="bench-user",
    display_name=None,
    roles=["inspector"],
    regimes=["alcohol"],
    teams=[],
)


@get("/api/v1/me")
async def get_me() -> Me:
    return BENCH_ME


@get("/health/ready")
async def ready() -> HealthStatus:
    return HealthStatus(status="ok")


app = Litestar(route_handlers=[get_me, ready], debug=False)
