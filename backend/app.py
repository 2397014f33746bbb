"""create_app(settings) -> Litestar: wiring only. Rules live in the feature folders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import structlog
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp

from backend import __doc__ as about
from backend import reactions
from backend.audit.routes import AuditController
from backend.checklists.routes import ChecklistController
from backend.complaints.routes import ComplaintController
from backend.console.routes import ConsoleController, console_assets
from backend.core import collector, commands, db, idempotency, roles
from backend.core.auth import BearerAuthMiddleware
from backend.core.compression import CompressionMiddleware
from backend.core.concurrency import NotModified
from backend.core.config import Settings, load_settings
from backend.core.cors import Cors
from backend.core.docs import OfflineSwaggerPlugin, swagger_ui_assets
from backend.core.errors import EXCEPTION_HANDLERS
from backend.core.http_methods import HttpMethods
from backend.core.logging import RequestContextMiddleware, configure_logging
from backend.core.openapi import DocumentConfig, StructSchema
from backend.core.rate_limit import RateLimit
from backend.core.request_checks import check_request
from backend.core.response_headers import ResponsePolicy, console_policy
from backend.core.tokens import build_verifier
from backend.enforcement import procedure as awb_procedure
from backend.enforcement import rules as sanction_rules
from backend.enforcement.routes import EnforcementController
from backend.health.routes import HealthController
from backend.health.service import DatabaseProbe
from backend.inspections.routes import InspectionController, ViolationController
from backend.outbox import service as outbox
from backend.outbox.dispatcher import Dispatcher
from backend.outbox.routes import OutboxMessageController, SubscriptionController
from backend.photos import resumable
from backend.photos import service as photos
from backend.photos.routes import PhotoController, PhotoUploadController
from backend.planning import service as planning_service
from backend.planning.routes import AssignmentController
from backend.registry.routes import LocationController, ObjectController, PermitController
from backend.reports.routes import ReportController
from backend.sync import service as sync
from backend.sync.routes import SyncController
from backend.users.listener import UserChangeListener
from backend.users.routes import MeController, UserController
from backend.users.service import PrincipalDirectory

API_VERSION = "1.0.0"
PURGE_INTERVAL_S = 3600
READY_TIMEOUT_S = 2.0
# At shutdown, after requests in flight have finished or been cut off (TOEZICHT_SHUTDOWN_TIMEOUT_S).
POOL_CLOSE_TIMEOUT_S = 5.0
log = structlog.get_logger("toezicht.app")

ROUTE_HANDLERS = [
    HealthController,
    MeController,
    UserController,
    AuditController,
    ObjectController,
    PermitController,
    LocationController,
    ChecklistController,
    AssignmentController,
    SyncController,
    InspectionController,
    ViolationController,
    ComplaintController,
    EnforcementController,
    PhotoController,
    PhotoUploadController,
    ReportController,
    SubscriptionController,
    OutboxMessageController,
    ConsoleController,
]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    sanction_rules.rulebook()  # a broken file in schemas/sanctions stops the start, not the first proposal
    awb_procedure.awb()  # likewise schemas/procedure/awb.json
    planning_service.checklist_kinds()  # and schemas/planning/checklist-object-kinds.json
    reactions.wire()  # features react to each other's events without importing each other
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, swagger_ui_assets(), *console_assets()],
        dependencies={
            "db": Provide(db.provide_db),
            "tx": Provide(db.provide_tx),
            "command": Provide(commands.provide_command),
            "replacement": Provide(commands.provide_replacement),
            "creation": Provide(commands.provide_creation),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_request,
        lifespan=[_lifespan],
        openapi_config=_openapi_config(),
        plugins=[StructSchema()],
        request_max_body_size=settings.max_request_body_bytes,
        signature_namespace={"asyncpg": asyncpg},
        logging_config=None,  # configure_logging owns the log format; Litestar's would replace it with text lines
        debug=False,
    )
    app.state.settings = settings
    app.state.idempotency_ttl = timedelta(hours=settings.idempotency_ttl_hours)
    # Litestar middleware wraps routes only; the request id, access log, response headers, CORS, the methods
    # every path answers, compression, rate limit, authentication and conditional reads wrap the whole app, so
    # they also cover 404/405. Outermost first: CORS is outside the rest, so a browser can read a 429 or 401
    # too; HEAD is answered outside the rate limit and authentication, so their answers to it lose their body.
    handler: ASGIApp = BearerAuthMiddleware(NotModified(app.asgi_handler))
    if settings.rate_limit_per_minute:
        handler = RateLimit(handler, settings.rate_limit_per_minute)
    if settings.compression:
        handler = CompressionMiddleware(handler, settings.compression_min_bytes)
    handler = HttpMethods(handler, app.asgi_router)
    if settings.cors_origins:
        handler = Cors(handler, settings.cors_origins)
    token_url = settings.oidc_token_url if settings.auth_mode == "oidc" else None
    app.asgi_handler = RequestContextMiddleware(handler, ResponsePolicy(console_policy(token_url)))
    return app


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server (`toezicht serve` with several workers imports this): one app per server
    process, so the collector is settled here and not in create_app, which tests call many times per process."""
    app = create_app()
    collector.settle_after_start()
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    assert settings.database_url
    app.state.token_verifier = build_verifier(settings)
    pool = await db.create_pool(settings)
    await _warn_if_privileged(pool, settings)
    directory = PrincipalDirectory(pool, settings.user_cache_s)
    app.state.db_pool = pool
    app.state.database_probe = probe = DatabaseProbe(
        settings.database_url, READY_TIMEOUT_S, details={"outbox": outbox.backlog}
    )
    app.state.principal_directory = directory
    tasks = [
        asyncio.create_task(_purge_forever("idempotency_keys", idempotency.purge_expired, pool)),
        asyncio.create_task(
            _purge_forever(
                "sync_feed", lambda conn: sync.purge_feed(conn, timedelta(days=settings.sync_feed_retention_days)), pool
            )
        ),
    ]
    if not settings.db_pgbouncer:  # a LISTEN needs a session of its own; see README
        tasks.append(asyncio.create_task(UserChangeListener(settings.database_url, directory).run()))
    app.state.photo_evidence = evidence = photos.evidence_for(pool, settings)
    await asyncio.to_thread(evidence.spool.sweep)  # uploads a killed server left half-written
    tasks.append(asyncio.create_task(photos.purge_forever(evidence, PURGE_INTERVAL_S, resumable.purge)))
    if settings.outbox_dispatcher:  # else `toezicht dispatch` runs apart (see README)
        tasks.append(asyncio.create_task(Dispatcher(settings).run()))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await probe.close()
        await _close_pool(pool)


