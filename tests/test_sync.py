"""Phone sync (GET /api/v1/sync) over HTTP as the phone: the first (full) sync of the working set, bounded
pages with chaining cursors, incremental changes and tombstones, other inspectors' work never appearing,
changes committed concurrently with a sync never missed (a held older transaction, a change in flight
during the first sync, target changes racing a new assignment, and randomized writers against a syncing
phone), cursor errors, restarts, the role check and audited sex-work reads."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from backend.checklists import templates
from backend.core import db as core_db
from backend.core.calendar import today
from backend.core.pagination import encode_cursor
from tests.conftest import wait_until
from tests.helpers import assert_problem, register
from tests.registry_helpers import ALL_REGIMES, alcohol_permit, create_object, create_permit, object_body

URL = "/api/v1/sync"
SCOPED = ["alcohol", "nix18"]
KINDS = {
    "assignments": "assignment",
    "objects": "object",
    "locations": "location",
    "checklist_versions": "checklist_version",
}


def checklist(key: str) -> dict[str, Any]:
    return json.loads((templates.DEFAULT_DIRECTORY / f"{key}.json").read_text(encoding="utf-8"))


@dataclass
class World:
    """A team with a coordinator and inspectors (insp is the phone's user), objects, a location, checklists."""

    h: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> headers
    ids: dict[str, str] = field(default_factory=dict)  # name -> user, object, location or checklist version id
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # object name -> its registry body

    def plan_body(self, target: str = "cafe", inspectors: tuple[str, ...] = ("insp",), **overrides: Any) -> dict:
        start = today() + timedelta(days=2)
        key = "location_id" if target.startswith("loc") else "object_id"
        body: dict[str, Any] = {
            key: self.ids[target],
            "team_id": "team-a",
            "regimes": ["alcohol"],
            "checklist_version_ids": [self.ids["alcohol-horeca"]],
            "planned_from": start.isoformat(),
            "planned_to": (start + timedelta(days=5)).isoformat(),
            "inspector_ids": [self.ids[name] for name in inspectors],
            "reason": "regular_cycle",
        }
        body.update(overrides)
        return body


@pytest.fixture
async def world(client, auth) -> World:
    w = World()
    users = {
        "admin": dict(roles=["admin"], regimes=ALL_REGIMES),
        "coord": dict(roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-a", "team-b"]),
        "insp": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
        "insp2": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
        "insp_sw": dict(roles=["inspector"], regimes=ALL_REGIMES, teams=["team-a"]),
        "insp_b": dict(roles=["inspector"], regimes=SCOPED, teams=["team-b"]),
    }
    for name, claims in users.items():
        w.h[name] = auth(name, **claims)
        w.ids[name] = str(await register(client, w.h[name]))
    for key in ("alcohol-horeca", "ondermijning-signals", "sexwork-establishment", "gambling-machines"):
        response = await client.post("/api/v1/checklists", headers=w.h["admin"], json=checklist(key))
        assert response.status_code == 201, response.text
        w.ids[key] = response.json()["id"]
    objects = {
        "cafe": {},
        "bar": dict(
            name="Bar De Kade",
            street="Kanaalstraat",
            house_number=5,
            postcode="3531 CK",
            wijk="west",
            regimes=["alcohol", "gambling", "nix18"],
        ),
        "club": dict(name="Club Rood", kind="seks_club", regimes=["sexwork", "alcohol"], house_number=7),
    }
    for name, overrides in objects.items():
        w.bodies[name] = object_body(**overrides)
        w.ids[name] = (await create_object(client, w.h["admin"], **overrides))["id"]
    w.ids["cafe_permit"] = (await create_permit(client, w.h["admin"], w.ids["cafe"], alcohol_permit()))["id"]
    for name, regimes in (("loc", ["alcohol"]), ("loc_sw", ["sexwork"])):
        response = await client.post(
            "/api/v1/locations",
            headers=w.h["admin"],
            json={
                "street": "Vleutenseweg",
                "house_number": 300 + len(name),
                "postcode": "3532 HN",
                "wijk": "west",
                "regimes": regimes,
            },
        )
        assert response.status_code == 201, response.text
        w.ids[name] = response.json()["id"]
    return w


async def plan(
    client, world: World, target: str = "cafe", inspectors: tuple[str, ...] = ("insp",), **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/assignments", headers=world.h["coord"], json=world.plan_body(target, inspectors, **overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def change(client, world: World, assignment: dict[str, Any], command: str, body: dict) -> dict[str, Any]:
    """reassign / reschedule / cancel with the assignment's current ETag."""
    current = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=world.h["coord"])
    response = await client.post(
        f"/api/v1/assignments/{assignment['id']}/{command}",
        json=body,
        headers={**world.h["coord"], "If-Match": current.headers["etag"]},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def sync(client, headers, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    response = await client.get(URL, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


class Phone:
    """What the phone holds: each page applied in order (reset clears, upserts replace, tombstones delete)."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS.values()}
        self.cursor: str | None = None
        self.syncs = 0

    def apply(self, page: dict[str, Any]) -> None:
        if page["reset"]:
            for items in self.store.values():
                items.clear()
        for key, kind in KINDS.items():
            for item in page[key]:
                self.store[kind][item["id"]] = item
        for removed in page["removed"]:
            self.store[removed["entity"]].pop(removed["id"], None)
        self.cursor = page["cursor"]
        self.syncs += 1

    async def catch_up(self, client, headers, limit: int | None = None) -> list[dict[str, Any]]:
        pages = []
        while True:
            page = await sync(client, headers, self.cursor, limit)
            self.apply(page)
            pages.append(page)
            if not page["has_more"]:
                return pages

    def ids(self, kind: str) -> set[str]:
        return set(self.store[kind])


def ids(page: dict[str, Any], key: str) -> set[str]:
    return {item["id"] for item in page[key]}


def removed(page: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["entity"], r["id"], r["reason"]) for r in page["removed"]}


def is_empty(page: dict[str, Any]) -> bool:
    return not any(page[key] for key in (*KINDS, "removed")) and not page["has_more"]


# --- the first sync ----------------------------------------------------------------------------------------


async def test_first_sync_returns_the_working_set(client, world):
    mine = await plan(
        client,
        world,
        "cafe",
        ("insp", "insp2"),
        checklist_version_ids=[world.ids["alcohol-horeca"], world.ids["ondermijning-signals"]],
    )
    at_location = await plan(client, world, "loc")
    await plan(client, world, "bar", ("insp2",))  # another inspector's
    cancelled = await plan(client, world, "bar")
    await change(client, world, cancelled, "cancel", {"reason": "Zaak gesloten"})
    await plan(
        client,
        world,
        "club",
        ("insp_sw",),
        regimes=["sexwork"],
        checklist_version_ids=[world.ids["sexwork-establishment"]],
    )

    page = await sync(client, world.h["insp"])

    assert page["reset"] is True and page["has_more"] is False and page["removed"] == [] and page["cursor"]
    assert ids(page, "assignments") == {mine["id"], at_location["id"]}
    for assignment in page["assignments"]:  # as planning shows it
        read = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=world.h["insp"])
        assert assignment == read.json()
    [cafe] = page["objects"]
    read = await client.get(f"/api/v1/objects/{world.ids['cafe']}", headers=world.h["insp"])
    permits = await client.get(f"/api/v1/objects/{world.ids['cafe']}/permits", headers=world.h["insp"])
    assert cafe == {**read.json(), "permits": permits.json()["items"]}
    assert [p["id"] for p in cafe["permits"]] == [world.ids["cafe_permit"]]
    [location] = page["locations"]
    assert location == (await client.get(f"/api/v1/locations/{world.ids['loc']}", headers=world.h["insp"])).json()
    assert ids(page, "checklist_versions") == {world.ids["alcohol-horeca"], world.ids["ondermijning-signals"]}
    for version in page["checklist_versions"]:
        read = await client.get(f"/api/v1/checklists/{version['id']}", headers=world.h["insp"])
        assert version == read.json() and version["content"]["key"] == version["key"]


async def test_full_sync_pages_are_bounded_and_cursors_chain_into_the_feed(client, world):
    planned = {(await plan(client, world, notes=f"ronde {i}"))["id"] for i in range(5)}
    phone = Phone()

    pages = await phone.catch_up(client, world.h["insp"], limit=2)

    assert [len(p["assignments"]) for p in pages] == [2, 2, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert [p["reset"] for p in pages] == [True, False, False]
    assert len({c for p in pages for c in [p["cursor"]]}) == 3
    assert phone.ids("assignment") == planned and phone.ids("object") == {world.ids["cafe"]}

    # Each new assignment is three feed rows for insp (assignment, object, checklist): 9 rows in pages of 4.
    later = {(await plan(client, world, "bar"))["id"] for _ in range(3)}
    pages = await phone.catch_up(client, world.h["insp"], limit=4)
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert all(sum(len(p[key]) for key in (*KINDS, "removed")) <= 4 for p in pages)
    assert not any(p["reset"] for p in pages)
    assert phone.ids("assignment") == planned | later
    assert phone.ids("object") == {world.ids["cafe"], world.ids["bar"]}
    assert is_empty(await sync(client, world.h["insp"], phone.cursor))


# --- incremental syncs -------------------------------------------------------------------------------------


async def test_incremental_sync_delivers_creations_reschedules_permit_and_object_changes(client, db, world):
    first = await plan(client, world, "cafe")
    await plan(client, world, "loc")
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])
    assert is_empty(await sync(client, world.h["insp"], phone.cursor))

    created = await plan(client, world, "bar")
    [page] = await phone.catch_up(client, world.h["insp"])
    assert ids(page, "assignments") == {created["id"]} and ids(page, "objects") == {world.ids["bar"]}
    assert ids(page, "checklist_versions") == {world.ids["alcohol-horeca"]} and page["removed"] == []

    start = today() + timedelta(days=20)
    moved = await change(
        client,
        world,
        first,
        "reschedule",
        {"planned_from": start.isoformat(), "planned_to": (start + timedelta(days=1)).isoformat()},
    )
    [page] = await phone.catch_up(client, world.h["insp"])
    assert page["assignments"] == [moved] and not page["objects"] and not page["removed"]

    permit = await create_permit(
        client,
        world.h["admin"],
        world.ids["cafe"],
        {
            "type": "ontheffing_art35",
            "number": "ONT-1",
            "holder": "Hoekje",
            "valid_from": today().isoformat(),
            "conditions": {"event": "Koningsdag"},
        },
    )
    [page] = await phone.catch_up(client, world.h["insp"])
    [cafe] = page["objects"]
    assert cafe["id"] == world.ids["cafe"] and not page["assignments"]
    assert {p["id"] for p in cafe["permits"]} == {world.ids["cafe_permit"], permit["id"]}

    suspend = await client.post(
        f"/api/v1/permits/{permit['id']}/suspend",
        headers={**world.h["admin"], "If-Match": '"1"'},
        json={"starts_on": today().isoformat(), "ends_on": today().isoformat(), "reason": "Overlast"},
    )
    assert suspend.status_code == 200, suspend.text
    [page] = await phone.catch_up(client, world.h["insp"])
    [cafe] = page["objects"]
    assert {p["id"]: p["status"] for p in cafe["permits"]}[permit["id"]] == "suspended"

    renamed = await client.put(
        f"/api/v1/objects/{world.ids['cafe']}",
        json={**world.bodies["cafe"], "name": "Café Nieuw"},
        headers={**world.h["admin"], "If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    [page] = await phone.catch_up(client, world.h["insp"])
    assert [o["name"] for o in page["objects"]] == ["Café Nieuw"] and not page["removed"]

    # Locations have no update endpoint yet; a change in the database reaches the phone all the same.
    await db.execute("UPDATE location SET description = 'Achterom' WHERE id = $1::uuid", world.ids["loc"])
    [page] = await phone.catch_up(client, world.h["insp"])
    assert [(loc["id"], loc["description"]) for loc in page["locations"]] == [(world.ids["loc"], "Achterom")]
    assert is_empty(await sync(client, world.h["insp"], phone.cursor))


async def test_reassign_away_cancel_and_done_give_tombstones(client, db, world):
    first = await plan(client, world, "cafe")
    second = await plan(client, world, "cafe")
    third = await plan(client, world, "bar")
    phone, other = Phone(), Phone()
    await phone.catch_up(client, world.h["insp"])
    await other.catch_up(client, world.h["insp2"])
    assert other.ids("assignment") == set()

    await change(client, world, first, "reassign", {"inspector_ids": [world.ids["insp2"]]})
    [page] = await phone.catch_up(client, world.h["insp"])
    assert removed(page) == {("assignment", first["id"], "reassigned")}
    assert ids(page, "objects") == {world.ids["cafe"]}  # the second assignment still needs it
    [page] = await other.catch_up(client, world.h["insp2"])
    assert ids(page, "assignments") == {first["id"]} and ids(page, "objects") == {world.ids["cafe"]}

    await change(client, world, second, "cancel", {"reason": "Dubbel gepland"})
    [page] = await phone.catch_up(client, world.h["insp"])
    assert removed(page) == {("assignment", second["id"], "cancelled"), ("object", world.ids["cafe"], "unassigned")}

    # The inspections feature closes an assignment by setting it done.
    await db.execute("UPDATE assignment SET status = 'done', version = version + 1 WHERE id = $1::uuid", third["id"])
    [page] = await phone.catch_up(client, world.h["insp"])
    assert removed(page) == {("assignment", third["id"], "done"), ("object", world.ids["bar"], "unassigned")}
    assert phone.ids("assignment") == set() and phone.ids("object") == set()
    assert other.ids("object") == {world.ids["cafe"]}
    assert is_empty(await sync(client, world.h["insp2"], other.cursor))


async def test_an_object_the_inspector_may_no_longer_see_is_removed(client, world):
    await plan(client, world, "cafe")
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])
    response = await client.put(
        f"/api/v1/objects/{world.ids['cafe']}",
        headers={**world.h["admin"], "If-Match": '"1"'},
        json={**world.bodies["cafe"], "regimes": ["gambling"]},
    )
    assert response.status_code == 200, response.text
    [page] = await phone.catch_up(client, world.h["insp"])
    assert removed(page) == {("object", world.ids["cafe"], "not_visible")}


async def test_checklist_versions_of_regimes_the_inspector_lacks_are_not_delivered(client, world):
    versions = [world.ids["alcohol-horeca"], world.ids["gambling-machines"]]
    await plan(client, world, "bar", regimes=["alcohol", "gambling"], checklist_version_ids=versions)
    phone = Phone()
    [page] = await phone.catch_up(client, world.h["insp"])
    assert ids(page, "checklist_versions") == {world.ids["alcohol-horeca"]}
    await plan(client, world, "bar", regimes=["alcohol", "gambling"], checklist_version_ids=versions)
    [page] = await phone.catch_up(client, world.h["insp"])
    assert ids(page, "checklist_versions") == {world.ids["alcohol-horeca"]}
    assert removed(page) == {("checklist_version", world.ids["gambling-machines"], "not_visible")}


async def test_another_inspectors_work_never_appears(client, db, world):
    mine = await plan(client, world, "cafe")
    theirs = await plan(client, world, "bar", ("insp_b",), team_id="team-b")
    phone, other = Phone(), Phone()
    await phone.catch_up(client, world.h["insp"])
    await other.catch_up(client, world.h["insp_b"])
    assert phone.ids("assignment") == {mine["id"]} and other.ids("assignment") == {theirs["id"]}

    start = today() + timedelta(days=9)
    await change(
        client, world, theirs, "reschedule", {"planned_from": start.isoformat(), "planned_to": start.isoformat()}
    )
    await create_permit(client, world.h["admin"], world.ids["bar"], alcohol_permit(number="AW-BAR"))
    response = await client.put(
        f"/api/v1/objects/{world.ids['bar']}",
        headers={**world.h["admin"], "If-Match": '"1"'},
        json={**world.bodies["bar"], "name": "Bar Nieuw"},
    )
    assert response.status_code == 200, response.text

    assert is_empty(await sync(client, world.h["insp"], phone.cursor))
    [page] = await other.catch_up(client, world.h["insp_b"])
    assert ids(page, "assignments") == {theirs["id"]} and [o["name"] for o in page["objects"]] == ["Bar Nieuw"]
    feed = await db.fetch("SELECT DISTINCT entity_id FROM sync_feed WHERE user_id = $1::uuid", world.ids["insp"])
    assert {str(row["entity_id"]) for row in feed} == {mine["id"], world.ids["cafe"], world.ids["alcohol-horeca"]}


# --- never missing a change ------------------------------------------------------------------------------


async def test_a_change_that_commits_after_a_newer_one_is_not_missed(client, db, world):
    held = await plan(client, world, "cafe")
    other = await plan(client, world, "bar")
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])

    # An older transaction (it wrote first, so its xid is smaller) is still open ...
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(
            "UPDATE assignment SET notes = 'vastgehouden', version = version + 1, updated_at = now() "
            "WHERE id = $1::uuid",
            held["id"],
        )
        # ... while a newer change commits and the phone syncs.
        start = today() + timedelta(days=30)
        moved = await change(
            client, world, other, "reschedule", {"planned_from": start.isoformat(), "planned_to": start.isoformat()}
        )
        await phone.catch_up(client, world.h["insp"])
    finally:
        await transaction.commit()

    await phone.catch_up(client, world.h["insp"])
    assert phone.store["assignment"][held["id"]]["notes"] == "vastgehouden"
    assert phone.store["assignment"][other["id"]] == moved


async def test_a_change_in_flight_during_the_first_sync_arrives_with_the_next_one(client, db, world):
    await plan(client, world, "cafe")
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(
            "INSERT INTO assignment (id, establishment_id, team_id, wijk, regimes, checklist_version_ids, planned_from,"
            " planned_to, inspector_ids, reason, created_by) VALUES ($1, $2::uuid, 'team-a', 'west', '{alcohol}', "
            "ARRAY[$3::uuid], current_date + 1, current_date + 2, ARRAY[$4::uuid], 'project', $4::uuid)",
            in_flight := uuid.uuid4(),
            world.ids["bar"],
            world.ids["alcohol-horeca"],
            world.ids["insp"],
        )
        await plan(client, world, "loc", ("insp2",))  # a newer transaction commits before the first sync
        phone = Phone()
        await phone.catch_up(client, world.h["insp"], limit=1)
        second = await plan(client, world, "cafe")  # committed after the first page: comes through the feed
        pages = await phone.catch_up(client, world.h["insp"], limit=1)
        assert not any(page["reset"] for page in pages)  # the feed continues; the full sync does not restart
    finally:
        await transaction.commit()
    await phone.catch_up(client, world.h["insp"])
    assert str(in_flight) in phone.ids("assignment") and second["id"] in phone.ids("assignment")
    assert phone.ids("object") == {world.ids["cafe"], world.ids["bar"]}


# (target, the concurrent change as SQL, what the phone must hold in the end)
RACING_CHANGES = {
    "object renamed": (
        "bar",
        "UPDATE establishment SET name = 'Bar Hernoemd', version = version + 1 WHERE id = $1",
        lambda held: held["name"] == "Bar Hernoemd",
    ),
    "permit granted": (
        "bar",
        "INSERT INTO permit (id, establishment_id, type, number, holder, valid_from, conditions) "
        "VALUES (gen_random_uuid(), $1, 'ontheffing_art35', 'ONT-RACE', 'Houder', current_date, "
        '\'{"event": "Race"}\')',
        lambda held: [p["number"] for p in held["permits"]] == ["ONT-RACE"],
    ),
    "location changed": (
        "loc",
        "UPDATE location SET description = 'Achterom' WHERE id = $1",
        lambda held: held["description"] == "Achterom",
    ),
}


@pytest.mark.parametrize("case", list(RACING_CHANGES))
async def test_a_target_change_racing_a_new_assignment_on_it_is_not_missed(client, db, database_url, world, case):
    """A target's trigger finds its inspectors among planned assignments; one not yet committed must not slip
    through: the target's change waits for it (and then writes a feed row for its inspector)."""
    target, change_sql, arrived = RACING_CHANGES[case]
    column = "location_id" if target == "loc" else "establishment_id"
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])
    planner, changer = await core_db.connect(database_url), await core_db.connect(database_url)
    try:
        planning_tx, changing_tx = planner.transaction(), changer.transaction()
        await planning_tx.start()
        await planner.execute(
            f"INSERT INTO assignment (id, {column}, team_id, wijk, regimes, checklist_version_ids, planned_from,"
            " planned_to, inspector_ids, reason, created_by) VALUES ($1, $2::uuid, 'team-a', 'west', '{alcohol}', "
            "ARRAY[$3::uuid], current_date + 1, current_date + 2, ARRAY[$4::uuid], 'project', $4::uuid)",
            uuid.uuid4(),
            world.ids[target],
            world.ids["alcohol-horeca"],
            world.ids["insp"],
        )
        await changing_tx.start()
        changing = asyncio.create_task(changer.execute(change_sql, uuid.UUID(world.ids[target])))

        async def change_done_or_waiting() -> bool:
            return changing.done() or await db.fetchval(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = "
                "'Lock' AND query = $1",
                change_sql,
            )

        await wait_until(change_done_or_waiting)
        await planning_tx.commit()
        await changing
        await phone.catch_up(client, world.h["insp"])  # the assignment arrives while the change is uncommitted
        await changing_tx.commit()
    finally:
        await planner.close()
        await changer.close()
    await phone.catch_up(client, world.h["insp"])
    kind = "location" if target == "loc" else "object"
    assert arrived(phone.store[kind][world.ids[target]])


async def test_randomized_writers_and_a_syncing_phone_end_in_the_same_state(client, database_url, world):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    targets = ["cafe", "bar", "loc"]
    assignments = [await plan(client, world, rng.choice(targets), _some_inspectors(rng)) for _ in range(6)]
    # Changed only by the held writer, so a held change that the phone misses stays missing to the end.
    held = [await plan(client, world, "loc") for _ in range(4)]
    phone = Phone()
    writes = {"committed": 0, "seen_by_phone": 0, "finished": False}
    done = asyncio.Event()

    async def http_writer(steps: int) -> None:
        for _ in range(steps):
            if await _random_change(client, world, rng, assignments, targets):
                writes["committed"] += 1

    async def held_writer() -> None:
        """Older transactions that stay open until a newer change of insp's has committed and the phone has
        synced after it (a phone that kept the highest row seen would now skip the held one)."""
        conn = await core_db.connect(database_url)
        try:
            for i, assignment in enumerate(held):
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE assignment SET notes = $2, version = version + 1, updated_at = now() "
                        "WHERE id = $1::uuid",
                        assignment["id"],
                        f"held {i}",
                    )
                    before = writes["committed"]
                    await _wait_for(lambda before=before: writes["seen_by_phone"] > before or writes["finished"])
        finally:
            await conn.close()

    async def phone_loop() -> None:
        while not done.is_set():
            committed = writes["committed"]
            phone.apply(await sync(client, world.h["insp"], phone.cursor, limit=rng.choice([1, 2, 5, 50, 200])))
            writes["seen_by_phone"] = committed
            await asyncio.sleep(0)

    async def writers() -> None:
        await asyncio.gather(http_writer(25), http_writer(25))
        writes["finished"] = True

    syncing = asyncio.create_task(phone_loop())
    try:
        await asyncio.gather(writers(), held_writer())
    finally:
        done.set()
        await syncing
    await phone.catch_up(client, world.h["insp"])

    truth = await client.get(
        f"/api/v1/assignments?inspector={world.ids['insp']}&status=planned&limit=200", headers=world.h["insp"]
    )
    expected = {item["id"]: item for item in truth.json()["items"]}
    assert phone.store["assignment"] == expected, f"seed {seed}"
    object_ids = {a["object_id"] for a in expected.values() if a["object_id"]}
    location_ids = {a["location_id"] for a in expected.values() if a["location_id"]}
    assert phone.ids("object") == object_ids and phone.ids("location") == location_ids, f"seed {seed}"
    for object_id in object_ids:
        read = await client.get(f"/api/v1/objects/{object_id}", headers=world.h["insp"])
        permits = await client.get(f"/api/v1/objects/{object_id}/permits", headers=world.h["insp"])
        assert phone.store["object"][object_id] == {**read.json(), "permits": permits.json()["items"]}, f"seed {seed}"
    used = {v for a in expected.values() for v in a["checklist_version_ids"]}
    assert used <= phone.ids("checklist_version"), f"seed {seed}"


async def _wait_for(condition) -> None:
    async def check() -> bool:
        return condition()

    await wait_until(check)


def _some_inspectors(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.sample(["insp", "insp2"], rng.randint(1, 2)))


async def _random_change(client, world: World, rng: random.Random, assignments: list[dict], targets: list[str]) -> bool:
    """One coordinator or admin change; a conflict with a concurrent change (412, 409) is part of the game.
    True when it committed a change to an assignment of insp's (before or after)."""
    what = rng.choice(["create", "reassign", "reassign", "reschedule", "reschedule", "cancel", "permit", "object"])
    insp = world.ids["insp"]
    if what == "create":
        created = await plan(client, world, rng.choice(targets), _some_inspectors(rng))
        assignments.append(created)
        return insp in created["inspector_ids"]
    if what == "permit":
        await create_permit(
            client,
            world.h["admin"],
            world.ids[rng.choice(["cafe", "bar"])],
            {
                "type": "ontheffing_art35",
                "number": f"ONT-{rng.randrange(10**6)}",
                "holder": "Houder",
                "valid_from": today().isoformat(),
                "conditions": {"event": "Festival"},
            },
        )
        return False
    if what == "object":
        name = rng.choice(["cafe", "bar"])
        current = await client.get(f"/api/v1/objects/{world.ids[name]}", headers=world.h["admin"])
        response = await client.put(
            f"/api/v1/objects/{world.ids[name]}",
            headers={**world.h["admin"], "If-Match": current.headers["etag"]},
            json={**world.bodies[name], "name": f"{world.bodies[name]['name']} {rng.randrange(1000)}"},
        )
        assert response.status_code in (200, 412), response.text
        return False
    current = await client.get(f"/api/v1/assignments/{rng.choice(assignments)['id']}", headers=world.h["coord"])
    start = today() + timedelta(days=rng.randint(1, 30))
    body = {
        "reassign": {"inspector_ids": [world.ids[name] for name in _some_inspectors(rng)]},
        "reschedule": {"planned_from": start.isoformat(), "planned_to": start.isoformat()},
        "cancel": {"reason": "Vervalt"},
    }[what]
    response = await client.post(
        f"/api/v1/assignments/{current.json()['id']}/{what}",
        json=body,
        headers={**world.h["coord"], "If-Match": current.headers["etag"]},
    )
    assert response.status_code in (200, 409, 412), response.text
    return response.status_code == 200 and insp in current.json()["inspector_ids"] + response.json()["inspector_ids"]


# --- cursors, restarts, roles, audit ---------------------------------------------------------------------


async def test_a_bad_cursor_or_limit_is_a_clear_error(client, world):
    await plan(client, world, "cafe")
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])
    planning_cursor = encode_cursor("2025-01-01", str(uuid.uuid4()))
    for cursor in (
        "not a cursor",
        "e30",
        planning_cursor,
        encode_cursor("feed", "x", 1, str(uuid.uuid4())),
        encode_cursor("full", "x", 1, 2),
        encode_cursor("feed", "x", -1, 0),
        encode_cursor("feed", "x", 1),
    ):
        response = await client.get(URL, headers=world.h["insp"], params={"cursor": cursor})
        assert_problem(response, 400, "invalid_cursor")
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "x" * 513}):
        problem = assert_problem(
            await client.get(URL, headers=world.h["insp"], params=params), 422, "validation_failed"
        )
        assert problem["errors"][0]["parameter"] in params
    # The phone's own cursor still works: nothing was consumed by the refused requests.
    created = await plan(client, world, "bar")
    await phone.catch_up(client, world.h["insp"])
    assert created["id"] in phone.ids("assignment")


