"""Registry benchmark: object search at 10,000 and 100,000 objects, and the CSV import of 100,000 rows.

    .venv/bin/python tests/bench/bench_registry.py [--requests 300] [--check] [--json out.json]

One run, on an embedded PostgreSQL in a temporary directory (production settings, fsync on):
1. COPY 10,000 generated objects into one database and the same 10,000 plus 90,000 more into another;
2. measure p50/p99 latency of GET /api/v1/objects through the app in-process (httpx ASGITransport, lifespan
   running, a real inspector token) on both, for the first page and for a deep page (a cursor 90% into the set),
   for the plain list, a wijk filter and a name search (q). The two sizes are asked in turn, request by request;
3. import a 100,000-row CSV file through backend.registry.importer into an empty, migrated database.
Targets: every p99 at 100,000 at most 1.3 x the same at 10,000; the import under 30 s.

Exit codes: 0 measured (with --check: and every target met), 1 a target missed (--check) or a failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from backend.core import audit, embedded  # noqa: E402
from backend.core import db as core_db  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.migrations import migrate  # noqa: E402
from backend.core.pagination import encode_cursor  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from backend.registry import importer, queries  # noqa: E402
from tests.bench import bench_cli  # noqa: E402
from tests.conftest import app_client  # noqa: E402

SMALL, LARGE = 10_000, 100_000
IMPORT_ROWS = 100_000
TARGET_RATIO = 1.3
TARGET_IMPORT_S = 30.0
PAGE = 50
WARMUP = 30
# The caller is a typical inspector: the filter on regimes and the sexwork rule apply.
REGIMES = ["alcohol", "nix18"]

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
PREFIXES = [
    "Café",
    "Eetcafé",
    "Bar",
    "Restaurant",
    "Grand Café",
    "Brasserie",
    "Slijterij",
    "Supermarkt",
    "Snackbar",
    "Sportkantine",
    "Hotel",
    "Club",
    "Lunchroom",
    "Bistro",
]
WORDS = [
    "De Kroon",
    "Het Anker",
    "De Zwaan",
    "Het Wapen",
    "De Kade",
    "Oudegracht",
    "De Pastoor",
    "Lombok",
    "Zuilen",
    "De Markt",
    "Het Hoekje",
    "De Gouden Leeuw",
    "Wittevrouwen",
    "Tuindorp",
    "De Ster",
    "Maliebaan",
]
STREETS = [
    "Oudegracht",
    "Nieuwegracht",
    "Kanaalstraat",
    "Amsterdamsestraatweg",
    "Biltstraat",
    "Vleutenseweg",
    "Zamenhofdreef",
    "Croeselaan",
    "Twijnstraat",
    "Voorstraat",
    "Lange Elisabethstraat",
    "Neude",
]
# kind, weight, regimes
KINDS = [
    ("horeca_hoogdrempelig", 30, ["alcohol", "nix18"]),
    ("horeca_hoogdrempelig", 8, ["alcohol", "gambling", "nix18"]),
    ("horeca_laagdrempelig", 20, ["alcohol", "nix18"]),
    ("slijterij", 6, ["alcohol", "nix18"]),
    ("supermarkt", 10, ["alcohol", "nix18"]),
    ("paracommercie", 8, ["alcohol", "nix18"]),
    ("coffeeshop", 1, ["coffeeshop"]),
    ("seks_prive_huis", 2, ["sexwork"]),
    ("seks_club", 1, ["alcohol", "sexwork"]),
    ("speelautomatenhal", 2, ["gambling"]),
    ("other", 12, ["nix18"]),
]


def generated_objects(count: int, start: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """Rows in queries.COPY_COLUMNS order; names are unique (they end in a serial number)."""
    kinds = rng.choices(KINDS, weights=[w for _, w, _ in KINDS], k=count)
    rows = []
    for i, (kind, _, regimes) in enumerate(kinds, start):
        name = f"{rng.choice(PREFIXES)} {rng.choice(WORDS)} {i:06d}"
        postcode = f"{rng.randint(3500, 3585)}{rng.choice('ABCDEGHJKLMNPRTVWXZ')}{rng.choice('ABCDEGHJKLMNPRTVWXZ')}"
        rows.append(
            (
                uuid4(),
                name,
                None,
                rng.choice(STREETS),
                rng.randint(1, 400),
                None,
                postcode,
                "Utrecht",
                rng.choice(WIJKEN),
                round(rng.uniform(52.05, 52.13), 5),
                round(rng.uniform(5.03, 5.18), 5),
                None,
                kind,
                "under_50" if rng.random() < 0.95 else "50_or_more",
                "regular",
                "active",
                regimes,
            )
        )
    return rows


async def add_objects(url: str, rows: list[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("establishment", records=rows, columns=queries.COPY_COLUMNS)
        await conn.execute("ANALYZE establishment")
    finally:
        await conn.close()


async def deep_cursor(url: str, extra: str, args: list[Any], fraction: float = 0.9) -> str:
    """The cursor of the row `fraction` into what the caller sees (with the same filter)."""
    conn = await asyncpg.connect(url)
    try:
        where = f"regimes && $1::text[] AND NOT ('sexwork' = ANY (regimes)){extra}"
        total = await conn.fetchval(f"SELECT count(*) FROM establishment WHERE {where}", REGIMES, *args)
        offset = int(total * fraction)
        row = await conn.fetchrow(
            f"SELECT name, id FROM establishment WHERE {where} ORDER BY name, id OFFSET {offset} LIMIT 1",
            REGIMES,
            *args,
        )
    finally:
        await conn.close()
    return encode_cursor(row["name"], str(row["id"]))


# Scenario name -> (query string, SQL condition and arguments for the deep cursor).
SCENARIOS = {
    "list": ("", "", []),
    "wijk": ("wijk=west", " AND wijk = $2", ["west"]),
    "q": ("q=kroon", " AND search_text ILIKE $2", ["%kroon%"]),
}


async def timed_get(http: Any, headers: dict[str, str], path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == PAGE
    return elapsed


async def measure(
    settings: dict[int, Any], urls: dict[int, str], token: str, requests: int
) -> dict[int, dict[str, Any]]:
    """p50/p99 per size and scenario. The two sizes are asked in turn, request by request, so drift on the machine
    (other load, caches, the garbage collector) falls on both alike."""
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[int, dict[str, Any]] = {size: {} for size in urls}
    async with app_client(settings[SMALL]) as small, app_client(settings[LARGE]) as large:
        clients = {SMALL: small, LARGE: large}
        for name, (query, extra, args) in SCENARIOS.items():
            base = f"/api/v1/objects?limit={PAGE}" + (f"&{query}" if query else "")
            for depth in ("first", "deep"):
                paths = dict.fromkeys(urls, base)
                if depth == "deep":
                    paths = {size: f"{base}&cursor={await deep_cursor(url, extra, args)}" for size, url in urls.items()}
                samples: dict[int, list[float]] = {size: [] for size in urls}
                for i in range(WARMUP + requests):
                    for size, http in clients.items():
                        elapsed = await timed_get(http, headers, paths[size])
                        if i >= WARMUP:
                            samples[size].append(elapsed)
                for size, values in samples.items():
                    cuts = statistics.quantiles(values, n=100, method="inclusive")
                    results[size][f"{name}/{depth}"] = {"p50_ms": cuts[49], "p99_ms": cuts[98]}
    return results


def import_file(rows: int, rng: random.Random) -> bytes:
    lines = [";".join(importer.COLUMNS)]
    for i in range(rows):
        kind, _, regimes = rng.choices(KINDS, weights=[w for _, w, _ in KINDS])[0]
        lines.append(
            ";".join(
                [
                    f"{rng.choice(PREFIXES)} {rng.choice(WORDS)} {i:06d}",
                    "",
                    rng.choice(STREETS),
                    str(rng.randint(1, 400)),
                    "",
                    f"{rng.randint(3500, 3585)} {rng.choice('ABCDEGHJKLMNPRTVWXZ')}{rng.choice('ABCDEGHJKLMNPRTVWXZ')}",
                    "Utrecht",
                    rng.choice(WIJKEN),
                    f"{rng.randint(10_000_000, 99_999_999)}",
                    kind,
                    str(rng.randint(1, 80)),
                    "regulier",
                    ",".join(regimes),
                    f"{rng.uniform(52.05, 52.13):.5f}".replace(".", ","),
                    f"{rng.uniform(5.03, 5.18):.5f}".replace(".", ","),
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode()


async def time_import(url: str, content: bytes) -> tuple[float, int]:
    conn = await core_db.connect(url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            report = await importer.import_objects(conn, content, partial=False, actor=audit.Actor(label="bench"))
        return time.perf_counter() - started, report.imported
    finally:
        await conn.close()


async def prepare_database(admin_url: str, server: Any, name: str, migrations: Path) -> str:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # a constant of this script
    finally:
        await admin.close()
    url = server.get_uri(name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, migrations)
    finally:
        await conn.close()
    return url


def run(requests: int) -> dict[str, Any]:
    rng = random.Random(20240501)
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-registry-") as tmp:
        server, admin_url = embedded.start(Path(tmp) / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            urls = {
                size: asyncio.run(prepare_database(admin_url, server, f"bench_{size}", ROOT / "migrations"))
                for size in (SMALL, LARGE)
            }
            first = generated_objects(SMALL, 0, rng)
            asyncio.run(add_objects(urls[SMALL], first))
            asyncio.run(add_objects(urls[LARGE], first + generated_objects(LARGE - SMALL, SMALL, rng)))
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
                    "sub": "bench-inspector",
                    "iat": now,
                    "nbf": now,
                    "exp": now + 3600,
                    "roles": ["inspector"],
                    "regimes": REGIMES,
                },
            )
            figures = asyncio.run(measure(settings, urls, token, requests))

            import_url = asyncio.run(prepare_database(admin_url, server, "bench_import", ROOT / "migrations"))
            content = import_file(IMPORT_ROWS, rng)
            seconds, imported = asyncio.run(time_import(import_url, content))
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    assert imported == IMPORT_ROWS
    return {
        "requests": requests,
        "latency": figures,
        "import_s": seconds,
        "import_rows": imported,
        "import_rows_per_s": imported / seconds,
        "import_mb": len(content) / 1e6,
    }


def report(result: dict[str, Any]) -> bool:
    small, large = result["latency"][SMALL], result["latency"][LARGE]
    print(
        f"Object search (GET /api/v1/objects, page of {PAGE}, in-process ASGI), {result['requests']} requests each, "
        "the two sizes in turn:"
    )
    print(
        f"  {'scenario':<11} {'p50 10k':>9} {'p50 100k':>9} {'p99 10k':>9} {'p99 100k':>9} {'p99 ratio':>9}"
        f"  (target <= {TARGET_RATIO})"
    )
    ok = True
    for name in small:
        ratio = large[name]["p99_ms"] / small[name]["p99_ms"]
        ok &= ratio <= TARGET_RATIO
        print(
            f"  {name:<11} {small[name]['p50_ms']:>7.2f}ms {large[name]['p50_ms']:>7.2f}ms "
            f"{small[name]['p99_ms']:>7.2f}ms {large[name]['p99_ms']:>7.2f}ms {ratio:>9.2f}"
            f"  {'ok' if ratio <= TARGET_RATIO else 'MISSED'}"
        )
    fast = result["import_s"] < TARGET_IMPORT_S
    ok &= fast
    print(
        f"CSV import of {result['import_rows']:,} rows ({result['import_mb']:.1f} MB): {result['import_s']:.1f} s, "
        f"{result['import_rows_per_s']:,.0f} rows/s  (target < {TARGET_IMPORT_S:.0f} s: {'ok' if fast else 'MISSED'})"
    )
    return ok


def main() -> int:
    parser = bench_cli.arguments(__doc__, check_help="exit 1 when a target is missed")
    parser.add_argument(
        "--requests", type=int, default=1000, help="measured requests per scenario and size (default 1000)"
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    result = run(args.requests)
    return bench_cli.finish(args, result, ok=report(result))


if __name__ == "__main__":
    raise SystemExit(main())
