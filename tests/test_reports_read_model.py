"""The reports' read model gives exactly the figures of the direct definitions (tests/reports_direct.py): after a
seeded random mix of submissions, reviews, returns and corrections (violations withdrawn), sanctions and
complaints, all made through the API, every figure of the indicators, the trend and the per-wijk compliance is
computed both ways, for several callers and filters, and compared; and again after `reports rebuild`."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from backend.core import calendar
from backend.core import db as core_db
from backend.core.auth import Principal
from backend.reports import queries as report_queries
from backend.reports import service
from backend.reports.models import Filters
from tests.complaint_helpers import create_complaint, moved
from tests.enforcement_helpers import CASES, OPERATOR, done, enforcement_world, last_step, with_version
from tests.helpers import run_cli
from tests.inspection_helpers import (
    HORECA_NO_MANAGER,
    HORECA_OK,
    NIX18_NOT_SOLD,
    SEXWORK_OK,
    URL,
    USERS,
    World,
    checklist_file,
    iso,
    put,
)
from tests.registry_helpers import ALL_REGIMES, create_object
from tests.reports_direct import DIRECT

SEED = 20251204
STEPS = 36
# Who submits at which object (their team's coordinator reviews).
INSPECTORS = {"cafe": ("insp_a1", "coord_a"), "shop": ("insp_b", "coord_b"), "club": ("insp_sw", "coord_a")}


async def _mixed_world(client, auth, db) -> World:
    world = await enforcement_world(client, auth, db)
    for name in ("insp_b", "insp_sw", "complaints"):
        world.h[name] = auth(name, **USERS[name])
        world.ids[name] = (await client.get("/api/v1/me", headers=world.h[name])).json()["id"]
    shop = dict(name="Supermarkt Oost", kind="supermarkt", wijk="oost", postcode="3581AB", street="Biltstraat")
    world.ids["shop"] = (await create_object(client, world.h["admin"], **shop))["id"]
    response = await client.put(
        f"/api/v1/objects/{world.ids['shop']}/addressee", json=OPERATOR, headers=world.h["admin"]
    )
    assert response.status_code == 200, response.text
    # A newer version of the horeca checklist cites another article for a missing manager: inspections with
    # either version give that code two articles in a period (the latest one counts).
    corrected = checklist_file("alcohol-horeca")
    text = json.dumps(corrected).replace('"article": "24", "lid": "1"', '"article": "24", "lid": "2"')
    assert text != json.dumps(corrected)
    response = await client.post("/api/v1/checklists", json=json.loads(text), headers=world.h["admin"])
    assert response.status_code == 201, response.text
    world.ids["alcohol-horeca-corrected"] = response.json()["id"]
    return world


def _checklists(world: World, place: str, rng: random.Random) -> list[dict[str, Any]]:
    if place == "club":
        return [{"checklist_version_id": world.ids["sexwork-establishment"], "answers": dict(SEXWORK_OK)}]
    horeca = dict(rng.choice([HORECA_OK, HORECA_NO_MANAGER]))
    version = world.ids[rng.choice(["alcohol-horeca", "alcohol-horeca-corrected"])]
    entries = [{"checklist_version_id": version, "answers": horeca}]
    for _ in range(rng.choice([0, 1, 1, 2])):
        channel = rng.choice(["supermarkt", "horeca", "slijterij"])
        attempt = {**NIX18_NOT_SOLD, "NX-01": channel}
        entries.append({"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": attempt})
    return entries


class Mix:
    """The random actions, each through the API as its user would."""

    def __init__(self, client, world: World, rng: random.Random) -> None:
        self.client, self.world, self.rng = client, world, rng
        self.inspections: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (place, body)
        self.complaints: list[dict[str, Any]] = []

    def _body(self, place: str, who: str, assignment_id: str | None = None) -> dict[str, Any]:
        finished = datetime.now(UTC) - timedelta(hours=self.rng.randint(1, 60))
        body = self.world.body(
            who,
            object_id=self.world.ids[place],
            checklists=_checklists(self.world, place, self.rng),
            started_at=iso(finished - timedelta(minutes=30)),
            finished_at=iso(finished),
        )
        if assignment_id is not None:
            body["assignment_id"] = assignment_id
        if place == "club":
            del body["observations"], body["partners"]  # no free text on a sex-work inspection
        return body

    async def submit(self, assignment_id: str | None = None, place: str | None = None) -> None:
        place = place or self.rng.choice(list(INSPECTORS))
        who = INSPECTORS[place][0]
        body = self._body(place, who, assignment_id)
        response = await put(self.client, self.world, body, who)
        assert response.status_code == 200, response.text
        self.inspections[response.json()["id"]] = (place, body)

    async def _current(self, inspection_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{URL}/{inspection_id}", headers=self.world.h["admin"])
        return response.json()

    async def _pick(self, *states: str) -> tuple[str, dict[str, Any]] | None:
        ids = list(self.inspections)
        self.rng.shuffle(ids)
        for inspection_id in ids:
            current = await self._current(inspection_id)
            if current["state"] in states:
                return inspection_id, current
        return None

    async def review(self) -> None:
        picked = await self._pick("complete", "corrected")
        if picked is None:
            return
        inspection_id, current = picked
        reviewer = INSPECTORS[self.inspections[inspection_id][0]][1]
        response = await self.client.post(
            f"{URL}/{inspection_id}/review", headers=with_version(self.world, reviewer, current["version"])
        )
        assert response.status_code == 200, response.text

    async def return_and_correct(self) -> None:
        picked = await self._pick("complete", "corrected")
        if picked is None:
            return
        inspection_id, current = picked
        place = self.inspections[inspection_id][0]
        inspector, coordinator = INSPECTORS[place]
        response = await self.client.post(
            f"{URL}/{inspection_id}/return",
            json={"reason": "Controleer de antwoorden"},
            headers=with_version(self.world, coordinator, current["version"]),
        )
        assert response.status_code == 200, response.text
        if self.rng.random() < 0.8:  # corrected: other answers (violations withdrawn or found), another day
            corrected = {**self._body(place, inspector), "base_revision": current["revision"]}
            response = await put(self.client, self.world, corrected, inspector, inspection_id=inspection_id)
            assert response.status_code == 200, response.text
            self.inspections[inspection_id] = (place, corrected)

    async def sanction(self) -> None:
        response = await self.client.get(CASES, headers=self.world.h["officer_a"], params={"open": "true"})
        cases = response.json()["items"]
        if not cases:
            return
        current = (await self.client.get(f"{CASES}/{cases[0]['id']}", headers=self.world.h["officer_a"])).json()
        text = {"type": "warning", "document_text": "Waarschuwing: zorg voor een leidinggevende."}
        response = await self.client.post(
            f"{CASES}/{current['id']}/steps",
            json=text,
            headers=with_version(self.world, "officer_a", current["version"]),
        )
        if response.status_code != 201:  # the case's procedure does not allow a warning now
            return
        current = response.json()
        await done(self.client, self.world, current, last_step(current)["id"], "send")

    async def complaint(self) -> None:
        about = self.rng.choice(["cafe", None])
        fields: dict[str, Any] = {"address": None, "object_id": self.world.ids["cafe"]} if about else {}
        self.complaints.append(await create_complaint(self.client, self.world, **fields))

    async def handle_complaint(self) -> None:
        if not self.complaints:
            return
        index = self.rng.randrange(len(self.complaints))
        complaint = self.complaints[index]
        allowed = complaint["allowed_transitions"]
        target = self.rng.choice(allowed)
        body: dict[str, Any] = {"to": target, "reason": "Afgehandeld"}
        if target == "resolved":
            body = {"to": "resolved", "outcome": "no_violation_found", "answer": "Dank voor uw melding."}
        elif target == "rejected":
            body = {
                "to": "rejected",
                "forwarded_to": "Politie",
                "reason": "Niet onze taak",
                "answer": "Wij hebben uw melding doorgestuurd naar de politie.",
            }
        self.complaints[index] = await moved(self.client, self.world, complaint, body)

    async def follow_up(self) -> None:
        """A coordinator plans an inspection from a complaint about the café; the inspector submits it."""
        open_ones = [c for c in self.complaints if c["object_id"] and c["state"] == "in_progress"]
        if not open_ones:
            return
        complaint = open_ones[0]
        start = calendar.today() + timedelta(days=1)
        plan = {
            "team_id": "team-a",
            "regimes": ["alcohol"],
            "checklist_version_ids": [self.world.ids["alcohol-horeca"]],
            "planned_from": start.isoformat(),
            "planned_to": (start + timedelta(days=4)).isoformat(),
            "inspector_ids": [self.world.ids["insp_a1"]],
        }
        response = await self.client.post(
            f"/api/v1/complaints/{complaint['id']}/inspections",
            json=plan,
            headers={**self.world.h["coord_a"], "If-Match": f'"{complaint["version"]}"'},
        )
        assert response.status_code == 201, response.text
        self.complaints[self.complaints.index(complaint)] = response.json()["complaint"]
        await self.submit(response.json()["assignment"]["id"], place="cafe")


async def _run_mix(client, world: World) -> None:
    mix = Mix(client, world, random.Random(SEED))
    actions = [
        (mix.submit, 6),
        (mix.review, 5),
        (mix.return_and_correct, 2),
        (mix.sanction, 1),
        (mix.complaint, 2),
        (mix.handle_complaint, 2),
        (mix.follow_up, 1),
    ]
    for _ in range(STEPS):
        action = mix.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        await action()
    # Then every section gets figures for certain: a complaint followed up, the rest reviewed, a warning sent,
    # complaints answered.
    taken = await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    mix.complaints.append(await moved(client, world, taken, {"to": "in_progress", "reason": "Melder gebeld"}))
    await mix.follow_up()
    while await mix._pick("complete", "corrected"):
        await mix.review()
    await mix.sanction()
    for _ in range(4):
        await mix.handle_complaint()


def _principal(world: World, who: str, regimes: list[str]) -> Principal:
    return Principal(
        user_id=UUID(world.ids[who]),
        subject=who,
        issuer="test",
        roles=frozenset({"coordinator"}),
        regimes=frozenset(regimes),
        teams=frozenset({"team-a"}),
    )


REQUESTS: list[tuple[list[str], Filters]] = [
    (ALL_REGIMES, Filters()),
    (["alcohol", "nix18"], Filters()),
    (ALL_REGIMES, Filters(regime="alcohol")),
    (ALL_REGIMES, Filters(regime="nix18")),
    (ALL_REGIMES, Filters(regime="sexwork")),
    (ALL_REGIMES, Filters(wijk="binnenstad")),
    (ALL_REGIMES, Filters(object_kind="supermarkt")),
    (ALL_REGIMES, Filters(team="team-a")),
    (["alcohol", "nix18"], Filters(team="team-b", wijk="oost")),
]


async def _every_figure(db, world: World, source: service.Source) -> list[Any]:
    today = calendar.today()
    periods = [
        service.period_of(today - timedelta(days=400), today + timedelta(days=30)),
        service.period_of(today - timedelta(days=1), today),
        service.period_of(today, today),
    ]
    figures: list[Any] = []
    for regimes, filters in REQUESTS:
        principal = _principal(world, "coord_a", regimes)
        for period in periods:
            req = service.Request(period, filters)
            figures.append(await service.indicators(db, principal, req, timeout_ms=60_000, source=source))
            figures.append(await service.compliance_per_wijk(db, principal, req, timeout_ms=60_000, source=source))
        trend_req = service.Request(service.year_period(today.year, None, None), filters)
        figures.append(await service.trend(db, principal, trend_req, timeout_ms=60_000, source=source))
    return msgspec.to_builtins(figures)


@pytest.fixture
async def mixed(client, auth, db) -> World:
    world = await _mixed_world(client, auth, db)
    await _run_mix(client, world)
    return world


async def test_the_read_model_gives_every_figure_of_the_direct_definitions(mixed, db):
    direct = await _every_figure(db, mixed, DIRECT)
    assert await _every_figure(db, mixed, service.READ_MODEL) == direct
    # The mix reached every section (a comparison of empty reports would prove nothing).
    report = direct[0]
    assert report["controls"]["done"]["numerator"] > 0 and report["compliance"]["per_regime"]
    assert report["controls"]["following_complaint"]["numerator"] > 0
    assert report["complaints"]["followed_by_inspection"]["numerator"] > 0
    assert report["nix18"]["overall"]["denominator"] > 0 and report["violations"]
    assert report["sanctions"]["warnings"]["numerator"] > 0
    assert report["complaints"]["received"]["numerator"] > 0 and report["objects"]["overdue"]["denominator"] > 0
    # A code has two articles in the period, so its latest is read from the day counts.
    articles = "SELECT count(DISTINCT article) FROM report_violation WHERE code = 'AW-24-1-NO-MANAGER-PRESENT'"
    assert await db.fetchval(articles) == 2


# The counts the triggers keep, per table: the rows that still count something (a fact deleted again leaves its
# row at zero, which a rebuild does not write).
KEPT_COUNTS = {
    "report_inspection_day": "inspections <> 0 OR done <> 0 OR permit <> 0 OR complaint <> 0 OR hercontrole <> 0",
    "report_inspection_month": "inspections <> 0 OR done <> 0 OR permit <> 0 OR complaint <> 0 OR hercontrole <> 0",
    "report_nix18_day": "attempts <> 0 OR complied <> 0",
    "report_nix18_month": "attempts <> 0 OR complied <> 0",
    "report_violation_day": "violations <> 0",
    "report_violation_month": "violations <> 0",
    "report_code_day": "controls <> 0",
    "report_code_month": "controls <> 0",
    "report_object_last": "true",
}


async def _kept_counts(db) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted((tuple(row) for row in await db.fetch(f"SELECT * FROM {table} WHERE {counting}")), key=repr)
        for table, counting in KEPT_COUNTS.items()  # constant table names and conditions
    }


async def test_the_rebuild_command_gives_the_same_figures(mixed, db, database_url, owner_database_url, tmp_path):
    """`toezicht reports rebuild` computes the read model from the records (here after its counts were lost), and
    every count the triggers kept through the mix of changes is the one it computes."""
    counts = await _kept_counts(db)
    assert all(counts.values())  # the mix reached every table
    kept = await _every_figure(db, mixed, service.READ_MODEL)
    await db.execute("DELETE FROM report_inspection_day")
    assert await _every_figure(db, mixed, service.READ_MODEL) != kept
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_")}
    env.update(DATABASE_URL=database_url, MIGRATION_DATABASE_URL=owner_database_url, TOEZICHT_DATA_DIR=str(tmp_path))
    code, out = await run_cli("reports", "rebuild", env=env)
    assert code == 0 and "reports read model rebuilt" in out, out
    assert await _every_figure(db, mixed, service.READ_MODEL) == kept
    assert kept == await _every_figure(db, mixed, DIRECT)
    assert await _kept_counts(db) == counts


def test_whole_months_are_those_the_period_covers_entirely():
    def whole(from_: date, to: date) -> tuple[date, date]:
        return service.whole_months(service.Period(from_=from_, to=to))

    assert whole(date(2025, 1, 1), date(2025, 12, 31)) == (date(2025, 1, 1), date(2025, 12, 31))
    assert whole(date(2025, 6, 5), date(2025, 7, 31)) == (date(2025, 7, 1), date(2025, 7, 31))
    assert whole(date(2025, 1, 31), date(2025, 3, 1)) == (date(2025, 2, 1), date(2025, 2, 28))
    assert whole(date(2024, 2, 1), date(2024, 2, 29)) == (date(2024, 2, 1), date(2024, 2, 29))
    # No whole month: a range without a month, and every day of the period left to the day counts.
    assert whole(date(2025, 6, 5), date(2025, 6, 20)) == (date(2025, 6, 21), date(2025, 6, 20))
    assert whole(date(2025, 6, 5), date(2025, 7, 20)) == (date(2025, 7, 21), date(2025, 7, 20))


async def test_a_count_is_locked_only_while_its_fact_commits(database_url):
    """Two inspections of the same day, wijk, kind and team add to one count row. While the first one's transaction
    is still open, the second commits without waiting for it (the counts are added at commit, migration 0072):
    under 20 phones at once, a count row locked from the fact's insert to the commit queued every submission of
    that wijk behind the slowest one. lock_timeout turns such a wait into an error here."""
    day, team = date(2026, 3, 2), f"team-{uuid4()}"
    facts = [(uuid4(), None, day, ["alcohol"], "west", "location", team, False, False, None, []) for _ in range(2)]
    first, second = await core_db.connect(database_url), await core_db.connect(database_url)
    try:
        async with first.transaction():
            await first.execute(report_queries.INSERT_INSPECTION_FACT, *facts[0])
            async with second.transaction():
                await second.execute("SET LOCAL lock_timeout = '5s'")
                await second.execute(report_queries.INSERT_INSPECTION_FACT, *facts[1])
            assert await second.fetchval(COUNTED_FOR_TEAM, team) == 1
        assert await second.fetchval(COUNTED_FOR_TEAM, team) == 2
        for fact in facts:
            await second.execute("DELETE FROM report_inspection WHERE id = $1", fact[0])
        assert await second.fetchval(COUNTED_FOR_TEAM, team) == 0
    finally:
        await first.close()
        await second.close()


# The team's inspections as its day counts have them, when its month counts agree (else -1).
COUNTED_FOR_TEAM = """
WITH d AS (SELECT coalesce(sum(inspections), 0) AS n FROM report_inspection_day WHERE team_id = $1),
     m AS (SELECT coalesce(sum(inspections), 0) AS n FROM report_inspection_month WHERE team_id = $1)
SELECT CASE WHEN d.n = m.n THEN d.n ELSE -1 END FROM d, m
"""