async def test_only_inspectors_sync(client, auth, world):
    assert_problem(await client.get(URL, headers=world.h["coord"]), 403, "forbidden")
    assert_problem(await client.get(URL, headers=world.h["admin"]), 403, "forbidden")
    assert_problem(await client.get(URL), 401, "token_missing")


async def test_a_cursor_of_another_user_or_other_regimes_starts_a_full_sync(client, auth, world):
    sex_work = await plan(
        client,
        world,
        "club",
        ("insp_sw",),
        regimes=["sexwork"],
        checklist_version_ids=[world.ids["sexwork-establishment"]],
    )
    cafe = await plan(client, world, "cafe", ("insp_sw", "insp2"))
    phone = Phone()
    await phone.catch_up(client, world.h["insp_sw"])
    assert phone.ids("assignment") == {sex_work["id"], cafe["id"]}

    # The same inspector without the sexwork regime: the phone must drop the sex-work data.
    narrowed = auth("insp_sw", roles=["inspector"], regimes=SCOPED, teams=["team-a"])
    [page] = await phone.catch_up(client, narrowed)
    assert page["reset"] is True
    assert phone.ids("assignment") == {cafe["id"]} and phone.ids("object") == {world.ids["cafe"]}

    # Another inspector on this phone gets their own working set, not the rest of the feed.
    [page] = await phone.catch_up(client, world.h["insp2"])
    assert page["reset"] is True and ids(page, "assignments") == {cafe["id"]}


