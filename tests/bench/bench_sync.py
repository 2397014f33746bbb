"""Phone sync benchmark: a first sync of 500 assignments and an incremental sync of 10 changes, with a registry
of 10,000 and of 100,000 objects.

    .venv/bin/python tests/bench/bench_sync.py [--repeat 30] [--check] [--json out.json]

One run, on an embedded PostgreSQL in a temporary directory (production settings, fsync on):
1. two databases: 10,000 generated objects in one, the same 10,000 plus 90,000 more in the other. In both the
   same work: the benchmark inspector has 500 planned assignments on 500 objects (each with an
   alcoholvergunning), 20 other inspectors 250 assignments each (their feed rows fill sync_feed), all with two
   published checklist versions; everything among the first 10,000 objects, so the two differ only in the
   registry's size;
2. the first sync (no cursor, pages of the default 200 assignments, until has_more is false) through the app
   in-process (httpx ASGITransport, lifespan running, a real inspector token), the two sizes in turn;
3. 10 changes (4 reschedules, 1 reassignment away, 1 cancellation, 2 object changes, 2 new permits), then the
   incremental sync from the first sync's cursor, repeated (it reads only), the two sizes in turn;
4. bytes: 10 new assignments for the inspector with the checklist versions its phone already holds, then the
   incremental sync as before (the phone names nothing) and with `have_checklists` naming what it holds.
Targets: the incremental sync's p50 at 100,000 at most 1.3 x the same at 10,000 (it must not scale with the
registry); the phone that names its checklist versions gets no checklist bytes. The first sync is reported
with the same ratio.

Exit codes: 0 measured (with --check: and the target met), 1 the target missed (--check) or a failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from backend.checklists import service as checklists  # noqa: E402
from backend.checklists import templates  # noqa: E402
from backend.core import db as core_db  # noqa: E402
from backend.core import embedded  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from tests.bench import bench_cli  # noqa: E402
from tests.bench.bench_registry import add_objects, generated_objects, prepare_database  # noqa: E402
from tests.conftest import app_client  # noqa: E402

SMALL, LARGE = 10_000, 100_000
MINE, OTHERS, OTHERS_EACH = 500, 20, 250
CHANGES = 10
TARGET_RATIO = 1.3
WARMUP = 3
REGIMES = ["alcohol", "nix18"]
CHECKLISTS = ("alcohol-horeca", "ondermijning-signals")
TEAM = "team-bench"

INSERT_USER = """
INSERT INTO app_user (id, issuer, subject, roles, regimes, teams) VALUES ($1, 'bench', $2, '{inspector}', $3, $4)
"""
INSERT_ASSIGNMENT = """
INSERT INTO assignment (id, establishment_id, team_id, wijk, regimes, checklist_version_ids, planned_from, planned_to,
                        inspector_ids, reason, created_by)
