"""Planning (/api/v1/assignments) over HTTP: planning inspections with their checks, who sees which
assignment (single reads and lists, no rows leaking across teams, regimes or sex work), the list filters
and keyset pages, reassign/reschedule/cancel with If-Match, Idempotency-Key and audit events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from backend.checklists import templates
from backend.core.calendar import today
from tests.helpers import assert_problem, register
from tests.registry_helpers import ALL_REGIMES, count, create_object

URL = "/api/v1/assignments"
SCOPED = ["alcohol", "nix18"]


def checklist(key: str) -> dict:
    return json.loads((templates.DEFAULT_DIRECTORY / f"{key}.json").read_text(encoding="utf-8"))


@dataclass
class World:
    """Two teams, their coordinators and inspectors, objects and published checklists."""

    h: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> headers
    ids: dict[str, str] = field(default_factory=dict)  # name -> user id, object id or checklist version id

    def body(self, **overrides: Any) -> dict[str, Any]:
        start = today() + timedelta(days=3)
        body: dict[str, Any] = {
            "object_id": self.ids["cafe"],
            "team_id": "team-a",
            "regimes": ["alcohol"],
            "checklist_version_ids": [self.ids["alcohol-horeca"]],
            "planned_from": start.isoformat(),
            "planned_to": (start + timedelta(days=4)).isoformat(),
            "inspector_ids": [self.ids["insp_a1"], self.ids["insp_a2"]],
            "reason": "regular_cycle",
            "partners": ["politie", "nvwa"],
            "notes": "Avondcontrole",
        }
        body.update(overrides)
        return body

    def sexwork_body(self, **overrides: Any) -> dict[str, Any]:
        return self.body(
            **{
                "object_id": self.ids["club"],
                "regimes": ["sexwork"],
                "checklist_version_ids": [self.ids["sexwork-establishment"]],
                "inspector_ids": [self.ids["insp_sw"]],
                **overrides,
            }
        )


@pytest.fixture
async def world(client, auth) -> World:
    w = World()
    users = {
        "admin": dict(roles=["admin"], regimes=ALL_REGIMES),
        "coord_a": dict(roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-a"]),
        "coord_b": dict(roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-b"]),
        "insp_a1": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
        "insp_a2": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
        "insp_sw": dict(roles=["inspector"], regimes=ALL_REGIMES, teams=["team-a"]),
        "insp_b": dict(roles=["inspector"], regimes=SCOPED, teams=["team-b"]),
    }
    for name, claims in users.items():
        w.h[name] = auth(name, **claims)
        w.ids[name] = str(await register(client, w.h[name]))
    for key in (
        "alcohol-horeca",
        "sexwork-establishment",
        "ondermijning-signals",
        "coffeeshop",
        "nix18-purchase-attempt",
    ):
        response = await client.post("/api/v1/checklists", headers=w.h["admin"], json=checklist(key))
        assert response.status_code == 201, response.text
        w.ids[key] = response.json()["id"]
    w.ids["cafe"] = (await create_object(client, w.h["admin"]))["id"]
    w.ids["club"] = (
        await create_object(
            client, w.h["admin"], name="Club Rood", kind="seks_club", regimes=["sexwork", "alcohol"], wijk="west"
        )
    )["id"]
    return w


async def plan(client, world: World, who: str = "coord_a", body: dict | None = None) -> dict[str, Any]:
    response = await client.post(URL, headers=world.h[who], json=body or world.body())
    assert response.status_code == 201, response.text
    return response.json()


async def listed(client, headers, query: str = "") -> list[str]:
    response = await client.get(f"{URL}?limit=200&{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def events(db, assignment_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT action, actor_id, reason, before, after FROM audit_event "
        "WHERE object_type = 'assignment' AND object_id = $1 ORDER BY seq",
        assignment_id,
    )
    return [dict(row) for row in rows]


async def planning_state(db) -> tuple[int, int]:
    return (
        await count(db, "assignment"),
        await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'assignment'"),
    )


# --- create and read -------------------------------------------------------------------------------------


async def test_plan_an_inspection_and_read_it_back(client, db, world):
    response = await client.post(URL, headers=world.h["coord_a"], json=world.body(partners=["nvwa", "politie"]))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"{URL}/{created['id']}"
    assert created["object_id"] == world.ids["cafe"] and created["location_id"] is None
    assert created["wijk"] == "binnenstad" and created["team_id"] == "team-a"
    assert created["status"] == "planned" and created["overdue"] is False and created["cancel_reason"] is None
    assert created["partners"] == ["nvwa", "politie"] and created["reason"] == "regular_cycle"
    assert created["created_by"] == world.ids["coord_a"] and created["version"] == 1

    read = await client.get(f"{URL}/{created['id']}", headers=world.h["insp_a1"])
    assert read.status_code == 200 and read.json() == created and read.headers["etag"] == '"1"'
    row = await db.fetchrow("SELECT team_id, inspector_ids, status FROM assignment WHERE id = $1::uuid", created["id"])
    assert row["team_id"] == "team-a" and [str(i) for i in row["inspector_ids"]] == world.body()["inspector_ids"]
    [event] = await events(db, created["id"])
    assert event["action"] == "assignment.created" and str(event["actor_id"]) == world.ids["coord_a"]
    assert event["after"]["inspector_ids"] == world.body()["inspector_ids"]
    assert event["after"]["planned_from"] == world.body()["planned_from"]


async def test_plan_a_location_takes_its_wijk(client, db, world):
    location = await client.post(
        "/api/v1/locations",
        headers=world.h["coord_a"],
        json={
            "street": "Kanaalstraat",
            "house_number": 12,
            "postcode": "3531 CK",
            "wijk": "west",
            "regimes": ["alcohol"],
        },
    )
    assert location.status_code == 201, location.text
    created = await plan(client, world, body=world.body(object_id=None, location_id=location.json()["id"]))
    assert created["location_id"] == location.json()["id"] and created["object_id"] is None
    assert created["wijk"] == "west"


async def test_admin_plans_for_any_team(client, world):
    body = world.body(team_id="team-b", inspector_ids=[world.ids["insp_b"]])
    assert (await plan(client, world, "admin", body))["team_id"] == "team-b"


async def test_only_coordinators_of_the_team_and_admins_plan(client, auth, db, world):
    enforcer = auth("enf-1", roles=["enforcement_officer"], regimes=ALL_REGIMES, teams=["team-a"])
    for headers in (world.h["insp_a1"], enforcer):
        assert_problem(await client.post(URL, headers=headers, json=world.body()), 403, "forbidden")
    other_team = world.body(team_id="team-b", inspector_ids=[world.ids["insp_b"]])
    assert_problem(await client.post(URL, headers=world.h["coord_a"], json=other_team), 403, "not_your_team")
    assert await planning_state(db) == (0, 0)


def _bad_cases(w: World, past: str, users: dict[str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """(what, body, pointer) of each refused plan."""
    a1 = w.ids["insp_a1"]
    return [
        ("both targets", w.body(location_id=str(uuid.uuid4())), "/object_id"),
        ("no target", w.body(object_id=None), "/object_id"),
        ("unknown object", w.body(object_id=str(uuid.uuid4())), "/object_id"),
        ("regime the target lacks", w.body(regimes=["gambling"]), "/regimes"),
        ("duplicate regime", w.body(regimes=["alcohol", "alcohol"]), "/regimes"),
        ("sex-work target without sexwork", w.body(object_id=w.ids["club"], regimes=["alcohol"]), "/regimes"),
        ("empty regimes", w.body(regimes=[]), "/regimes"),
        (
            "window reversed",
            w.body(planned_to=w.body()["planned_from"], planned_from=w.body()["planned_to"]),
            "/planned_to",
        ),
        ("window passed", w.body(planned_from=past, planned_to=past), "/planned_to"),
        ("unknown checklist", w.body(checklist_version_ids=[str(uuid.uuid4())]), "/checklist_version_ids/0"),
        (
            "checklist of another regime",
            w.body(checklist_version_ids=[w.ids["coffeeshop"]]),
            "/checklist_version_ids/0",
        ),
        ("duplicate checklist", w.body(checklist_version_ids=[w.ids["alcohol-horeca"]] * 2), "/checklist_version_ids"),
        ("no checklist", w.body(checklist_version_ids=[]), "/checklist_version_ids"),
        ("no inspectors", w.body(inspector_ids=[]), "/inspector_ids"),
        ("five inspectors", w.body(inspector_ids=[a1] * 5), "/inspector_ids"),
        ("inspector twice", w.body(inspector_ids=[a1, a1]), "/inspector_ids"),
        ("unknown user", w.body(inspector_ids=[str(uuid.uuid4())]), "/inspector_ids/0"),
        ("not an inspector", w.body(inspector_ids=[a1, w.ids["coord_a"]]), "/inspector_ids/1"),
        ("inspector of another team", w.body(inspector_ids=[w.ids["insp_b"]]), "/inspector_ids/0"),
        ("deactivated inspector", w.body(inspector_ids=[users["gone"]]), "/inspector_ids/0"),
        (
            "inspector without the regime",
            w.body(
                object_id=w.ids["club"], regimes=["sexwork"], checklist_version_ids=[w.ids["sexwork-establishment"]]
            ),
            "/inspector_ids/0",
        ),
        ("bad reason", w.body(reason="whim"), "/reason"),
        ("bad partner", w.body(partners=["fbi"]), "/partners/0"),
        ("partner twice", w.body(partners=["riec", "riec"]), "/partners"),
        ("long notes", w.body(notes="x" * 2001), "/notes"),
        ("unknown field", w.body(priority="high"), "/priority"),
        ("bad date", w.body(planned_from="2026-02-30"), "/planned_from"),
    ]


async def test_every_bad_plan_is_422_with_a_pointer_and_stores_nothing(client, auth, db, world):
    gone = await register(client, auth("gone", roles=["inspector"], regimes=SCOPED, teams=["team-a"]))
    await db.execute("UPDATE app_user SET active = false WHERE id = $1", gone)
    past = (today() - timedelta(days=1)).isoformat()
    for what, body, pointer in _bad_cases(world, past, {"gone": str(gone)}):
        response = await client.post(URL, headers=world.h["coord_a"], json=body)
        problem = assert_problem(response, 422, "validation_failed")
        pointers = [error.get("pointer") for error in problem.get("errors", [])]
        assert any(p and p.startswith(pointer) for p in pointers), (what, problem)
    assert await planning_state(db) == (0, 0)


async def test_targets_and_regimes_the_planner_does_not_see_are_refused(client, auth, db, world):
    coord = auth("coord-alc", roles=["coordinator"], regimes=["alcohol"], teams=["team-a"])
    await register(client, coord)
    # The sex business is invisible to this coordinator: refused like a missing object.
    body = world.sexwork_body(
        regimes=["alcohol"], checklist_version_ids=[world.ids["alcohol-horeca"]], inspector_ids=[world.ids["insp_a1"]]
    )
    problem = assert_problem(await client.post(URL, headers=coord, json=body), 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/object_id" and problem["errors"][0]["detail"] == "no such object"
    problem = assert_problem(
        await client.post(URL, headers=coord, json=world.body(regimes=["alcohol", "nix18"])), 422, "validation_failed"
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/regimes", "/checklist_version_ids"]  # nor its checklist
    assert await planning_state(db) == (0, 0)


async def test_idempotent_create_stores_one_assignment(client, db, world):
    headers = {**world.h["coord_a"], "Idempotency-Key": "plan-1"}
    first = await client.post(URL, headers=headers, json=world.body())
    again = await client.post(URL, headers=headers, json=world.body())
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == '"1"'
    other = await client.post(URL, headers=headers, json=world.body(notes="Anders"))
    assert_problem(other, 422, "idempotency_key_reused")
    assert await planning_state(db) == (1, 1)


# --- who sees what ---------------------------------------------------------------------------------------


async def test_each_role_sees_only_its_assignments_in_lists_and_reads(client, auth, world):
    a1 = (await plan(client, world))["id"]
    # Also an alcohol check: still hidden from everyone without the sexwork regime.
    a_sex = (
        await plan(
            client,
            world,
            body=world.sexwork_body(
                regimes=["alcohol", "sexwork"],
                checklist_version_ids=[world.ids["sexwork-establishment"], world.ids["alcohol-horeca"]],
            ),
        )
    )["id"]
    b1 = (await plan(client, world, "coord_b", world.body(team_id="team-b", inspector_ids=[world.ids["insp_b"]])))["id"]
    everything = {a1, a_sex, b1}
    expected = {
        "insp_a1": {a1},  # own team, not sex work
        "insp_sw": {a1, a_sex},
        "insp_b": {b1},
        "coord_a": {a1, a_sex},
        "coord_b": {b1},
        "admin": everything,
    }
    callers = {name: world.h[name] for name in expected}
    extra = {
        "enf_alcohol": (auth("enf-alc", roles=["enforcement_officer"], regimes=["alcohol"]), {a1, b1}),
        "enf_sexwork": (auth("enf-sw", roles=["enforcement_officer"], regimes=["sexwork"]), {a_sex}),
        "complaints_team_a": (
            auth("cmp-1", roles=["complaints_officer"], regimes=ALL_REGIMES, teams=["team-a"]),
            set(),
        ),
        "auditor": (auth("aud-1", roles=["auditor"], regimes=ALL_REGIMES, teams=["team-a"]), set()),
        "coord_a_without_sexwork": (auth("coord_a", roles=["coordinator"], regimes=SCOPED, teams=["team-a"]), {a1}),
    }
    for name, (headers, ids) in extra.items():
        callers[name], expected[name] = headers, ids
    for name, headers in callers.items():
        assert set(await listed(client, headers)) == expected[name], name
        for assignment_id in everything:
            response = await client.get(f"{URL}/{assignment_id}", headers=headers)
            if assignment_id in expected[name]:
                assert response.status_code == 200, (name, response.text)
            else:
                assert_problem(response, 404, "not_found")
    # A filter for another team's rows does not leak them.
    assert await listed(client, world.h["coord_a"], "team=team-b") == []
    assert await listed(client, world.h["insp_a1"], "regime=sexwork") == []


async def test_an_inspector_keeps_seeing_their_own_assignment_after_leaving_the_team(client, auth, world):
    mine = (await plan(client, world))["id"]
    colleague = (await plan(client, world, body=world.body(inspector_ids=[world.ids["insp_a2"]])))["id"]
    moved = auth("insp_a1", roles=["inspector"], regimes=SCOPED, teams=["team-c"])
    assert await listed(client, moved) == [mine]
    assert (await client.get(f"{URL}/{mine}", headers=moved)).status_code == 200
    assert_problem(await client.get(f"{URL}/{colleague}", headers=moved), 404, "not_found")


# --- list filters and pages ------------------------------------------------------------------------------


async def test_list_filters(client, db, world):
    start = today() + timedelta(days=10)
    cafe = (await plan(client, world))["id"]
    club = (await plan(client, world, body=world.sexwork_body()))["id"]
    later = (
        await plan(
            client,
            world,
            body=world.body(
                regimes=["nix18"],
                checklist_version_ids=[world.ids["nix18-purchase-attempt"], world.ids["ondermijning-signals"]],
                inspector_ids=[world.ids["insp_a2"]],
                planned_from=start.isoformat(),
                planned_to=start.isoformat(),
            ),
        )
    )["id"]
    other_team = (
        await plan(client, world, "admin", world.body(team_id="team-b", inspector_ids=[world.ids["insp_b"]]))
    )["id"]
    late = (await plan(client, world))["id"]
    await db.execute(
        "UPDATE assignment SET planned_from = $2, planned_to = $2 WHERE id = $1::uuid",
        late,
        today() - timedelta(days=1),
    )
    cancelled = (await plan(client, world))["id"]
    await db.execute(
        "UPDATE assignment SET status = 'cancelled', cancel_reason = 'weg', planned_to = $2, "
        "planned_from = $2 WHERE id = $1::uuid",
        cancelled,
        today() - timedelta(days=5),
    )
    admin = world.h["admin"]
    assert set(await listed(client, admin)) == {cafe, club, later, other_team, late, cancelled}
    assert set(await listed(client, admin, "team=team-a")) == {cafe, club, later, late, cancelled}
    assert await listed(client, admin, "team=team-b") == [other_team]
    assert await listed(client, admin, "status=cancelled") == [cancelled]
    assert await listed(client, admin, "overdue=true") == [late]
    assert set(await listed(client, admin, "overdue=false")) == {cafe, club, later, other_team, cancelled}
    assert await listed(client, admin, "regime=sexwork") == [club]
    assert await listed(client, admin, "regime=nix18") == [later]
    assert await listed(client, admin, "wijk=west") == [club]
    assert set(await listed(client, admin, f"inspector={world.ids['insp_a2']}")) == {cafe, later, late, cancelled}
    assert await listed(client, admin, f"from={start.isoformat()}") == [later]
    assert set(await listed(client, admin, f"to={today().isoformat()}")) == {late, cancelled}
    day_before = (start - timedelta(days=1)).isoformat()
    assert await listed(client, admin, f"from={day_before}&to={day_before}&team=team-a") == []
    assert_problem(
        await client.get(f"{URL}?from={start.isoformat()}&to={today().isoformat()}", headers=admin),
        400,
        "invalid_date_range",
    )
    # Every item says whether it is overdue.
    items = {i["id"]: i for i in (await client.get(f"{URL}?team=team-a", headers=admin)).json()["items"]}
    assert items[late]["overdue"] is True and items[cancelled]["overdue"] is False


async def test_keyset_pages_follow_planned_from_then_id(client, db, world):
    made = [(await plan(client, world))["id"] for _ in range(5)]
    for offset, assignment_id in enumerate(made):
        day = today() + timedelta(days=20 - offset % 3)
        await db.execute(
            "UPDATE assignment SET planned_from = $2, planned_to = $2 WHERE id = $1::uuid", assignment_id, day
        )
    rows = await db.fetch("SELECT id FROM assignment ORDER BY planned_from, id")
    seen, cursor = [], None
    while True:
        query = f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(query, headers=world.h["coord_a"])).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(row["id"]) for row in rows]
    assert_problem(await client.get(f"{URL}?cursor=bm9wZQ", headers=world.h["coord_a"]), 400, "invalid_cursor")


# --- reassign, reschedule, cancel ------------------------------------------------------------------------


async def test_reassign_with_if_match_and_audit(client, db, world):
    created = await plan(client, world)
    url = f"{URL}/{created['id']}/reassign"
    body = {"inspector_ids": [world.ids["insp_sw"]]}
    assert_problem(await client.post(url, headers=world.h["coord_a"], json=body), 428, "precondition_required")
    assert_problem(
        await client.post(url, headers={**world.h["coord_a"], "If-Match": '"9"'}, json=body), 412, "stale_version"
    )
    bad = {"inspector_ids": [world.ids["insp_b"]]}
    assert_problem(
        await client.post(url, headers={**world.h["coord_a"], "If-Match": '"1"'}, json=bad), 422, "validation_failed"
    )
    assert await planning_state(db) == (1, 1)

    response = await client.post(url, headers={**world.h["coord_a"], "If-Match": '"1"'}, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"' and response.json()["inspector_ids"] == body["inspector_ids"]
    _, event = await events(db, created["id"])
    assert event["action"] == "assignment.reassigned"
    assert event["before"] == {"inspector_ids": created["inspector_ids"]}
    assert event["after"] == {"inspector_ids": body["inspector_ids"]}
    # insp_a1 is no longer assigned but still sees it through the team.
    assert (await client.get(f"{URL}/{created['id']}", headers=world.h["insp_a1"])).json()["version"] == 2


async def test_reschedule_checks_the_window_and_audits(client, db, world):
    created = await plan(client, world)
    url = f"{URL}/{created['id']}/reschedule"
    headers = {**world.h["coord_a"], "If-Match": '"1"'}
    start = today() + timedelta(days=30)
    reversed_window = {"planned_from": start.isoformat(), "planned_to": (start - timedelta(days=1)).isoformat()}
    assert_problem(await client.post(url, headers=headers, json=reversed_window), 422, "validation_failed")
    assert_problem(
        await client.post(url, headers=headers, json={"planned_from": start.isoformat()}), 422, "validation_failed"
    )
    assert await planning_state(db) == (1, 1)
    window = {"planned_from": start.isoformat(), "planned_to": start.isoformat()}
    response = await client.post(url, headers=headers, json=window)
    assert response.status_code == 200, response.text
    assert response.json()["planned_from"] == response.json()["planned_to"] == start.isoformat()
    event = (await events(db, created["id"]))[-1]
    assert event["action"] == "assignment.rescheduled"
    assert event["before"] == {"planned_from": created["planned_from"], "planned_to": created["planned_to"]}
    assert event["after"] == window


async def test_cancel_with_a_reason_then_nothing_changes_it(client, db, world):
    created = await plan(client, world)
    base = f"{URL}/{created['id']}"
    headers = {**world.h["coord_a"], "If-Match": '"1"', "Idempotency-Key": "cancel-1"}
    response = await client.post(f"{base}/cancel", headers=headers, json={"reason": "Zaak gesloten"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["cancel_reason"] == "Zaak gesloten"
    replay = await client.post(f"{base}/cancel", headers=headers, json={"reason": "Zaak gesloten"})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    event = (await events(db, created["id"]))[-1]
    assert event["action"] == "assignment.cancelled" and event["reason"] == "Zaak gesloten"
    assert event["before"] == {"status": "planned", "cancel_reason": None}
    assert event["after"] == {"status": "cancelled", "cancel_reason": "Zaak gesloten"}

    later = today() + timedelta(days=9)
    changes = {
        "cancel": {"reason": "Nog eens"},
        "reassign": {"inspector_ids": [world.ids["insp_a1"]]},
        "reschedule": {"planned_from": later.isoformat(), "planned_to": later.isoformat()},
    }
    for action, body in changes.items():
        response = await client.post(f"{base}/{action}", headers={**world.h["coord_a"], "If-Match": '"2"'}, json=body)
        assert_problem(response, 409, "assignment_closed")
    assert len(await events(db, created["id"])) == 2


async def test_a_done_assignment_cannot_change(client, db, world):
    created = await plan(client, world)
    await db.execute("UPDATE assignment SET status = 'done' WHERE id = $1::uuid", created["id"])
    response = await client.post(
        f"{URL}/{created['id']}/cancel", headers={**world.h["coord_a"], "If-Match": '"1"'}, json={"reason": "Te laat"}
    )
    assert_problem(response, 409, "assignment_closed")
    assert await db.fetchval("SELECT status FROM assignment WHERE id = $1::uuid", created["id"]) == "done"


async def test_bad_cancel_reasons_are_refused(client, db, world):
    created = await plan(client, world)
    headers = {**world.h["coord_a"], "If-Match": '"1"'}
    for body in ({}, {"reason": "  "}, {"reason": "x" * 1001}, {"reason": "Weg", "extra": 1}):
        response = await client.post(f"{URL}/{created['id']}/cancel", headers=headers, json=body)
        assert_problem(response, 422, "validation_failed")
    assert await db.fetchval("SELECT status FROM assignment WHERE id = $1::uuid", created["id"]) == "planned"
    assert await planning_state(db) == (1, 1)


async def test_only_the_teams_coordinators_and_admins_change_assignments(client, auth, db, world):
    created = await plan(client, world)
    body = {"reason": "Geen capaciteit"}
    url = f"{URL}/{created['id']}/cancel"
    assert_problem(
        await client.post(url, headers={**world.h["insp_a1"], "If-Match": '"1"'}, json=body), 403, "forbidden"
    )
    assert_problem(
        await client.post(url, headers={**world.h["coord_b"], "If-Match": '"1"'}, json=body), 404, "not_found"
    )
    # Sees it (enforcement officer too) but does not coordinate team-a.
    both = auth("coord-enf", roles=["coordinator", "enforcement_officer"], regimes=ALL_REGIMES, teams=["team-b"])
    assert_problem(await client.post(url, headers={**both, "If-Match": '"1"'}, json=body), 403, "not_your_team")
    assert_problem(
        await client.post(f"{URL}/{uuid.uuid4()}/cancel", headers={**world.h["coord_a"], "If-Match": '"1"'}, json=body),
        404,
        "not_found",
    )
    assert await db.fetchval("SELECT version FROM assignment") == 1
    response = await client.post(url, headers={**world.h["admin"], "If-Match": '"1"'}, json=body)
    assert response.status_code == 200, response.text


async def test_list_on_an_unknown_wijk_is_422(client, auth):
    coordinator = auth("coord-wijk", roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-a"])
    response = await client.get("/api/v1/assignments?wijk=atlantis", headers=coordinator)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"detail": "unknown wijk", "parameter": "wijk"}]
