"""Who sees which inspection and violation (single reads, revisions and both lists, so no rows leak across
teams, regimes or sex work), the list filters and keyset pages, and the violation history per object."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.core.calendar import AMSTERDAM
from tests.helpers import assert_problem
from tests.inspection_helpers import (
    HORECA_NO_MANAGER,
    SEXWORK_OK,
    URL,
    USERS,
    World,
    build_world,
    iso,
    plan,
    put,
    submitted,
)

EVERYONE = set(USERS)
SEES_ALL_SCOPED = {"admin", "enforcer", "insp_enforcer_b", "coord_enforcer_b"}  # all inspections in their regimes
TEAM_A_COORDINATORS = {"coord_a", "coord_insp_a"}


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


def no_manager(world: World) -> list[dict]:
    return [{"checklist_version_id": world.ids["alcohol-horeca"], "answers": HORECA_NO_MANAGER}]


@pytest.fixture
async def inspections(client, world) -> dict[str, dict]:
    """Four inspections with a violation each, and who may see each one."""
    assignment = await plan(client, world)
    sexwork = {**SEXWORK_OK, "SX-05": "no"}
    sexwork.pop("SX-05a")
    made = {
        "unplanned": await submitted(client, world, world.body(checklists=no_manager(world))),
        "planned": await submitted(
            client, world, world.body(assignment_id=assignment["id"], checklists=no_manager(world))
        ),
        "with_b": await submitted(
            client,
            world,
            world.body(inspector_ids=[world.ids["insp_a1"], world.ids["insp_b"]], checklists=no_manager(world)),
        ),
        "sexwork": await submitted(
            client,
            world,
            world.body(
                "insp_sw",
                object_id=world.ids["club"],
                observations=None,
                checklists=[
                    {"checklist_version_id": world.ids["sexwork-establishment"], "answers": sexwork},
                    *world.body()["checklists"],
                ],
            ),
            "insp_sw",
        ),
    }
    assert all(len(i["violations"]) == 1 for i in made.values())
    assert made["sexwork"]["regimes"] == ["alcohol", "sexwork"]
    made["unplanned"]["seen_by"] = {"insp_a1"} | TEAM_A_COORDINATORS | SEES_ALL_SCOPED
    # The team's inspectors see the team's planned work, as for assignments.
    made["planned"]["seen_by"] = (
        {"insp_a1", "insp_a2", "insp_sw", "insp_two_teams"} | TEAM_A_COORDINATORS | SEES_ALL_SCOPED
    )
    made["with_b"]["seen_by"] = {"insp_a1", "insp_b"} | TEAM_A_COORDINATORS | SEES_ALL_SCOPED
    # Sex work only with the sexwork scope, even though the inspection is also of alcohol: not the scoped
    # coordinator or the scoped enforcement officers.
    made["sexwork"]["seen_by"] = {"insp_sw", "coord_a", "admin", "coord_enforcer_b"}
    return made


async def test_each_caller_reads_exactly_the_inspections_they_may_see(client, world, inspections):
    for name, inspection in inspections.items():
        for who in sorted(EVERYONE):
            response = await client.get(f"{URL}/{inspection['id']}", headers=world.h[who])
            revisions = await client.get(f"{URL}/{inspection['id']}/revisions", headers=world.h[who])
            if who in inspection["seen_by"]:
                assert response.status_code == 200, (name, who, response.text)
                assert response.headers["etag"] == '"1"'
                assert revisions.status_code == 200 and len(revisions.json()["items"]) == 1, (name, who)
            else:
                assert_problem(response, 404, "not_found")
                assert_problem(revisions, 404, "not_found")


async def test_lists_show_no_inspection_or_violation_a_caller_may_not_see(client, world, inspections):
    for who in sorted(EVERYONE):
        expected = {i["id"] for i in inspections.values() if who in i["seen_by"]}
        listed = await client.get(f"{URL}?limit=200", headers=world.h[who])
        assert listed.status_code == 200, listed.text
        assert {item["id"] for item in listed.json()["items"]} == expected, who
        violations = set()
        for target in ("cafe", "club"):
            page = await client.get(f"/api/v1/violations?object_id={world.ids[target]}&limit=200", headers=world.h[who])
            assert page.status_code == 200, page.text
            violations |= {item["inspection_id"] for item in page.json()["items"]}
        assert violations == expected, who


async def test_a_not_modified_read_and_unknown_ids(client, world, inspections):
    inspection = inspections["unplanned"]
    cached = await client.get(f"{URL}/{inspection['id']}", headers={**world.h["insp_a1"], "If-None-Match": '"1"'})
    assert cached.status_code == 304 and cached.content == b""
    assert_problem(await client.get(f"{URL}/{uuid.uuid4()}", headers=world.h["admin"]), 404, "not_found")


# --- list filters and pages ---------------------------------------------------------------------------------


async def test_inspection_list_filters(client, world, inspections):
    def ids(*names: str) -> set[str]:
        return {inspections[name]["id"] for name in names}

    async def listed(query: str, who: str = "admin") -> set[str]:
        response = await client.get(f"{URL}?limit=200&{query}", headers=world.h[who])
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await listed(f"object_id={world.ids['cafe']}") == ids("unplanned", "planned", "with_b")
    assert await listed(f"assignment_id={inspections['planned']['assignment_id']}") == ids("planned")
    assert await listed("regime=sexwork") == ids("sexwork")
    assert await listed("wijk=west") == ids("sexwork")
    assert await listed("team_id=team-a") == ids("unplanned", "planned", "with_b", "sexwork")
    assert await listed("team_id=team-b") == set()
    assert await listed("state=complete") == ids("unplanned", "planned", "with_b", "sexwork")
    assert await listed("state=returned") == set()
    today = datetime.now(AMSTERDAM).date()
    assert await listed(f"from={today}&to={today}") == ids("unplanned", "planned", "with_b", "sexwork")
    assert await listed(f"from={today + timedelta(days=1)}") == set()
    assert await listed(f"to={today - timedelta(days=1)}") == set()
    bad = await client.get(f"{URL}?from={today}&to={today - timedelta(days=1)}", headers=world.h["admin"])
    assert_problem(bad, 400, "invalid_date_range")
    unknown_wijk = await client.get(f"{URL}?wijk=nergens", headers=world.h["admin"])
    assert_problem(unknown_wijk, 422, "validation_failed")


async def test_inspection_pages_are_newest_first_and_complete(client, world):
    now = datetime.now(UTC)
    made = []
    for minutes in (50, 10, 30, 40, 20):
        finished = now - timedelta(minutes=minutes)
        body = world.body(started_at=iso(finished - timedelta(minutes=5)), finished_at=iso(finished))
        made.append((finished, (await submitted(client, world, body))["id"]))
    seen, cursor = [], None
    while True:
        response = await client.get(
            f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=world.h["coord_a"]
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [inspection_id for _, inspection_id in sorted(made, reverse=True)]
    assert_problem(await client.get(f"{URL}?cursor=bm9wZQ", headers=world.h["coord_a"]), 400, "invalid_cursor")


async def test_violation_history_of_an_object_newest_first_with_withdrawn_ones_on_request(client, world):
    now = datetime.now(UTC)
    ids = []
    for days in (20, 5, 10):
        finished = now - timedelta(days=days)
        body = world.body(
            started_at=iso(finished - timedelta(minutes=30)), finished_at=iso(finished), checklists=no_manager(world)
        )
        ids.append((days, (await submitted(client, world, body))["id"]))
    url = f"/api/v1/violations?object_id={world.ids['cafe']}"
    first = await client.get(f"{url}&limit=2", headers=world.h["enforcer"])
    rest = await client.get(f"{url}&limit=2&cursor={first.json()['next_cursor']}", headers=world.h["enforcer"])
    items = first.json()["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert [item["inspection_id"] for item in items] == [i for _, i in sorted(ids)]
    assert {item["code"] for item in items} == {"AW-24-1-NO-MANAGER-PRESENT"}
    assert items[0]["observed_on"] == (now - timedelta(days=5)).astimezone(AMSTERDAM).date().isoformat()

    # A correction that no longer establishes the violation withdraws it: gone by default, listed on request.
    inspection_id = ids[0][1]
    current = (await client.get(f"{URL}/{inspection_id}", headers=world.h["coord_a"])).json()
    returned = await client.post(
        f"{URL}/{inspection_id}/return",
        json={"reason": "Beheerder was er wel"},
        headers={**world.h["coord_a"], "If-Match": f'"{current["version"]}"'},
    )
    assert returned.status_code == 200, returned.text
    revision = (await client.get(f"{URL}/{inspection_id}/revisions", headers=world.h["insp_a1"])).json()["items"][0]
    correction = {**revision["body"], "checklists": world.body()["checklists"], "base_revision": 1}
    assert (await put(client, world, correction, inspection_id=inspection_id)).status_code == 200
    active = await client.get(f"/api/v1/violations?inspection_id={inspection_id}", headers=world.h["enforcer"])
    assert active.json()["items"] == []
    everything = await client.get(
        f"/api/v1/violations?inspection_id={inspection_id}&include_withdrawn=true", headers=world.h["enforcer"]
    )
    [withdrawn] = everything.json()["items"]
    assert withdrawn["withdrawn_at"] is not None and withdrawn["revision"] == 1


async def test_the_violation_list_needs_a_filter(client, world):
    body = assert_problem(await client.get("/api/v1/violations", headers=world.h["admin"]), 422, "validation_failed")
    assert {e["parameter"] for e in body["errors"]} == {"object_id", "location_id", "inspection_id"}