VALUES ($1, $2, $3, $4, '{alcohol}', $5, $6, $7, $8, 'regular_cycle', $9)
"""
INSERT_PERMIT = """
INSERT INTO permit (id, establishment_id, type, number, holder, valid_from, valid_to, conditions)
VALUES ($1, $2, 'alcoholvergunning', $3, 'Horeca B.V.', $4, $5, $6)
"""


def plan_work(objects: list[tuple[Any, ...]], rng: random.Random) -> dict[str, Any]:
    """Who gets which object: the same in both databases (objects are rows in COPY_COLUMNS order)."""
    plannable = [row for row in objects if "alcohol" in row[16] and "sexwork" not in row[16]]
    targets = rng.sample(plannable, MINE + OTHERS * OTHERS_EACH)
    return {"mine": targets[:MINE], "others": targets[MINE:], "other_users": [uuid4() for _ in range(OTHERS)]}


async def add_work(url: str, inspector: UUID, work: dict[str, Any]) -> dict[str, Any]:
    """Checklists, users, assignments and permits; returns the ids the changes need."""
    conn = await core_db.connect(url)
    try:
        for report in await checklists.publish_directory(conn, templates.DEFAULT_DIRECTORY):
            assert report.outcome == "published", report.lines()
        versions = [
            await conn.fetchval("SELECT id FROM checklist_version WHERE template_key = $1", key) for key in CHECKLISTS
        ]
        for i, user_id in enumerate(work["other_users"]):
            await conn.execute(INSERT_USER, user_id, f"bench-other-{i}", REGIMES, [TEAM])
        start = date.today() + timedelta(days=1)
        rows = [
            (uuid4(), obj[0], TEAM, obj[8], versions, start, start + timedelta(days=30), [inspector], inspector)
            for obj in work["mine"]
        ]
        rows += [
            (
                uuid4(),
                obj[0],
                TEAM,
                obj[8],
                versions,
                start,
                start + timedelta(days=30),
                [work["other_users"][i % OTHERS]],
                inspector,
            )
            for i, obj in enumerate(work["others"])
        ]
        await conn.executemany(INSERT_ASSIGNMENT, rows)
        conditions = {"leidinggevenden": ["J. de Vries"]}
        await conn.executemany(
            INSERT_PERMIT,
            [
                (uuid4(), obj[0], f"AW-{i:06d}", date(2024, 1, 1), date(2030, 12, 31), conditions)
                for i, obj in enumerate(work["mine"])
            ],
        )
        await conn.execute("ANALYZE")
        return {
            "assignments": [row[0] for row in rows[:MINE]],
            "objects": [obj[0] for obj in work["mine"]],
            "other_user": work["other_users"][0],
            "inspector": inspector,
        }
    finally:
        await conn.close()


async def make_changes(url: str, ids: dict[str, Any]) -> None:
    """Ten changes that concern the inspector, each in its own transaction, as the API would make them."""
    conn = await core_db.connect(url)
    try:
        mine, objects = ids["assignments"], ids["objects"]
        for assignment_id in mine[:4]:
            await conn.execute(
                "UPDATE assignment SET planned_from = planned_from + 7, planned_to = planned_to + 7, "
                "version = version + 1, updated_at = now() WHERE id = $1",
                assignment_id,
            )
        await conn.execute(
            "UPDATE assignment SET inspector_ids = $2, version = version + 1 WHERE id = $1",
            mine[4],
            [ids["other_user"]],
        )
        await conn.execute(
            "UPDATE assignment SET status = 'cancelled', cancel_reason = 'bench', version = version + 1 WHERE id = $1",
            mine[5],
        )
        for object_id in objects[10:12]:
            await conn.execute(
                "UPDATE establishment SET supervision_level = 'verscherpt', version = version + 1 WHERE id = $1",
                object_id,
            )
        for i, object_id in enumerate(objects[20:22]):
            await conn.execute(
                "INSERT INTO permit (id, establishment_id, type, number, holder, valid_from, conditions) "
                "VALUES ($1, $2, 'ontheffing_art35', $3, 'Vereniging', current_date, '{\"event\": \"Koningsdag\"}')",
                uuid4(),
                object_id,
                f"ONT-{i}",
            )
    finally:
        await conn.close()


async def new_work(url: str, ids: dict[str, Any]) -> None:
    """Ten new assignments for the inspector, with the checklist versions it already holds."""
    conn = await core_db.connect(url)
    try:
        versions = [
            await conn.fetchval("SELECT id FROM checklist_version WHERE template_key = $1", key) for key in CHECKLISTS
        ]
        start = date.today() + timedelta(days=40)
        for object_id in ids["objects"][30 : 30 + CHANGES]:
            wijk = await conn.fetchval("SELECT wijk FROM establishment WHERE id = $1", object_id)
            await conn.execute(
                INSERT_ASSIGNMENT,
                uuid4(),
                object_id,
                TEAM,
                wijk,
                versions,
                start,
                start + timedelta(days=30),
                [ids["inspector"]],
                ids["inspector"],
            )
        ids["versions"] = [str(version) for version in versions]
    finally:
        await conn.close()


async def sync_bytes(http: Any, headers: dict[str, str], cursor: str, have: list[str]) -> dict[str, int]:
    """The incremental page's size, and how much of it is checklist versions."""
    response = await http.get("/api/v1/sync", headers=headers, params={"cursor": cursor, "have_checklists": have})
    assert response.status_code == 200, response.text
    page = response.json()
    assert not page["reset"] and len(page["assignments"]) == CHANGES, page
    return {
        "bytes": len(response.content),
        "checklist_bytes": len(json.dumps(page["checklist_versions"])) - 2,
        "checklist_versions": len(page["checklist_versions"]),
    }


