"""Complaints benchmark: the overdue list's first page over 20,000 and over 200,000 complaints.

    .venv/bin/python tests/bench/bench_complaints.py [--requests 1000] [--check] [--json out.json]

One run, on an embedded PostgreSQL in a temporary directory (production settings, fsync on):
1. COPY 20,000 generated complaints into one database and the same 20,000 plus 180,000 more into another. In
   both, 2% are overdue (open, resolution date before today), 5% open and not yet due, the rest resolved or
   rejected; regimes are mixed (sex work and regime-less ones included), received over the last two years;
2. measure p50/p99 latency of GET /api/v1/complaints/deadlines?overdue=true (the first page of 50) through the
   app in-process (httpx ASGITransport, lifespan running, a real complaint handler's token scoped for four of
   the five regimes, so the visibility filter applies). The two sizes are asked in turn, request by request, so
   drift on the machine falls on both alike; also the acknowledgement deadline's overdue list.
Target: p99 at 200,000 at most 1.3 x the p99 at 20,000. Figures are printed; --check turns a missed target into
exit code 1.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from backend.core import calendar, embedded  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from backend.registry.service import AMSTERDAM, today  # noqa: E402
from tests.bench import bench_cli  # noqa: E402
from tests.bench.bench_registry import prepare_database  # noqa: E402
from tests.conftest import app_client  # noqa: E402

SMALL, LARGE = 20_000, 200_000
TARGET_RATIO = 1.3
PAGE = 50
WARMUP = 30
OVERDUE_SHARE, OPEN_SHARE = 0.02, 0.05
REGIMES = ["alcohol", "nix18", "coffeeshop", "gambling"]  # the caller: every regime but sexwork
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
# category, regime, acknowledgement days, handling days, weight
CATEGORIES = [
    ("geluidsoverlast_horeca", "alcohol", 2, 10, 40),
    ("overlast_bezoekers_parkeren", "alcohol", 2, 10, 20),
    ("verkoop_alcohol_minderjarigen", "nix18", 2, 15, 10),
    ("illegale_prostitutie", "sexwork", 2, 20, 5),
    ("drugsoverlast", "coffeeshop", 2, 15, 12),
    ("illegaal_gokken", "gambling", 2, 20, 4),
    ("ondermijning", None, 2, 20, 3),
    ("other", None, 2, 10, 6),
]
COLUMNS = (
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
    "acknowledged_at",
    "acknowledgement_due_on",
    "resolution_due_on",
    "outcome",
    "forwarded_to",
    "closed_at",
    "created_by",
)


def generated_complaints(count: int, rng: random.Random, creator: UUID) -> list[tuple[Any, ...]]:
    """Rows in COLUMNS order: OVERDUE_SHARE open and overdue, OPEN_SHARE open and not yet due, the rest closed."""
    now = datetime.now(UTC)
    on = today()
    picks = rng.choices(CATEGORIES, weights=[c[4] for c in CATEGORIES], k=count)
    rows = []
    for key, regime, ack_days, handling_days, _ in picks:
        roll = rng.random()
        if roll < OPEN_SHARE:  # open, received in the last few days: not yet due
            received = now - timedelta(hours=rng.uniform(0, 48))
        else:  # received long enough ago that the resolution date has passed
            received = now - timedelta(days=rng.uniform(30, 730))
        received_on = received.astimezone(AMSTERDAM).date()
        ack_due = calendar.add_working_days(received_on, ack_days)
        resolution_due = calendar.add_working_days(received_on, handling_days)
        if roll < OPEN_SHARE:
            state, acknowledged, outcome, forwarded, closed = "received", None, None, None, None
        elif roll < OPEN_SHARE + OVERDUE_SHARE:
            state = rng.choice(["received", "in_progress", "inspection_planned", "reopened"])
            acknowledged = None if state == "received" else received + timedelta(days=1)
            outcome, forwarded, closed = None, None, None
        elif rng.random() < 0.9:
            state, acknowledged = "resolved", received + timedelta(days=1)
            outcome, forwarded, closed = "nuisance_stopped", None, received + timedelta(days=9)
        else:
            state, acknowledged = "rejected", received + timedelta(days=1)
            outcome, forwarded, closed = None, "Politie Midden-Nederland", received + timedelta(days=2)
        assert state in ("resolved", "rejected") or roll < OPEN_SHARE or resolution_due < on
        rows.append(
            (
                uuid4(),
                key,
                regime,
                rng.choice(["phone", "email", "web_form", "api"]),
                "Overlast gemeld door bewoner (gegenereerd).",
                "Oudegracht",
                rng.randint(1, 400),
                f"35{rng.randint(11, 85)}AB",
                "Utrecht",
                rng.choice(WIJKEN),
                "postcode",
                False,
                False,
                state,
                received,
                acknowledged,
                ack_due,
                resolution_due,
                outcome,
                forwarded,
                closed,
                creator,
            )
        )
    return rows


async def add_complaints(url: str, rows: list[tuple[Any, ...]], creator: UUID) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO app_user (id, issuer, subject, roles) VALUES ($1, 'bench', 'bench-intake', "
            "'{complaints_officer}') ON CONFLICT DO NOTHING",
            creator,
        )
        await conn.copy_records_to_table("complaint", records=rows, columns=COLUMNS)
        await conn.execute("ANALYZE complaint")
    finally:
        await conn.close()


async def timed_get(http: Any, headers: dict[str, str], path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == PAGE
    return elapsed


SCENARIOS = {
    "resolution": f"/api/v1/complaints/deadlines?overdue=true&limit={PAGE}",
    "acknowledgement": f"/api/v1/complaints/deadlines?deadline=acknowledgement&overdue=true&limit={PAGE}",
}


async def measure(settings: dict[int, Any], token: str, requests: int) -> dict[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[int, dict[str, Any]] = {SMALL: {}, LARGE: {}}
    async with app_client(settings[SMALL]) as small, app_client(settings[LARGE]) as large:
        clients = {SMALL: small, LARGE: large}
        for name, path in SCENARIOS.items():
            samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
            for i in range(WARMUP + requests):
                for size, http in clients.items():
                    elapsed = await timed_get(http, headers, path)
                    if i >= WARMUP:
                        samples[size].append(elapsed)
            for size, values in samples.items():
                cuts = statistics.quantiles(values, n=100, method="inclusive")
                results[size][name] = {"p50_ms": cuts[49], "p99_ms": cuts[98]}
    return results


async def overdue_counts(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM complaint WHERE state IN ('received', 'in_progress', 'inspection_planned', "
            "'reopened') AND resolution_due_on < $1",
            today(),
        )
    finally:
        await conn.close()


def run(requests: int) -> dict[str, Any]:
    rng = random.Random(20261125)
    creator = uuid4()
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-complaints-") as tmp:
        server, admin_url = embedded.start(Path(tmp) / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            urls = {
                size: asyncio.run(prepare_database(admin_url, server, f"bench_{size}", ROOT / "migrations"))
                for size in (SMALL, LARGE)
            }
            first = generated_complaints(SMALL, rng, creator)
            asyncio.run(add_complaints(urls[SMALL], first, creator))
            asyncio.run(add_complaints(urls[LARGE], first + generated_complaints(LARGE - SMALL, rng, creator), creator))
            overdue = {size: asyncio.run(overdue_counts(url)) for size, url in urls.items()}
            settings = {
                size: load_settings(
                    {},
                    database_url=url,
                    data_dir=tmp,
                    log_level="warning",
                    jwt_issuer="bench",
                    jwt_audience="toezicht-api",
                )
                for size, url in urls.items()
            }
            key = load_or_create_dev_key(settings[SMALL].dev_signing_key_path)
            now = int(time.time())
            token = mint_dev_token(
                key,
                {
                    "iss": "bench",
                    "aud": "toezicht-api",
                    "sub": "bench-handler",
                    "iat": now,
                    "nbf": now,
                    "exp": now + 3600,
                    "roles": ["complaints_officer"],
                    "regimes": REGIMES,
                },
            )
            figures = asyncio.run(measure(settings, token, requests))
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    return {"requests": requests, "latency": figures, "overdue": overdue}


def report(result: dict[str, Any]) -> bool:
    small, large = result["latency"][SMALL], result["latency"][LARGE]
    overdue = result["overdue"]
    print(
        f"Overdue complaints, first page of {PAGE} (GET /api/v1/complaints/deadlines?overdue=true, in-process ASGI), "
        f"{result['requests']} requests each, the two sizes in turn; overdue: {overdue[SMALL]:,} of {SMALL:,} and "
        f"{overdue[LARGE]:,} of {LARGE:,}:"
    )
    print(
        f"  {'deadline':<16} {'p50 20k':>9} {'p50 200k':>9} {'p99 20k':>9} {'p99 200k':>9} {'p99 ratio':>9}"
        f"  (target <= {TARGET_RATIO})"
    )
    ok = True
    for name in small:
        ratio = large[name]["p99_ms"] / small[name]["p99_ms"]
        ok &= ratio <= TARGET_RATIO
        print(
            f"  {name:<16} {small[name]['p50_ms']:>7.2f}ms {large[name]['p50_ms']:>7.2f}ms "
            f"{small[name]['p99_ms']:>7.2f}ms {large[name]['p99_ms']:>7.2f}ms {ratio:>9.2f}"
            f"  {'ok' if ratio <= TARGET_RATIO else 'MISSED'}"
        )
    return ok


def main() -> int:
    parser = bench_cli.arguments(__doc__, check_help="exit 1 when the target is missed")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per size (default 1000)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    result = run(args.requests)
    return bench_cli.finish(args, result, ok=report(result))


if __name__ == "__main__":
    raise SystemExit(main())
