"""Response compression benchmark: bytes on the wire and server CPU per request of a phone's first sync of 500
assignments, sent as they are (identity), gzip and brotli, in the same run.

    .venv/bin/python tests/bench/bench_compression.py [--rounds 20] [--check] [--json out.json]

One run, on an embedded PostgreSQL in a temporary directory:
1. a registry of 10,000 generated objects; the benchmark inspector has 500 planned assignments (each object with an
   alcoholvergunning), 20 other inspectors 250 each, two published checklist versions (bench_sync.py's work);
2. `toezicht serve` (one worker, production settings) on loopback and a light HTTP client (raw_http.py);
3. rounds of the whole first sync (every page, until has_more is false) once per Accept-Encoding, in turn, so a
   drift in the machine's speed touches all three alike. Bytes are the response bodies as sent; CPU is the
   server process's user + system time (/proc) over the round's pages, per page.
Target: identity bytes at least 5 x those of gzip (and of brotli).

Exit codes: 0 measured (with --check: and the target met), 1 the target missed (--check) or a failure.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import brotli  # noqa: E402

from backend.core import embedded  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from tests.bench import bench_cli, bench_http  # noqa: E402
from tests.bench.bench_inspections import serve  # noqa: E402
from tests.bench.bench_registry import add_objects, generated_objects, prepare_database  # noqa: E402
from tests.bench.bench_sync import MINE, REGIMES, TEAM, add_work, plan_work  # noqa: E402
from tests.bench.raw_http import Connection  # noqa: E402

OBJECTS = 10_000
TARGET_RATIO = 5.0
DECODE = {"identity": lambda body: body, "gzip": gzip.decompress, "br": brotli.decompress}
ENCODINGS = tuple(DECODE)


async def first_sync(conn: Connection, token: str, encoding: str) -> dict[str, int]:
    """Every page of a first sync with this Accept-Encoding: pages, body bytes as sent, assignments."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    cursor, pages, sent, assignments = None, 0, 0, 0
    while True:
        path = "/api/v1/sync" + (f"?cursor={quote(cursor)}" if cursor else "")
        status, body = await conn.request("GET", path, headers)
        assert status == 200, body[:300]
        page = json.loads(DECODE[encoding](body))
        pages, sent, assignments = pages + 1, sent + len(body), assignments + len(page["assignments"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return {"pages": pages, "bytes": sent, "assignments": assignments}


async def measure(host: str, port: int, pid: int, token: str, rounds: int) -> dict[str, Any]:
    conn = await Connection(host, port).open()
    totals = {encoding: {"cpu_s": 0.0, "pages": 0, "bytes": 0, "assignments": 0} for encoding in ENCODINGS}
    try:
        for encoding in ENCODINGS:  # warm-up: plans, caches, the compressors' code paths
            await first_sync(conn, token, encoding)
        for _ in range(rounds):
            for encoding in ENCODINGS:
                before = bench_http.cpu_seconds(pid) or 0.0
                sync = await first_sync(conn, token, encoding)
                totals[encoding]["cpu_s"] += (bench_http.cpu_seconds(pid) or 0.0) - before
                for key, value in sync.items():
                    totals[encoding][key] += value
    finally:
        await conn.close()
    return {
        encoding: {
            "bytes_per_sync": t["bytes"] / rounds,
            "pages_per_sync": t["pages"] / rounds,
            "assignments_per_sync": t["assignments"] / rounds,
            "cpu_ms_per_request": 1000 * t["cpu_s"] / t["pages"],
        }
        for encoding, t in totals.items()
    }


async def register(host: str, port: int, token: str) -> UUID:
    conn = await Connection(host, port).open()
    try:
        status, body = await conn.request("GET", "/api/v1/me", {"Authorization": f"Bearer {token}"})
        assert status == 200, body
        return UUID(json.loads(body)["id"])
    finally:
        await conn.close()


def inspector_token(data_dir: Path) -> str:
    now, defaults = int(time.time()), Settings()
    claims = {
        "iss": defaults.jwt_issuer,
        "aud": defaults.jwt_audience,
        "sub": "bench-compression",
        "iat": now,
        "nbf": now,
        "exp": now + 4 * 3600,
        "roles": ["inspector"],
        "regimes": REGIMES,
        "teams": [TEAM],
    }
    return mint_dev_token(load_or_create_dev_key(data_dir / "dev-signing-key.pem"), claims)


def run(rounds: int) -> dict[str, Any]:
    rng = random.Random(20240601)
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-compression-") as tmp:
        data_dir = Path(tmp)
        server, admin_url = embedded.start(data_dir / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            url = asyncio.run(prepare_database(admin_url, server, "bench_compression", ROOT / "migrations"))
            objects = generated_objects(OBJECTS, 0, rng)
            asyncio.run(add_objects(url, objects))
            token = inspector_token(data_dir)
            with serve(url, data_dir, data_dir / "server.log", 1) as (host, port, pid):
                inspector = asyncio.run(register(host, port, token))
                asyncio.run(add_work(url, inspector, plan_work(objects, rng)))
                result = asyncio.run(measure(host, port, pid, token, rounds))
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    return {"rounds": rounds, "encodings": result}


def report(result: dict[str, Any]) -> bool:
    figures = result["encodings"]
    plain = figures["identity"]
    print(
        f"First phone sync (GET /api/v1/sync, all pages), {MINE} assignments, registry of {OBJECTS:,} objects; "
        f"`toezicht serve` on loopback, {result['rounds']} rounds, the encodings in turn:"
    )
    ok = True
    for encoding, figure in figures.items():
        ratio = plain["bytes_per_sync"] / figure["bytes_per_sync"]
        meets = encoding == "identity" or ratio >= TARGET_RATIO
        ok &= meets
        print(
            f"  {encoding:8s} {figure['bytes_per_sync'] / 1e3:9.1f} kB per sync ({figure['pages_per_sync']:.0f} pages, "
            f"{figure['assignments_per_sync']:.0f} assignments)   server CPU {figure['cpu_ms_per_request']:6.2f} ms "
            f"per request"
            + (
                ""
                if encoding == "identity"
                else f"   {ratio:5.1f} x fewer bytes (target >= {TARGET_RATIO:.0f}: {'ok' if meets else 'MISSED'})"
            )
        )
    return ok


def main() -> int:
    parser = bench_cli.arguments(__doc__, check_help="exit 1 when the target is missed")
    parser.add_argument("--rounds", type=int, default=20, help="first syncs per encoding (default 20)")
    args = parser.parse_args()
    result = run(args.rounds)
    return bench_cli.finish(args, result, ok=report(result))


if __name__ == "__main__":
    raise SystemExit(main())