async def first_sync(http: Any, headers: dict[str, str]) -> tuple[float, str, dict[str, int]]:
    """The whole first sync (every page); its time, final cursor and what it delivered."""
    started = time.perf_counter()
    cursor, counts, pages, size = None, {"assignments": 0, "objects": 0, "checklist_versions": 0}, 0, 0
    while True:
        response = await http.get("/api/v1/sync", headers=headers, params={"cursor": cursor} if cursor else {})
        assert response.status_code == 200, response.text
        page = response.json()
        pages, size = pages + 1, size + len(response.content)
        for key in counts:
            counts[key] += len(page[key])
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, cursor, {**counts, "pages": pages, "bytes": size}


async def incremental_sync(http: Any, headers: dict[str, str], cursor: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await http.get("/api/v1/sync", headers=headers, params={"cursor": cursor})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    page = response.json()
    assert not page["has_more"] and not page["reset"], page
    return elapsed, {
        "assignments": len(page["assignments"]),
        "objects": len(page["objects"]),
        "removed": len(page["removed"]),
        "bytes": len(response.content),
    }


def summary(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": cuts[49], "p99_ms": cuts[98], "min_ms": min(values)}


async def measure(
    settings: dict[int, Any], urls: dict[int, str], ids: dict[int, dict[str, Any]], token: str, repeat: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    result: dict[str, Any] = {"first": {}, "incremental": {}, "delivered": {}}
    async with app_client(settings[SMALL]) as small, app_client(settings[LARGE]) as large:
        clients = {SMALL: small, LARGE: large}
        samples: dict[int, list[float]] = {size: [] for size in clients}
        cursors: dict[int, str] = {}
        for i in range(WARMUP + repeat):
            for size, http in clients.items():
                elapsed, cursors[size], delivered = await first_sync(http, headers)
                if i >= WARMUP:
                    samples[size].append(elapsed)
                result["delivered"][f"first/{size}"] = delivered
        for size in clients:
            result["first"][size] = summary(samples[size])
            await make_changes(urls[size], ids[size])
        samples = {size: [] for size in clients}
        for i in range(WARMUP + repeat * 10):
            for size, http in clients.items():
                elapsed, delivered = await incremental_sync(http, headers, cursors[size])
                if i >= WARMUP:
                    samples[size].append(elapsed)
                result["delivered"][f"incremental/{size}"] = delivered
        for size in clients:
            result["incremental"][size] = summary(samples[size])
        # The phone is up to date, then 10 new assignments arrive that use the checklist versions it holds.
        page = (await small.get("/api/v1/sync", headers=headers, params={"cursor": cursors[SMALL]})).json()
        await new_work(urls[SMALL], ids[SMALL])
        result["bytes"] = {
            "before": await sync_bytes(small, headers, page["cursor"], []),
            "after": await sync_bytes(small, headers, page["cursor"], ids[SMALL]["versions"]),
        }
    return result


async def register_inspector(settings: Any, token: str) -> UUID:
    async with app_client(settings) as http:
        response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return UUID(response.json()["id"])


async def feed_rows(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM sync_feed")
    finally:
        await conn.close()


def run(repeat: int) -> dict[str, Any]:
    rng = random.Random(20240601)
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-sync-") as tmp:
        server, admin_url = embedded.start(Path(tmp) / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            urls = {
                size: asyncio.run(prepare_database(admin_url, server, f"bench_sync_{size}", ROOT / "migrations"))
                for size in (SMALL, LARGE)
            }
            first = generated_objects(SMALL, 0, rng)
            asyncio.run(add_objects(urls[SMALL], first))
            asyncio.run(add_objects(urls[LARGE], first + generated_objects(LARGE - SMALL, SMALL, rng)))
            work = plan_work(first, rng)
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
                    "teams": [TEAM],
                },
            )
            ids = {}
            for size, url in urls.items():
                inspector = asyncio.run(register_inspector(settings[size], token))
                ids[size] = asyncio.run(add_work(url, inspector, work))
            result = asyncio.run(measure(settings, urls, ids, token, repeat))
            result["feed_rows"] = {size: asyncio.run(feed_rows(url)) for size, url in urls.items()}
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    result["repeat"] = repeat
    return result


def report(result: dict[str, Any]) -> bool:
    delivered = result["delivered"]
    print(
        f"Phone sync (GET /api/v1/sync, in-process ASGI), registry of {SMALL:,} and {LARGE:,} objects, the two "
        "sizes in turn;"
    )
    print(
        f"  the inspector: {MINE} planned assignments; {OTHERS} other inspectors: {OTHERS * OTHERS_EACH:,}; "
        f"sync_feed rows: {result['feed_rows'][LARGE]:,}"
    )
    ok = True
    for phase, runs in (("first", result["repeat"]), ("incremental", result["repeat"] * 10)):
        small, large = result[phase][SMALL], result[phase][LARGE]
        ratio = large["p50_ms"] / small["p50_ms"]
        what = delivered[f"{phase}/{LARGE}"]
        if phase == "first":
            label = (
                f"first sync, all pages ({what['pages']} pages: {what['assignments']} assignments, "
                f"{what['objects']} objects with permits, {what['checklist_versions']} checklist versions, "
                f"{what['bytes'] / 1e6:.1f} MB)"
            )
        else:
            label = (
                f"incremental sync after {CHANGES} changes ({what['assignments']} assignments, {what['objects']} "
                f"objects, {what['removed']} tombstones, {what['bytes'] / 1e3:.1f} kB)"
            )
            ok &= ratio <= TARGET_RATIO
        print(f"  {label}, {runs} runs each:")
        print(
            f"    p50 {small['p50_ms']:8.2f} ms at 10k  {large['p50_ms']:8.2f} ms at 100k   "
            f"p99 {small['p99_ms']:8.2f} / {large['p99_ms']:8.2f} ms   p50 ratio 100k/10k {ratio:.2f}"
            + (
                f"  (target <= {TARGET_RATIO}: {'ok' if ratio <= TARGET_RATIO else 'MISSED'})"
                if phase == "incremental"
                else ""
            )
        )
    before, after = result["bytes"]["before"], result["bytes"]["after"]
    print(f"  bytes of the incremental sync after {CHANGES} new assignments using checklist versions the phone holds:")
    for name, figures in (("naming nothing (before)", before), ("have_checklists (after)", after)):
        print(
            f"    {name:26} {figures['bytes']:>9,} bytes, of which checklist versions {figures['checklist_bytes']:>9,} "
            f"({figures['checklist_versions']} versions)"
        )
    print(
        f"    ratio after/before {after['bytes'] / before['bytes']:.3f}  (target: no checklist bytes: "
        f"{'ok' if after['checklist_bytes'] == 0 else 'MISSED'})"
    )
    ok &= after["checklist_bytes"] == 0
    return ok


def main() -> int:
    parser = bench_cli.arguments(__doc__, check_help="exit 1 when the target is missed")
    parser.add_argument(
        "--repeat",
        type=int,
        default=30,
        help="measured first syncs per size (default 30; incremental syncs: 10 x as many)",
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    result = run(args.repeat)
    return bench_cli.finish(args, result, ok=report(result))


if __name__ == "__main__":
    raise SystemExit(main())