async def test_a_feed_cursor_from_beyond_this_database_history_starts_a_full_sync(client, world):
    mine = await plan(client, world, "cafe")
    phone = Phone()
    await phone.catch_up(client, world.h["insp"])
    kind, fingerprint, _, _ = json.loads(base64.urlsafe_b64decode(phone.cursor + "=" * (-len(phone.cursor) % 4)))
    assert kind == "feed"
    page = await sync(client, world.h["insp"], encode_cursor(kind, fingerprint, 2**62, 0))
    assert page["reset"] is True and ids(page, "assignments") == {mine["id"]}


async def test_sex_work_locations_read_through_sync_are_audited(client, db, world):
    await plan(
        client,
        world,
        "loc_sw",
        ("insp_sw",),
        regimes=["sexwork"],
        checklist_version_ids=[world.ids["sexwork-establishment"]],
    )
    await plan(client, world, "loc", ("insp_sw",))
    reads = "SELECT object_id, actor_id FROM audit_event WHERE action = 'location.read'"
    before = await db.fetch(reads)

    page = await sync(client, world.h["insp_sw"])

    assert ids(page, "locations") == {world.ids["loc_sw"], world.ids["loc"]}
    new = [(row["object_id"], str(row["actor_id"])) for row in await db.fetch(reads) if row not in before]
    assert new == [(world.ids["loc_sw"], world.ids["insp_sw"])]


