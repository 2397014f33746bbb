"""A complaint of one regime can lead to an inspection under another: a parking-nuisance complaint (alcohol) to a
check for illegal prostitution. Whoever may see the complaint sees its follow-up only for inspections whose regimes
they may see: sex-work results (special-category personal data) only with the sexwork scope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from backend.core.calendar import today
from tests.complaint_helpers import URL, complaint_world, create_complaint, if_match, moved
from tests.inspection_helpers import HORECA_NO_MANAGER, World, accepted, add_users, checklist_file, put

# Planners and viewers besides complaint_world's: the coordinator of the scenario, scoped for alcohol and sex work.
SCENARIO_USERS = {
    "coord_alcohol_sexwork": dict(roles=["coordinator"], regimes=["alcohol", "sexwork"], teams=["team-a"])
}
# Neighbours' complaint, no venue known at the address.
NO_OBJECT_ADDRESS = {"street": "Lange Nieuwstraat", "house_number": 7, "postcode": "3512 PA"}
# A hotel room where sex work takes place with a licence, but with signs of a minor present (SX-05).
MINOR_PRESENT: dict[str, Any] = {
    "SX-11": "melding_buurt",
    "SX-90": "hotel",
    "SX-08": "yes",
    "SX-04a": 1,
    "SX-08a": "yes",
    "SX-05": "yes",
    "SX-06": "no",
    "SX-10": "no",
}
# Scoped for sex work (the complaints officer has every regime) and not (alcohol only, or alcohol and nix18).
SEXWORK_SCOPED = ("complaints", "coord_alcohol_sexwork")
ALCOHOL_ONLY = ("handler_alcohol", "coord_alcohol_a")


@pytest.fixture
async def world(client, auth) -> World:
    world = await complaint_world(client, auth)
    await add_users(client, auth, world, SCENARIO_USERS)
    published = await client.post(
        "/api/v1/checklists", headers=world.h["admin"], json=checklist_file("illegal-prostitution")
    )
    assert published.status_code == 201, published.text
    world.ids["illegal-prostitution"] = published.json()["id"]
    return world


async def plan(client, world: World, complaint: dict, regimes: list[str], checklist: str) -> dict:
    start = today() + timedelta(days=1)
    response = await client.post(
        f"{URL}/{complaint['id']}/inspections",
        json={
            "team_id": "team-a",
            "regimes": regimes,
            "checklist_version_ids": [world.ids[checklist]],
            "planned_from": start.isoformat(),
            "planned_to": (start + timedelta(days=4)).isoformat(),
            "inspector_ids": [world.ids["insp_sw"]],
        },
        headers=if_match(world, "coord_alcohol_sexwork", complaint["version"]),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def inspected(client, world: World, assignment: dict, checklist: str, answers: dict[str, Any]) -> dict:
    """The assignment's location inspected by insp_sw with these answers, and accepted in review."""
    body = world.body(
        "insp_sw",
        assignment_id=assignment["id"],
        object_id=None,
        location_id=assignment["location_id"],
        checklists=[{"checklist_version_id": world.ids[checklist], "answers": answers}],
        observations=None,  # a sex-work inspection holds no free text
    )
    response = await put(client, world, body, "insp_sw", str(uuid.uuid4()))
    assert response.status_code == 200, response.text
    return await accepted(client, world, response.json(), reviewer="coord_alcohol_sexwork")


async def read(client, world: World, complaint_id: str, who: str) -> dict:
    response = await client.get(f"{URL}/{complaint_id}", headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_sex_work_inspection_planned_from_an_alcohol_complaint_shows_only_with_the_sexwork_scope(client, world):
    complaint = await create_complaint(
        client, world, category="overlast_bezoekers_parkeren", address=dict(NO_OBJECT_ADDRESS)
    )
    assert complaint["regime"] == "alcohol" and complaint["object_id"] is None
    planned = await plan(client, world, complaint, ["sexwork"], "illegal-prostitution")
    assignment = planned["assignment"]
    assert assignment["regimes"] == ["sexwork"] and assignment["location_id"]
    inspection = await inspected(client, world, assignment, "illegal-prostitution", MINOR_PRESENT)
    assert inspection["state"] == "reviewed"

    for who in SEXWORK_SCOPED:
        shown = await read(client, world, complaint["id"], who)
        [follow_up] = shown["inspections"]
        assert (follow_up["assignment_id"], follow_up["inspection_id"]) == (assignment["id"], inspection["id"])
        assert follow_up["violations_found"] is True and follow_up["violation_codes"] == ["SX-MINOR-PRESENT"]
        assert shown["history"][-1]["assignment_id"] == assignment["id"]

    for who in ALCOHOL_ONLY:
        shown = await read(client, world, complaint["id"], who)
        # The complaint itself (its regime is alcohol, its address the street's) stays theirs to see ...
        assert shown["location"]["street"] == "Lange Nieuwstraat" and shown["state"] == "inspection_planned"
        # ... but nothing of the sex-work inspection: no follow-up, no assignment id, no code anywhere.
        assert shown["inspections"] == []
        assert [h["assignment_id"] for h in shown["history"]] == [None, None]
        assert "SX-MINOR-PRESENT" not in str(shown)
        assert assignment["id"] not in str(shown) and inspection["id"] not in str(shown)


async def test_an_alcohol_only_user_still_sees_the_alcohol_inspection_beside_a_hidden_sex_work_one(client, world):
    complaint = await create_complaint(
        client, world, category="overlast_bezoekers_parkeren", address=dict(NO_OBJECT_ADDRESS)
    )
    sexwork = (await plan(client, world, complaint, ["sexwork"], "illegal-prostitution"))["assignment"]
    await inspected(client, world, sexwork, "illegal-prostitution", MINOR_PRESENT)
    # The handler takes it back to plan an alcohol check of the same address as well.
    current = await read(client, world, complaint["id"], "complaints")
    back = await moved(client, world, current, {"to": "in_progress", "reason": "Ook horeca controleren"})
    alcohol = (await plan(client, world, back, ["alcohol"], "alcohol-horeca"))["assignment"]
    await inspected(client, world, alcohol, "alcohol-horeca", dict(HORECA_NO_MANAGER))

    everything = await read(client, world, complaint["id"], "complaints")
    assert [(f["assignment_id"], f["violation_codes"]) for f in everything["inspections"]] == [
        (sexwork["id"], ["SX-MINOR-PRESENT"]),
        (alcohol["id"], ["AW-24-1-NO-MANAGER-PRESENT"]),
    ]
    for who in ALCOHOL_ONLY:
        shown = await read(client, world, complaint["id"], who)
        assert [(f["assignment_id"], f["violation_codes"]) for f in shown["inspections"]] == [
            (alcohol["id"], ["AW-24-1-NO-MANAGER-PRESENT"])
        ]
        planned_ids = [h["assignment_id"] for h in shown["history"] if h["to_state"] == "inspection_planned"]
        assert planned_ids == [None, alcohol["id"]]