async def _close_pool(pool: asyncpg.Pool) -> None:
    """Close politely; a database that does not answer (frozen, unreachable) must not hold up the stop."""
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT_S)
    except TimeoutError:
        log.warning("database_pool_terminated")
        pool.terminate()


async def _warn_if_privileged(pool: asyncpg.Pool, settings: Settings) -> None:
    """A service role that is a superuser or owns the audit trail could rewrite it: say so at start."""
    try:
        async with pool.acquire(timeout=settings.db_acquire_timeout_s) as conn:
            privileged = await roles.is_privileged(conn)
    except (*db.CONNECTION_LOST, asyncpg.PostgresError):
        return  # not reachable now: requests answer 503 until it is
    if privileged:
        log.warning("database_role_privileged", detail="DATABASE_URL's role could change the audit trail; see README")


async def _purge_forever(what: str, purge: Callable[[asyncpg.Connection], Awaitable[int]], pool: asyncpg.Pool) -> None:
    """Run `purge` now and then every PURGE_INTERVAL_S; a failed round is logged and tried again later."""
    while True:
        try:
            async with pool.acquire() as conn:
                removed = await purge(conn)
            if removed:
                log.info(f"{what}_purged", count=removed)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning(f"{what}_purge_failed", error=type(exc).__name__)
        await asyncio.sleep(PURGE_INTERVAL_S)


def _openapi_config() -> DocumentConfig:
    return DocumentConfig(
        title="Toezicht BW API",
        version=API_VERSION,
        description=about,
        path="/schema",
        render_plugins=[OfflineSwaggerPlugin(path="/"), JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description=(
                        "An access token from the municipality's identity provider"
                        " (or `toezicht token` in development)."
                    ),
                )
            }
        ),
        security=[{"BearerToken": []}],
        use_handler_docstrings=True,
        create_examples=False,
    )