# --- only what changed: checklist versions the phone holds, and the purged feed ---------------------------------


async def test_checklist_versions_the_phone_holds_are_not_sent_again(client, world):
    first = await sync(client, world.h["insp"])
    await plan(client, world)
    await plan(
        client, world, "bar", checklist_version_ids=[world.ids["alcohol-horeca"], world.ids["ondermijning-signals"]]
    )
    response = await client.get(
        URL,
        headers=world.h["insp"],
        params={"cursor": first["cursor"], "have_checklists": [world.ids["alcohol-horeca"]]},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert len(page["assignments"]) == 2
    assert [v["id"] for v in page["checklist_versions"]] == [world.ids["ondermijning-signals"]]
    # Without the list, both come (the phone may hold nothing).
    again = await sync(client, world.h["insp"], first["cursor"])
    assert {v["id"] for v in again["checklist_versions"]} == {
        world.ids["alcohol-horeca"],
        world.ids["ondermijning-signals"],
    }


async def test_a_cursor_older_than_the_purged_feed_starts_a_full_sync(client, db, world):
    from backend.sync import service as sync_service

    await plan(client, world)
    old = await sync(client, world.h["insp"])
    old = await sync(client, world.h["insp"], old["cursor"])  # a feed cursor
    await plan(client, world, "bar")  # a change this phone has not seen yet
    recent = await sync(client, world.h["insp2"])
    recent = await sync(client, world.h["insp2"], recent["cursor"])
    await db.execute("UPDATE sync_feed SET written_at = now() - interval '31 days'")
    assert await sync_service.purge_feed(db, timedelta(days=30)) > 0
    assert await db.fetchval("SELECT count(*) FROM sync_feed") == 0

    page = await sync(client, world.h["insp"], old["cursor"])
    assert page["reset"] is True and len(page["assignments"]) == 2  # nothing silently missing
    # A phone that had seen everything before the purge keeps its incremental sync.
    assert (await sync(client, world.h["insp2"], recent["cursor"]))["reset"] is False
    # Rows newer than the retention stay.
    await plan(client, world, "loc")
    assert await sync_service.purge_feed(db, timedelta(days=30)) == 0
    assert await db.fetchval("SELECT count(*) FROM sync_feed") > 0
