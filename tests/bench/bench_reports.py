"""Reports benchmark: the performance indicators for one year and for one month over 1,000,000 inspections and
200,000 complaints, from the reports' read model and, as the baseline, directly from the features' tables.

    .venv/bin/python tests/bench/bench_reports.py [--inspections 1000000] [--complaints 200000] [--runs 3]
        [--baseline-runs N] [--no-baseline] [--keep DIR] [--check]

One run, on an embedded PostgreSQL in a temporary directory (production settings, fsync on), or kept in DIR with
--keep, whose data a later run of the same sizes reuses (it applies new migrations and rebuilds the read model):
1. publish the checklists through the API, then COPY (CSV) 20,000 establishments (5% verscherpt), the inspections
   spread evenly over 2025 (95% reviewed; 65% horeca, 15% NIX18 with 1-3 purchase attempts, 10% horeca + NIX18,
   5% coffeeshop, 5% sex work; 30% planned with a reason, a quarter of those after a complaint), their checklist
   answers, violations in 30% of them, and the complaints of 2025 (some followed by a planned inspection), in
   chunks of 100,000 inspections; then the reports' read model is built from them (`toezicht reports rebuild`,
   timed);
2. GET /api/v1/reports/indicators through the app in-process (httpx ASGITransport, lifespan running) as a
   coordinator scoped for every regime but sex work, for 2025 and for June 2025, alternately, `--runs` times
   after one warm-up each; also the monthly trend of 2025;
3. the baseline (unless --no-baseline): the same caller's year, June and trend through reports.service with the
   direct definitions (tests/reports_direct.py) and, for a like-for-like comparison, with the read model, on one
   connection, `--baseline-runs` times after a warm-up; both must give the same figures.
Targets: the year and the trend from the read model under 1 s (p50).
Run it again with --inspections 5000000 --no-baseline: that year should take at most 1.5 x the 1,000,000 one (the
month counts and the objects' latest controls do not grow with the inspections; only the days of a month a
period covers in part, and an object's probe when it was controlled after the reference day, read more).
Figures are printed with the load average (the machine may be shared); --check turns a missed target into exit
code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import msgspec  # noqa: E402

from backend.core import calendar, embedded  # noqa: E402
from backend.core import db as core_db  # noqa: E402
from backend.core.auth import Principal  # noqa: E402
from backend.core.calendar import AMSTERDAM  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.migrations import migrate  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from backend.reports import facts as read_model  # noqa: E402
from backend.reports import service  # noqa: E402
from backend.reports.models import Filters  # noqa: E402
from tests.bench import bench_cli  # noqa: E402
from tests.bench.bench_registry import prepare_database  # noqa: E402
from tests.conftest import app_client  # noqa: E402
from tests.reports_direct import DIRECT  # noqa: E402

TARGET_S = 1.0
OBJECTS = 20_000
CHUNK = 100_000
YEAR = 2025
WIJKEN = [
    "binnenstad",
    "oost",
    "leidsche_rijn",
    "west",
    "overvecht",
    "zuid",
    "noordoost",
    "zuidwest",
    "noordwest",
    "vleuten_de_meern",
]
SCOPE = ["alcohol", "nix18", "coffeeshop", "gambling"]  # the caller: every regime but sexwork
TEMPLATES = ["alcohol-horeca", "nix18-purchase-attempt", "coffeeshop", "sexwork-establishment"]
HORECA = {
    "AW-01": "yes",
    "AW-02": "yes",
    "AW-02a": "yes",
    "AW-16": "yes",
    "AW-03": "yes",
    "AW-04": "yes",
    "AW-05": "yes",
    "AW-06": "yes",
    "AW-07a": "no",
    "AW-08": "no",
    "AW-09": "no",
    "AW-10": "no",
    "AW-11": "no",
}
ATTEMPT = {
    "NX-01": "supermarkt",
    "NX-01a": "2025-03-01T21:30:00+01:00",
    "NX-05": "yes",
    "NX-05a": "age_16_17",
    "NX-05b": "yes",
    "NX-02": "no",
    "NX-03": "no",
    "NX-04": "no",
}
CHANNELS = ["horeca", "supermarkt", "slijterij", "cafetaria", "sportkantine", "flitsbezorger"]
# (checklists, regimes, object kinds, weight)
PROFILES = [
    (["alcohol-horeca"], ["alcohol"], ["horeca_hoogdrempelig", "horeca_laagdrempelig"], 65),
    (["nix18-purchase-attempt"], ["nix18"], ["supermarkt", "slijterij", "horeca_laagdrempelig"], 15),
    (["alcohol-horeca", "nix18-purchase-attempt"], ["alcohol", "nix18"], ["horeca_laagdrempelig"], 10),
    (["coffeeshop"], ["coffeeshop"], ["coffeeshop"], 5),
    (["sexwork-establishment"], ["sexwork", "alcohol"], ["seks_club"], 5),
]
REASONS = ["regular_cycle", "complaint", "hercontrole", "verscherpt_toezicht", "project"]


def _csv(rows: list[list[Any]]) -> io.BytesIO:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, (list, tuple)):
            value = "{" + ",".join(str(v) for v in value) + "}"
        elif isinstance(value, dict):
            value = json.dumps(value, separators=(",", ":"))
        text = str(value)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n{') else text

    return io.BytesIO("\n".join(",".join(cell(v) for v in row) for row in rows).encode())


async def _copy(conn: asyncpg.Connection, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.copy_to_table(table, source=_csv(rows[start : start + CHUNK]), columns=columns, format="csv")


def _moment(rng: random.Random) -> datetime:
    start = datetime(YEAR, 1, 1, tzinfo=AMSTERDAM).astimezone(UTC)
    return start + timedelta(seconds=rng.uniform(0, 365 * 86_400 - 7_200))


async def generate(
    url: str, versions: dict[str, UUID], users: dict[str, UUID], inspections: int, complaints: int, rng: random.Random
) -> None:
    conn = await asyncpg.connect(url)
    try:
        await _generate(conn, versions, users, inspections, complaints, rng)
        for table in ("establishment", "assignment", "inspection", "inspection_checklist", "violation", "complaint"):
            await conn.execute(f"ANALYZE {table}")  # constant table names
    finally:
        await conn.close()


async def _generate(
    conn: asyncpg.Connection,
    versions: dict[str, UUID],
    users: dict[str, UUID],
    count: int,
    complaint_count: int,
    rng: random.Random,
) -> None:
    created = datetime(2020, 1, 1, tzinfo=UTC)
    by_kind: dict[str, list[tuple[UUID, str]]] = {}
    objects = []
    for n in range(OBJECTS):
        _, regimes, kinds, _ = rng.choices(PROFILES, weights=[p[3] for p in PROFILES])[0]
        kind, wijk = rng.choice(kinds), rng.choice(WIJKEN)
        object_id = uuid4()
        regimes = ["alcohol", "nix18"] if kind.startswith("horeca") or kind in ("supermarkt", "slijterij") else regimes
        objects.append(
            [
                object_id,
                f"Object {n}",
                "Straat",
                n % 9999 + 1,
                "3511AB",
                "Utrecht",
                wijk,
                kind,
                "under_50",
                "verscherpt" if rng.random() < 0.05 else "regular",
                regimes,
                created,
            ]
        )
        by_kind.setdefault(kind, []).append((object_id, wijk))
    await _copy(
        conn,
        "establishment",
        [
            "id",
            "name",
            "street",
            "house_number",
            "postcode",
            "city",
            "wijk",
            "kind",
            "employee_class",
            "supervision_level",
            "regimes",
            "created_at",
        ],
        objects,
    )
    complaint_rows, complaint_ids = _complaints(complaint_count, users["intake"], rng)
    await _copy(conn, "complaint", COMPLAINT_COLUMNS, complaint_rows)
    for start in range(0, count, CHUNK):
        await _inspections(conn, versions, users, min(CHUNK, count - start), by_kind, complaint_ids, rng)


async def _inspections(
    conn: asyncpg.Connection,
    versions: dict[str, UUID],
    users: dict[str, UUID],
    count: int,
    by_kind: dict[str, list[tuple[UUID, str]]],
    complaint_ids: list[UUID],
    rng: random.Random,
) -> None:
    assignments, inspections, checklists, violations = [], [], [], []
    for _ in range(count):
        templates, regimes, kinds, _ = rng.choices(PROFILES, weights=[p[3] for p in PROFILES])[0]
        object_id, wijk = rng.choice(by_kind[rng.choice(kinds)])
        inspection_id, moment = uuid4(), _moment(rng)
        assignment_id = None
        if rng.random() < 0.3:
            assignment_id, reason = uuid4(), rng.choices(REASONS, weights=[50, 25, 15, 5, 5])[0]
            complaint = rng.choice(complaint_ids) if reason == "complaint" else None
            assignments.append(
                [
                    assignment_id,
                    object_id,
                    "team-a",
                    wijk,
                    regimes,
                    [versions[t] for t in templates],
                    "2025-01-01",
                    "2025-12-31",
                    [users["inspector"]],
                    reason,
                    "done",
                    users["coordinator"],
                    complaint,
                ]
            )
        reviewed = rng.random() < 0.95
        inspections.append(
            [
                inspection_id,
                "reviewed" if reviewed else "complete",
                assignment_id,
                object_id,
                "team-a",
                wijk,
                regimes,
                users["inspector"],
                [users["inspector"]],
                moment - timedelta(hours=1),
                moment,
                moment,
                False,
                moment,
                users["coordinator"] if reviewed else None,
                moment if reviewed else None,
            ]
        )
        entries = [t for t in templates for _ in range(rng.randint(1, 3) if t == "nix18-purchase-attempt" else 1)]
        for position, template in enumerate(entries):
            answers = (
                {**ATTEMPT, "NX-01": rng.choice(CHANNELS), "NX-04": rng.choice(["yes", "no"])}
                if template == "nix18-purchase-attempt"
                else HORECA
                if template == "alcohol-horeca"
                else {"CS-01": "yes"}
                if template == "coffeeshop"
                else {"SX-01": "yes"}
            )
            regime = {"alcohol-horeca": "alcohol", "nix18-purchase-attempt": "nix18"}.get(
                template, template.split("-")[0]
            )
            checklists.append(
                [
                    inspection_id,
                    position,
                    versions[template],
                    template,
                    "sexwork" if template.startswith("sexwork") else regime,
                    answers,
                ]
            )
            if rng.random() < 0.3 / len(entries):
                violations.append(
                    [
                        inspection_id,
                        1,
                        object_id,
                        versions[template],
                        position,
                        "Q",
                        rng.choice(["AW-3-NO-PERMIT", "AW-24-1-NO-MANAGER-PRESENT", "AW-20-1-AGE-NOT-ESTABLISHED"]),
                        {"law": "Alcoholwet", "article": "20", "lid": "1"},
                        "serious",
                        moment.astimezone(AMSTERDAM).date(),
                    ]
                )
    await _copy(
        conn,
        "assignment",
        [
            "id",
            "establishment_id",
            "team_id",
            "wijk",
            "regimes",
            "checklist_version_ids",
            "planned_from",
            "planned_to",
            "inspector_ids",
            "reason",
            "status",
            "created_by",
            "complaint_id",
        ],
        assignments,
    )
    await _copy(
        conn,
        "inspection",
        [
            "id",
            "state",
            "assignment_id",
            "establishment_id",
            "team_id",
            "wijk",
            "regimes",
            "submitted_by",
            "inspector_ids",
            "started_at",
            "finished_at",
            "received_at",
            "clock_suspect",
            "inspected_at",
            "reviewed_by",
            "reviewed_at",
        ],
        inspections,
    )
    await _copy(
        conn,
        "inspection_checklist",
        ["inspection_id", "position", "checklist_version_id", "template_key", "regime", "answers"],
        checklists,
    )
    await _copy(
        conn,
        "violation",
        [
            "inspection_id",
            "revision",
            "establishment_id",
            "checklist_version_id",
            "checklist_position",
            "question_key",
            "code",
            "article",
            "severity",
            "observed_on",
        ],
        violations,
    )


COMPLAINT_COLUMNS = [
    "id",
    "category",
    "regime",
    "channel",
    "description",
    "street",
    "house_number",
    "postcode",
    "city",
    "wijk",
    "wijk_source",
    "wants_feedback",
    "has_contact",
    "state",
    "received_at",
    "acknowledgement_due_on",
    "resolution_due_on",
    "outcome",
    "closed_at",
    "created_by",
]


def _complaints(count: int, creator: UUID, rng: random.Random) -> tuple[list[list[Any]], list[UUID]]:
    rows, ids = [], []
    for _ in range(count):
        received = _moment(rng)
        received_on = received.astimezone(AMSTERDAM).date()
        resolved = rng.random() < 0.9
        complaint_id = uuid4()
        ids.append(complaint_id)
        rows.append(
            [
                complaint_id,
                "geluidsoverlast_horeca",
                rng.choice(["alcohol", "nix18", "coffeeshop", None]),
                "phone",
                "Overlast (gegenereerd).",
                "Oudegracht",
                rng.randint(1, 400),
                "3511AB",
                "Utrecht",
                rng.choice(WIJKEN),
                "postcode",
                False,
                False,
                "resolved" if resolved else "in_progress",
                received,
                received_on + timedelta(days=2),
                calendar.add_working_days(received_on, 10),
                "nuisance_stopped" if resolved else None,
                received + timedelta(days=rng.randint(1, 20)) if resolved else None,
                creator,
            ]
        )
    return rows, ids


async def setup(settings: Any, token_for: Any) -> tuple[dict[str, UUID], dict[str, UUID]]:
    """Users and published checklists through the API (so their rows are exactly what the app writes)."""
    async with app_client(settings) as http:
        users = {}
        for name, roles in (
            ("admin", ["admin"]),
            ("coordinator", ["coordinator"]),
            ("inspector", ["inspector"]),
            ("intake", ["complaints_officer"]),
        ):
            response = await http.get("/api/v1/me", headers=token_for(name, roles))
            users[name] = UUID(response.json()["id"])
        versions = {}
        for key in TEMPLATES:
            content = json.loads((ROOT / "schemas" / "checklists" / f"{key}.json").read_text(encoding="utf-8"))
            response = await http.post("/api/v1/checklists", json=content, headers=token_for("admin", ["admin"]))
            assert response.status_code == 201, response.text
            versions[key] = UUID(response.json()["id"])
    return versions, users


REPORT_TABLES = tuple(
    f"report_{table}_{unit}" for unit in ("day", "month") for table in ("inspection", "nix18", "violation", "code")
)


async def rebuild(url: str) -> dict[str, Any]:
    """The read model from the generated records, as `toezicht reports rebuild` does; its size."""
    conn = await core_db.connect(url)
    try:
        await read_model.rebuild(conn)
        for table in ("report_inspection", "report_complaint", *REPORT_TABLES):
            await conn.execute(f"ANALYZE {table}")  # constant table names
        return {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in REPORT_TABLES}
    finally:
        await conn.close()


async def baseline(url: str, coordinator: UUID, runs: int) -> dict[str, Any]:
    """The year, June and the trend through reports.service, directly and from the read model, on one
    connection; every figure of both must be the same."""
    principal = Principal(
        user_id=coordinator,
        subject="coordinator",
        issuer="bench",
        roles=frozenset({"coordinator"}),
        regimes=frozenset(SCOPE),
        teams=frozenset({"team-a"}),
    )
    year = service.Request(service.year_period(YEAR, None, None), Filters())
    june = service.Request(service.period_of(date(YEAR, 6, 1), date(YEAR, 6, 30)), Filters())
    reports = {
        "year": lambda source: service.indicators(conn, principal, year, timeout_ms=600_000, source=source),
        "month": lambda source: service.indicators(conn, principal, june, timeout_ms=600_000, source=source),
        "trend": lambda source: service.trend(conn, principal, year, timeout_ms=600_000, source=source),
    }
    sources = {"direct": DIRECT, "read_model": service.READ_MODEL}
    samples: dict[str, list[float]] = {f"{name}_{what}": [] for name in sources for what in reports}
    figures: dict[str, list[Any]] = {}
    conn = await core_db.connect(url)
    try:
        for i in range(runs + 1):
            for name, source in sources.items():
                figures[name] = []
                for what, make in reports.items():
                    started = time.perf_counter()
                    figures[name].append(msgspec.to_builtins(await make(source)))
                    if i:
                        samples[f"{name}_{what}"].append(time.perf_counter() - started)
    finally:
        await conn.close()
    return {
        "baseline_runs": runs,
        "baseline_median_s": {name: statistics.median(values) for name, values in samples.items()},
        "same_figures": figures["direct"] == figures["read_model"],
    }


async def measure(settings: Any, headers: dict[str, str], runs: int) -> dict[str, Any]:
    periods = {
        "year": {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"},
        "month": {"from": f"{YEAR}-06-01", "to": f"{YEAR}-06-30"},
    }
    samples: dict[str, list[float]] = {name: [] for name in (*periods, "trend")}
    done: dict[str, int] = {}
    async with app_client(settings) as http:
        for i in range(runs + 1):
            for name, params in periods.items():
                started = time.perf_counter()
                response = await http.get("/api/v1/reports/indicators", params=params, headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                done[name] = response.json()["controls"]["done"]["numerator"]
                if i:
                    samples[name].append(elapsed)
            started = time.perf_counter()
            response = await http.get("/api/v1/reports/indicators/trend", params={"year": YEAR}, headers=headers)
            assert response.status_code == 200, response.text
            if i:
                samples["trend"].append(time.perf_counter() - started)
    return {"median_s": {name: statistics.median(values) for name, values in samples.items()}, "controls_done": done}


def run(
    inspections: int, complaints: int, runs: int, baseline_runs: int, with_baseline: bool, keep: Path | None
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        base = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="toezicht-bench-reports-")))
        server, admin_url = embedded.start(
            base / "pgdata", cleanup_mode="stop" if keep else "delete", database="postgres"
        )
        stack.callback(server.cleanup)
        name = f"bench_reports_{inspections}_{complaints}"
        url, filled = asyncio.run(_database(admin_url, server, name))
        settings = load_settings(
            {},
            database_url=url,
            data_dir=str(base),
            log_level="warning",
            jwt_issuer="bench",
            jwt_audience="toezicht-api",
        )
        token_for = _tokens(settings)
        loaded_s = None
        if not filled:
            versions, users = asyncio.run(setup(settings, token_for))
            started = time.perf_counter()
            asyncio.run(generate(url, versions, users, inspections, complaints, random.Random(20251125)))
            loaded_s = time.perf_counter() - started
            asyncio.run(_mark_filled(admin_url, name))
        started = time.perf_counter()
        rows = asyncio.run(rebuild(url))
        rebuilt_s = time.perf_counter() - started
        figures = asyncio.run(measure(settings, token_for("coordinator", ["coordinator"], SCOPE), runs))
        if with_baseline:
            coordinator = asyncio.run(_user_id(settings, token_for("coordinator", ["coordinator"], SCOPE)))
            figures.update(asyncio.run(baseline(url, coordinator, baseline_runs)))
    return {
        "inspections": inspections,
        "complaints": complaints,
        "runs": runs,
        "load_s": loaded_s,
        "rebuild_s": rebuilt_s,
        "read_model_rows": rows,
        **figures,
        "load_average": os.getloadavg(),
    }


FILLED = "filled by tests/bench/bench_reports.py"


async def _database(admin_url: str, server: Any, name: str) -> tuple[str, bool]:
    """The benchmark's database, migrated; whether a former run with --keep filled it completely (a run that
    stopped while generating leaves it unmarked, and it is made again)."""
    admin = await asyncpg.connect(admin_url)
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
        )
        if comment == FILLED:
            url = server.get_uri(name)
            conn = await asyncpg.connect(url)
            try:
                await migrate(conn, ROOT / "migrations")
            finally:
                await conn.close()
            return url, True
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')  # a name this script made from two numbers
    finally:
        await admin.close()
    return await prepare_database(admin_url, server, name, ROOT / "migrations"), False


async def _mark_filled(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{FILLED}'")  # constants of this script
    finally:
        await admin.close()


def _tokens(settings: Any) -> Any:
    key = load_or_create_dev_key(settings.dev_signing_key_path)

    def token_for(sub: str, roles: list[str], regimes: list[str] | None = None) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": "bench",
            "aud": "toezicht-api",
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + 7200,
            "roles": roles,
            "regimes": regimes or [*SCOPE, "sexwork"],
            "teams": ["team-a"],
        }
        return {"Authorization": f"Bearer {mint_dev_token(key, claims)}"}

    return token_for


async def _user_id(settings: Any, headers: dict[str, str]) -> UUID:
    async with app_client(settings) as http:
        return UUID((await http.get("/api/v1/me", headers=headers)).json()["id"])


def report(result: dict[str, Any]) -> bool:
    median = result["median_s"]
    ratio = median["month"] / median["year"]
    print(
        f"Performance indicators over {result['inspections']:,} inspections and {result['complaints']:,} complaints "
        f"of {YEAR} ({_loaded(result['load_s'])}), median of {result['runs']} runs, in-process ASGI:"
    )
    print(
        f"  one year  (GET /api/v1/reports/indicators?from={YEAR}-01-01&to={YEAR}-12-31): {median['year']:.2f} s, "
        f"{result['controls_done']['year']:,} controls done in scope"
    )
    print(
        f"  one month (June):                                                     {median['month']:.2f} s, "
        f"{result['controls_done']['month']:,} controls done in scope"
    )
    print(f"  monthly trend of the year (GET /api/v1/reports/indicators/trend?year={YEAR}): {median['trend']:.2f} s")
    print(
        f"  read model built in {result['rebuild_s']:.0f} s; count rows: "
        + ", ".join(f"{table} {n:,}" for table, n in result["read_model_rows"].items())
    )
    ok = median["year"] < TARGET_S and median["trend"] < TARGET_S
    print(f"  year and trend under {TARGET_S} s: {_verdict(ok)} (month / year = {ratio:.2f})")
    if "baseline_median_s" in result:
        base = result["baseline_median_s"]
        print(
            f"  through reports.service on one connection (median of {result['baseline_runs']} runs), direct "
            "definitions -> read model:"
        )
        for what in ("year", "month", "trend"):
            direct, model = base[f"direct_{what}"], base[f"read_model_{what}"]
            print(f"    {what:5}: {direct:6.2f} s -> {model:.3f} s ({direct / model:,.0f}x faster)")
        print(f"    every figure the same both ways: {_verdict(result['same_figures'])}")
        ok = ok and result["same_figures"] and base["read_model_year"] < TARGET_S
    print(f"  load average (1, 5, 15 min) at the end: {', '.join(f'{n:.1f}' for n in result['load_average'])}")
    return ok


def _loaded(seconds: float | None) -> str:
    return "data kept from a former run" if seconds is None else f"generated in {seconds:.0f} s"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = bench_cli.arguments(__doc__, check_help="exit 1 when the target is missed")
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="measured runs per period (default 3)")
    parser.add_argument(
        "--baseline-runs", type=int, help="measured runs of the direct definitions' baseline (default: --runs)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="leave out the direct definitions' run")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the embedded PostgreSQL in this directory and reuse its data in the next run of the same sizes",
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    baseline_runs = args.runs if args.baseline_runs is None else args.baseline_runs
    result = run(args.inspections, args.complaints, args.runs, baseline_runs, not args.no_baseline, args.keep)
    return bench_cli.finish(args, result, ok=report(result))


if __name__ == "__main__":
    raise SystemExit(main())
