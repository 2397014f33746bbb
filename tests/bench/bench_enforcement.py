"""Proposal benchmark: GET /api/v1/enforcement/cases/{id}/proposal for an object with 200 earlier violations of the
same article in the last twelve months, against one with none, measured in one run.

    .venv/bin/python tests/bench/bench_enforcement.py [--earlier 200] [--other 20000] [--requests 300] [--check]

One run, on an embedded PostgreSQL in a temporary directory, with the app in process (ASGI, no sockets: the
figures are the service and its SQL, not the network):

1. the world through the API: users, the alcohol-horeca checklist, two objects, and for each object one
   inspection with a no-manager violation (art. 24 lid 1), reviewed, so each has an open case;
2. the history in SQL: --earlier reviewed inspections of the first object, spread over the last eleven
   months, each with the same violation, in an earlier (closed) case, plus --other violations of 500 other
   objects, so a query that is not indexed by target and article shows;
3. --requests proposals per case, alternating, after a warm-up. Reported: median and p95 per case and the ratio
   of the medians. Target: the ratio below 2 (--check turns a miss into exit code 1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.core import embedded  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from tests.bench.bench_registry import prepare_database  # noqa: E402
from tests.inspection_helpers import HORECA_OK, checklist_file  # noqa: E402
from tests.registry_helpers import object_body  # noqa: E402

NO_MANAGER = {**{k: v for k, v in HORECA_OK.items() if k not in ("AW-04", "AW-05")}, "AW-03": "no"}
ISSUER, AUDIENCE = "toezicht-bench", "toezicht-api"


class Api:
    """The app in process with its lifespan running, and tokens for the bench's users."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.settings = load_settings(
            {},
            database_url=url,
            data_dir=str(data_dir),
            log_level="warning",
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
            db_pool_min=1,
            db_pool_max=4,
        )
        self.key = load_or_create_dev_key(data_dir / "dev-signing-key.pem")
        self.app = create_app(self.settings)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench")

    def headers(self, sub: str, roles: list[str], teams: list[str] | None = None) -> dict[str, str]:
        now = int(time.time())
        token = mint_dev_token(
            self.key,
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": sub,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "roles": roles,
                "regimes": ["alcohol", "nix18"],
                "teams": teams or [],
            },
        )
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, who: dict[str, str], **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=who, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


async def world(api: Api) -> tuple[dict[str, str], list[str], list[str]]:
    """Two objects with a reviewed no-manager violation each; returns the officer's headers, the object ids and
    the case ids."""
    admin = api.headers("admin", ["admin"])
    inspector = api.headers("inspector", ["inspector"], ["team-a"])
    coordinator = api.headers("coordinator", ["coordinator"], ["team-a"])
    officer = api.headers("officer", ["enforcement_officer"])
    inspector_id = (await api.call("GET", "/api/v1/me", inspector))["id"]
    await api.call("GET", "/api/v1/me", officer)
    version_id = (await api.call("POST", "/api/v1/checklists", admin, json=checklist_file("alcohol-horeca")))["id"]
    objects, cases = [], []
    for number in (1, 2):
        created = await api.call(
            "POST", "/api/v1/objects", admin, json=object_body(name=f"Café Bench {number}", house_number=number)
        )
        objects.append(created["id"])
        finished = datetime.now(UTC) - timedelta(minutes=10)
        body = {
            "object_id": created["id"],
            "team_id": "team-a",
            "inspector_ids": [inspector_id],
            "checklists": [{"checklist_version_id": version_id, "answers": NO_MANAGER}],
            "started_at": (finished - timedelta(minutes=30)).isoformat(),
            "finished_at": finished.isoformat(),
        }
        stored = await api.call("PUT", f"/api/v1/inspections/{uuid.uuid4()}", inspector, json=body)
        await api.call(
            "POST", f"/api/v1/inspections/{stored['id']}/review", {**coordinator, "If-Match": f'"{stored["version"]}"'}
        )
        listed = await api.call("GET", "/api/v1/enforcement/cases", officer, params={"object_id": created["id"]})
        cases.append(listed["items"][0]["id"])
    return officer, objects, cases


# Copies of the object's reviewed inspection and its violation ($2 of them, one every `step` days back from
# yesterday), in one earlier closed case of the same object and regime; the case violations are what
# recidive and strike counting read.
HISTORY = """
WITH source AS (
    SELECT i.*, v.checklist_version_id AS v_checklist, v.question_key, v.code, v.article, v.severity
    FROM inspection i JOIN violation v ON v.inspection_id = i.id WHERE i.establishment_id = $1 LIMIT 1
), earlier_case AS (
    INSERT INTO enforcement_case (id, establishment_id, regime, wijk, team_id, status, result, closed_at)
    SELECT gen_random_uuid(), $1, 'alcohol', s.wijk, s.team_id, 'closed', 'sanctioned', now() FROM source s
    RETURNING id
), copies AS (
    SELECT gen_random_uuid() AS inspection_id, gen_random_uuid() AS violation_id,
           (current_date - 1 - (n * $3)::integer) AS observed_on, s.*
    FROM source s, generate_series(0, $2 - 1) AS n
), inspections AS (
    INSERT INTO inspection (id, state, establishment_id, team_id, wijk, regimes, submitted_by, inspector_ids,
                            started_at, finished_at, received_at, clock_suspect, inspected_at, reviewed_by, reviewed_at)
    SELECT c.inspection_id, 'reviewed', $1, c.team_id, c.wijk, c.regimes, c.submitted_by, c.inspector_ids,
           c.observed_on::timestamptz, c.observed_on::timestamptz, c.observed_on::timestamptz, false,
           c.observed_on::timestamptz, c.reviewed_by, c.observed_on::timestamptz
    FROM copies c
    RETURNING id
), violations AS (
    INSERT INTO violation (id, inspection_id, revision, establishment_id, checklist_version_id, checklist_position,
                           question_key, code, article, severity, observed_on)
    SELECT c.violation_id, c.inspection_id, 1, $1, c.v_checklist, 0, c.question_key, c.code, c.article, c.severity,
           c.observed_on
    FROM copies c JOIN inspections i ON i.id = c.inspection_id
    RETURNING id
)
INSERT INTO enforcement_case_violation (violation_id, case_id, inspection_id, establishment_id, code, article_key,
                                        observed_on, inspector_ids, checklist_version_id)
SELECT c.violation_id, (SELECT id FROM earlier_case), c.inspection_id, $1, c.code, 'Alcoholwet art. 24 lid 1',
       c.observed_on, c.inspector_ids, c.v_checklist
FROM copies c JOIN violations v ON v.id = c.violation_id
"""


async def history(url: str, objects: list[str], earlier: int, other: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(HISTORY, uuid.UUID(objects[0]), earlier, max(1, 330 // max(earlier, 1)))
        if other:
            # Other objects' violations of the same article: copies of the first object with new ids.
            per_object = max(1, other // 500)
            for _ in range(500):
                clone = uuid.uuid4()
                await conn.execute(
                    """INSERT INTO establishment (id, name, street, house_number, postcode, city, wijk, kind,
                                                  employee_class, regimes)
                       SELECT $2, 'Ander ' || $2::uuid::text, street, house_number, postcode, city, wijk, kind,
                              employee_class, regimes FROM establishment WHERE id = $1""",
                    uuid.UUID(objects[0]),
                    clone,
                )
                await conn.execute(
                    HISTORY.replace("WHERE i.establishment_id = $1 LIMIT 1", "WHERE i.establishment_id = $4 LIMIT 1"),
                    clone,
                    per_object,
                    1,
                    uuid.UUID(objects[0]),
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(api: Api, officer: dict[str, str], cases: list[str], requests: int) -> list[list[float]]:
    timings: list[list[float]] = [[], []]
    for warm in range(20):
        await api.call("GET", f"/api/v1/enforcement/cases/{cases[warm % 2]}/proposal", officer)
    for n in range(requests * 2):
        which = n % 2
        started = time.perf_counter()
        body = await api.call("GET", f"/api/v1/enforcement/cases/{cases[which]}/proposal", officer)
        timings[which].append(time.perf_counter() - started)
        if n < 2:
            print(
                f"  case {which}: earlier occasions {body['items'][0]['earlier_occasions']}, "
                f"next {body['next']['type']} {body['next']['decision'] or ''}"
            )
    return timings


async def run(url: str, data_dir: Path, args: argparse.Namespace) -> float:
    api = Api(url, data_dir)
    async with api.app.lifespan():
        officer, objects, cases = await world(api)
        await history(url, objects, args.earlier, args.other)
        many, none = await measure(api, officer, cases, args.requests)
    await api.http.aclose()
    for label, values in ((f"{args.earlier} earlier violations", many), ("no earlier violations", none)):
        ordered = sorted(values)
        print(
            f"{label:>28}: median {statistics.median(ordered) * 1000:7.2f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95)] * 1000:7.2f} ms ({len(ordered)} requests)"
        )
    ratio = statistics.median(many) / statistics.median(none)
    print(f"{'ratio (medians)':>28}: {ratio:.2f} (target < 2)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--earlier", type=int, default=200, help="earlier violations of the first object")
    parser.add_argument("--other", type=int, default=20_000, help="violations of 500 other objects")
    parser.add_argument("--requests", type=int, default=300, help="proposals per case")
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio is 2 or more")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-enforcement-") as tmp:
        data_dir = Path(tmp)
        server, admin_url = embedded.start(data_dir / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            url = asyncio.run(prepare_database(admin_url, server, "bench_enforcement", ROOT / "migrations"))
            ratio = asyncio.run(run(url, data_dir, args))
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    return 1 if args.check and ratio >= 2 else 0


if __name__ == "__main__":
    sys.exit(main())
