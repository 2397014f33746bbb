"""The complaint lifecycle: allowed transitions only (who, when, why, audited, If-Match), planning an inspection
from a complaint (linked both ways), the reviewed inspection's outcome on the complaint, the answer to the
reporter, reopening and rejecting, handlers, deadline lists and hot spots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.complaints import reference
from backend.complaints.service import TRANSITIONS
from backend.core import calendar
from backend.core.calendar import today
from tests.complaint_helpers import (
    URL,
    complaint_world,
    create_complaint,
    if_match,
    iso,
    move,
    moved,
    stored,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import HORECA_NO_MANAGER, World, accepted, put


@pytest.fixture
async def world(client, auth) -> World:
    return await complaint_world(client, auth)


def plan_body(world: World, **overrides) -> dict:
    start = today() + timedelta(days=1)
    body = {
        "team_id": "team-a",
        "checklist_version_ids": [world.ids["alcohol-horeca"]],
        "planned_from": start.isoformat(),
        "planned_to": (start + timedelta(days=4)).isoformat(),
        "inspector_ids": [world.ids["insp_a1"]],
    }
    body.update(overrides)
    return body


async def plan(client, world: World, complaint: dict, who: str = "coord_a", **overrides) -> dict:
    response = await client.post(
        f"{URL}/{complaint['id']}/inspections",
        json=plan_body(world, **overrides),
        headers=if_match(world, who, complaint["version"]),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def read(client, world: World, complaint_id: str, who: str = "complaints") -> dict:
    response = await client.get(f"{URL}/{complaint_id}", headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


# --- the whole way: intake, inspection, outcome, answer, reopening --------------------------------------------


async def test_from_complaint_to_inspection_outcome_and_answer(client, db, world):
    complaint = await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    taken = await moved(client, world, complaint, {"to": "in_progress", "reason": "Melder gebeld"})
    assert taken["state"] == "in_progress" and taken["acknowledged_at"] and taken["version"] == 2

    # A coordinator plans an inspection from it: the assignment knows the complaint, the complaint the assignment.
    planned = await plan(client, world, taken)
    assignment, complaint = planned["assignment"], planned["complaint"]
    assert assignment["reason"] == "complaint" and assignment["complaint_id"] == taken["id"]
    assert assignment["object_id"] == world.ids["cafe"] and assignment["regimes"] == ["alcohol"]
    assert complaint["state"] == "inspection_planned" and complaint["version"] == 3
    assert complaint["history"][-1]["assignment_id"] == assignment["id"]
    follow_up = complaint["inspections"][0]
    assert (follow_up["assignment_id"], follow_up["inspection_id"], follow_up["violations_found"]) == (
        assignment["id"],
        None,
        None,
    )
    got = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=world.h["coord_a"])
    assert got.json()["complaint_id"] == taken["id"]

    # The inspector finds no manager present; until the inspection is reviewed the complaint shows no outcome.
    body = world.body(
        assignment_id=assignment["id"],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(HORECA_NO_MANAGER)}],
    )
    submitted = await put(client, world, body)
    assert submitted.status_code == 200, submitted.text
    inspection = submitted.json()
    pending = (await read(client, world, taken["id"]))["inspections"][0]
    assert pending["inspection_id"] == inspection["id"] and pending["inspection_state"] == "complete"
    assert pending["reviewed"] is False and pending["violations_found"] is None and pending["violation_codes"] == []
    await accepted(client, world, inspection)
    shown = await read(client, world, taken["id"])
    outcome = shown["inspections"][0]
    assert outcome["reviewed"] is True and outcome["violations_found"] is True
    assert outcome["violation_codes"] == ["AW-24-1-NO-MANAGER-PRESENT"] and outcome["assignment_status"] == "done"

    # The handler answers the reporter and resolves it.
    resolved = await moved(
        client,
        world,
        shown,
        {
            "to": "resolved",
            "outcome": "violation_found",
            "answer": "Er is gecontroleerd en opgetreden. Dank voor uw melding.",
        },
    )
    assert resolved["state"] == "resolved" and resolved["outcome"] == "violation_found"
    assert resolved["answer"].startswith("Er is gecontroleerd") and resolved["answered_at"] and resolved["closed_at"]
    assert resolved["overdue"] is False

    # The reporter is not satisfied: reopened, with a new handling term from today.
    reopened = await moved(client, world, resolved, {"to": "reopened", "reason": "Melder: overlast gaat door"})
    handling = reference.categories()["geluidsoverlast_horeca"].handling_working_days
    assert reopened["state"] == "reopened" and reopened["outcome"] is None and reopened["answer"] is None
    assert reopened["closed_at"] is None
    assert reopened["resolution_due_on"] == calendar.add_working_days(today(), handling).isoformat()

    history = [(h["from_state"], h["to_state"], h["actor_id"], h["reason"]) for h in reopened["history"]]
    assert history == [
        (None, "received", world.ids["complaints"], None),
        ("received", "in_progress", world.ids["complaints"], "Melder gebeld"),
        ("in_progress", "inspection_planned", world.ids["coord_a"], None),
        ("inspection_planned", "resolved", world.ids["complaints"], None),
        ("resolved", "reopened", world.ids["complaints"], "Melder: overlast gaat door"),
    ]
    assert reopened["history"][3]["outcome"] == "violation_found" and reopened["history"][3]["answer"]
    events = await db.fetch(
        "SELECT action, actor_id, reason, before, after FROM audit_event "
        "WHERE object_type = 'complaint' AND object_id = $1 AND action <> 'complaint.reporter_read' "
        "ORDER BY seq",
        taken["id"],
    )
    assert [e["action"] for e in events] == [
        "complaint.created",
        "complaint.in_progress",
        "complaint.inspection_planned",
        "complaint.resolved",
        "complaint.reopened",
    ]
    assert events[3]["after"] == {"state": "resolved", "outcome": "violation_found", "answered": True}
    assert events[4]["reason"] == "Melder: overlast gaat door" and events[4]["before"] == {"state": "resolved"}


async def test_an_inspection_without_violations_shows_none_found(client, world):
    complaint = await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    planned = await plan(client, world, complaint)
    submitted = await put(client, world, world.body(assignment_id=planned["assignment"]["id"]))
    assert submitted.status_code == 200, submitted.text
    await accepted(client, world, submitted.json())
    outcome = (await read(client, world, complaint["id"]))["inspections"][0]
    assert outcome["reviewed"] is True and outcome["violations_found"] is False and outcome["violation_codes"] == []


async def test_planning_without_an_object_targets_a_location_made_from_the_address(client, db, world):
    complaint = await create_complaint(
        client,
        world,
        address={
            "street": "Lange Nieuwstraat",
            "house_number": 7,
            "house_number_addition": "bis",
            "postcode": "3512 PA",
        },
    )
    planned = await plan(client, world, complaint)
    assignment = planned["assignment"]
    assert assignment["object_id"] is None and assignment["location_id"] and assignment["wijk"] == "binnenstad"
    location = await db.fetchrow(
        "SELECT street, house_number_addition, postcode, regimes, description FROM location WHERE id = $1",
        uuid.UUID(assignment["location_id"]),
    )
    assert dict(location) == {
        "street": "Lange Nieuwstraat",
        "house_number_addition": "BIS",
        "postcode": "3512PA",
        "regimes": ["alcohol"],
        "description": "Adres uit een klachtmelding",
    }


async def test_planning_needs_a_target_and_a_regime_and_stores_nothing_otherwise(client, db, world):
    coordinates = await create_complaint(
        client, world, address=None, coordinates={"latitude": 52.09, "longitude": 5.12}, wijk="west"
    )
    other = await create_complaint(client, world, category="other")
    before = await stored(db)
    response = await client.post(
        f"{URL}/{coordinates['id']}/inspections", json=plan_body(world), headers=if_match(world, "coord_a", 1)
    )
    assert assert_problem(response, 422, "validation_failed")["errors"][0]["pointer"] == "/location_id"
    response = await client.post(
        f"{URL}/{other['id']}/inspections", json=plan_body(world), headers=if_match(world, "admin", 1)
    )
    assert assert_problem(response, 422, "validation_failed")["errors"][0]["pointer"] == "/regimes"
    # Planning's own rules apply: an inspector of another team.
    response = await client.post(
        f"{URL}/{other['id']}/inspections",
        json=plan_body(world, regimes=["alcohol"], inspector_ids=[world.ids["insp_all_regimes"]]),
        headers=if_match(world, "admin", 1),
    )
    assert "/inspector_ids/0" in [e["pointer"] for e in assert_problem(response, 422, "validation_failed")["errors"]]
    assert await stored(db) == before
    # With the regimes given, an admin plans the 'other' complaint.
    planned = await plan(client, world, other, who="admin", regimes=["alcohol"])
    assert planned["complaint"]["state"] == "inspection_planned"


async def test_only_planners_plan_and_only_handlers_change_the_state(client, db, world):
    complaint = await create_complaint(client, world)
    for who in ("complaints", "insp_a1", "enforcer"):
        response = await client.post(
            f"{URL}/{complaint['id']}/inspections", json=plan_body(world), headers=if_match(world, who, 1)
        )
        assert_problem(response, 403, "forbidden")
    for who in ("coord_a", "insp_a1", "enforcer"):
        assert_problem(await move(client, world, complaint, {"to": "in_progress"}, who), 403, "forbidden")
    assert await db.fetchval("SELECT state FROM complaint") == "received"
    assert (await moved(client, world, complaint, {"to": "in_progress"}, "admin"))["state"] == "in_progress"


# --- transitions: only the allowed ones -------------------------------------------------------------------------


async def test_a_transition_that_is_not_allowed_is_refused_and_changes_nothing(client, db, world):
    complaint = await create_complaint(client, world, wants_feedback=False)
    before = await stored(db)
    body = assert_problem(
        await move(client, world, complaint, {"to": "resolved", "outcome": "other"}), 409, "transition_not_allowed"
    )
    assert "in_progress" in body["detail"]
    assert_problem(
        await move(client, world, complaint, {"to": "reopened", "reason": "nieuwe feiten"}),
        409,
        "transition_not_allowed",
    )
    # inspection_planned is reached only by planning an inspection.
    assert_problem(await move(client, world, complaint, {"to": "inspection_planned"}), 422, "validation_failed")
    assert_problem(await move(client, world, complaint, {"to": "closed"}), 422, "validation_failed")
    assert await stored(db) == before
    row = await db.fetchrow("SELECT state, version FROM complaint")
    assert (row["state"], row["version"]) == ("received", 1)
    # Resolved is left only by reopening; rejected too.
    taken = await moved(client, world, complaint, {"to": "in_progress"})
    resolved = await moved(client, world, taken, {"to": "resolved", "outcome": "nuisance_stopped"})
    for target in ({"to": "in_progress"}, {"to": "rejected", "forwarded_to": "Politie", "reason": "niet van ons"}):
        assert_problem(await move(client, world, resolved, target), 409, "transition_not_allowed")
    planned_again = await client.post(
        f"{URL}/{resolved['id']}/inspections",
        json=plan_body(world),
        headers=if_match(world, "coord_a", resolved["version"]),
    )
    assert_problem(planned_again, 409, "transition_not_allowed")


def test_the_transition_table_reaches_every_state_and_closes_only_by_reopening():
    states = set(TRANSITIONS)
    assert set().union(*TRANSITIONS.values()) == states - {"received"}
    assert TRANSITIONS["resolved"] == TRANSITIONS["rejected"] == {"reopened"}


async def test_an_answer_when_no_feedback_was_wanted_is_refused(client, db, world):
    complaint = await moved(
        client, world, await create_complaint(client, world, wants_feedback=False), {"to": "in_progress"}
    )
    before = await stored(db)
    response = await move(
        client, world, complaint, {"to": "resolved", "outcome": "no_violation_found", "answer": "Beste melder, ..."}
    )
    body = assert_problem(response, 422, "no_feedback_wanted")
    assert body["errors"][0]["pointer"] == "/answer"
    assert await stored(db) == before and await db.fetchval("SELECT state FROM complaint") == "in_progress"
    resolved = await moved(client, world, complaint, {"to": "resolved", "outcome": "no_violation_found"})
    assert resolved["answer"] is None and resolved["answered_at"] is None


async def test_a_reporter_who_wants_feedback_gets_an_answer(client, db, world):
    complaint = await moved(client, world, await create_complaint(client, world), {"to": "in_progress"})
    response = await move(client, world, complaint, {"to": "resolved", "outcome": "not_established"})
    assert assert_problem(response, 422, "answer_required")["errors"][0]["pointer"] == "/answer"
    assert await db.fetchval("SELECT state FROM complaint") == "in_progress"


async def test_rejecting_forwards_to_a_named_partner_with_a_reason(client, db, world):
    complaint = await create_complaint(client, world)
    response = await move(client, world, complaint, {"to": "rejected", "forwarded_to": "Politie"})
    assert_problem(response, 422, "validation_failed")
    rejected = await moved(
        client,
        world,
        complaint,
        {
            "to": "rejected",
            "forwarded_to": " Politie Midden-Nederland ",
            "reason": "Mishandeling: strafrechtelijk",
            "answer": "Wij hebben uw melding doorgestuurd naar de politie, die hierover beslist.",
        },
    )
    assert rejected["state"] == "rejected" and rejected["forwarded_to"] == "Politie Midden-Nederland"
    assert rejected["closed_at"] and rejected["acknowledged_at"] and rejected["overdue"] is False
    reopened = await moved(client, world, rejected, {"to": "reopened", "reason": "Politie stuurt terug"})
    assert reopened["forwarded_to"] is None and reopened["history"][-2]["forwarded_to"] == "Politie Midden-Nederland"


async def test_changes_need_the_current_version(client, db, world):
    complaint = await create_complaint(client, world)
    response = await client.post(
        f"{URL}/{complaint['id']}/transitions", json={"to": "in_progress"}, headers=world.h["complaints"]
    )
    assert_problem(response, 428, "precondition_required")
    await moved(client, world, complaint, {"to": "in_progress"})
    stale = await move(client, world, complaint, {"to": "rejected", "forwarded_to": "NVWA", "reason": "voedsel"})
    assert_problem(stale, 412, "stale_version")
    assert await db.fetchval("SELECT count(*) FROM complaint_transition") == 2
    unknown = await client.post(
        f"{URL}/{uuid.uuid4()}/transitions", json={"to": "in_progress"}, headers=if_match(world, "complaints", 1)
    )
    assert_problem(unknown, 404, "not_found")


async def test_a_transition_resent_with_its_idempotency_key_is_applied_once(client, db, world):
    complaint = await create_complaint(client, world)
    headers = {**if_match(world, "complaints", 1), "Idempotency-Key": "take-1"}
    first = await client.post(f"{URL}/{complaint['id']}/transitions", json={"to": "in_progress"}, headers=headers)
    again = await client.post(f"{URL}/{complaint['id']}/transitions", json={"to": "in_progress"}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert await db.fetchval("SELECT count(*) FROM complaint_transition") == 2


# --- handlers ---------------------------------------------------------------------------------------------------


async def test_a_complaint_is_assigned_to_a_handler_who_may_see_it(client, db, world):
    complaint = await create_complaint(client, world)
    url = f"{URL}/{complaint['id']}/handler"
    for user, pointer_detail in (("insp_a1", "not a complaint handler"), (str(uuid.uuid4()), "no such user")):
        handler_id = world.ids.get(user, user)
        response = await client.post(url, json={"handler_id": handler_id}, headers=if_match(world, "complaints", 1))
        assert pointer_detail in assert_problem(response, 422, "validation_failed")["errors"][0]["detail"]
    response = await client.post(
        url, json={"handler_id": world.ids["handler_alcohol"]}, headers=if_match(world, "complaints", 1)
    )
    assert response.status_code == 200, response.text
    assert response.json()["handler_id"] == world.ids["handler_alcohol"] and response.headers["etag"] == '"2"'
    mine = await client.get(f"{URL}?handler={world.ids['handler_alcohol']}", headers=world.h["handler_alcohol"])
    assert [item["id"] for item in mine.json()["items"]] == [complaint["id"]]
    # A sex-work complaint cannot go to a handler without the sexwork scope.
    sexwork = await create_complaint(client, world, category="illegale_prostitutie")
    response = await client.post(
        f"{URL}/{sexwork['id']}/handler",
        json={"handler_id": world.ids["handler_alcohol"]},
        headers=if_match(world, "complaints", 1),
    )
    assert "sexwork" in assert_problem(response, 422, "validation_failed")["errors"][0]["detail"]
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'complaint.handler_assigned'") == 1


# --- deadlines ------------------------------------------------------------------------------------------------


async def test_due_and_overdue_lists_are_keyset_pages_by_due_date(client, world):
    now = datetime.now(UTC)
    old = [
        await create_complaint(client, world, received_at=iso(now - timedelta(days=days)), wants_feedback=False)
        for days in (40, 30, 20)
    ]
    fresh = await create_complaint(client, world, wants_feedback=False)
    resolved = await moved(client, world, old[0], {"to": "in_progress"})
    await moved(client, world, resolved, {"to": "resolved", "outcome": "nuisance_stopped"})

    async def listed(query: str, who: str = "complaints") -> list[str]:
        ids, cursor = [], None
        while True:
            response = await client.get(
                f"{URL}/deadlines?{query}&limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=world.h[who]
            )
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [item["id"] for item in page["items"]]
            assert all(item.get("reporter") is None for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    assert await listed("overdue=true") == [old[1]["id"], old[2]["id"]]  # the earliest due first; resolved left out
    assert await listed("overdue=false") == [fresh["id"]]
    assert await listed("deadline=resolution") == [old[1]["id"], old[2]["id"], fresh["id"]]
    # The acknowledgement deadline runs only while a complaint is received.
    assert await listed("deadline=acknowledgement&overdue=true") == [old[1]["id"], old[2]["id"]]
    due_by = calendar.add_working_days(today(), 30).isoformat()
    assert await listed(f"overdue=false&due_by={due_by}") == [fresh["id"]]
    assert await listed(f"due_by={today().isoformat()}") == [old[1]["id"], old[2]["id"]]
    response = await client.get(f"{URL}/deadlines?wijk=nergens", headers=world.h["complaints"])
    assert_problem(response, 422, "validation_failed")
    response = await client.get(f"{URL}/deadlines?cursor=bm9wZQ", headers=world.h["complaints"])
    assert_problem(response, 400, "invalid_cursor")


# --- several complaints about one object or address; hot spots --------------------------------------------------


async def test_complaints_about_the_same_object_or_address_are_shown_together(client, world):
    first = await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    second = await create_complaint(
        client, world, category="overlast_bezoekers_parkeren", address=None, object_id=world.ids["cafe"]
    )
    same_address = await create_complaint(
        client, world, address={"street": "Oudegracht", "house_number": 100, "postcode": "3511AX"}
    )
    await create_complaint(client, world, address={"street": "Oudegracht", "house_number": 102, "postcode": "3511AX"})
    sexwork = await create_complaint(
        client,
        world,
        category="illegale_prostitutie",
        address={"street": "Oudegracht", "house_number": 100, "postcode": "3511AX"},
    )
    shown = await read(client, world, first["id"], who="insp_a1")
    assert [c["id"] for c in shown["related"]] == [same_address["id"], second["id"]]  # the sex-work one is hidden
    assert [c["id"] for c in (await read(client, world, first["id"]))["related"]] == [
        sexwork["id"],
        same_address["id"],
        second["id"],
    ]
    by_object = await client.get(f"{URL}?object_id={world.ids['cafe']}", headers=world.h["insp_a1"])
    assert [item["id"] for item in by_object.json()["items"]] == [second["id"], first["id"]]
    by_address = await client.get(f"{URL}?postcode=3511 ax&house_number=100", headers=world.h["insp_a1"])
    assert [item["id"] for item in by_address.json()["items"]] == [same_address["id"], second["id"], first["id"]]


async def test_hot_spots_count_an_objects_complaints_of_the_last_90_days(client, world):
    now = datetime.now(UTC)
    for _ in range(3):
        await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    await create_complaint(
        client, world, address=None, object_id=world.ids["cafe"], received_at=iso(now - timedelta(days=91))
    )
    await create_complaint(client, world, address=None, object_id=world.ids["club"])
    response = await client.get(f"{URL}/hotspots", headers=world.h["coord_a"])
    assert response.status_code == 200, response.text
    spots = response.json()
    assert spots["days"] == 90
    assert [(s["object_id"], s["complaints"]) for s in spots["items"]] == [
        (world.ids["cafe"], 3),
        (world.ids["club"], 1),
    ]
    assert spots["items"][0]["name"] == "Café Het Hoekje" and spots["items"][0]["wijk"] == "binnenstad"
    # Users not scoped for sex work do not learn of the club's complaints.
    alcohol = await client.get(f"{URL}/hotspots", headers=world.h["coord_alcohol_a"])
    assert [s["object_id"] for s in alcohol.json()["items"]] == [world.ids["cafe"]]
    one = await client.get(f"{URL}/hotspots?object_id={world.ids['cafe']}&days=120", headers=world.h["complaints"])
    assert [s["complaints"] for s in one.json()["items"]] == [4]
    several = await client.get(f"{URL}/hotspots?min_count=2&wijk=binnenstad", headers=world.h["admin"])
    assert [s["object_id"] for s in several.json()["items"]] == [world.ids["cafe"]]
    assert_problem(await client.get(f"{URL}/hotspots", headers=world.h["insp_a1"]), 403, "forbidden")


async def test_object_suggestions_match_name_and_address_among_visible_objects(client, world):
    async def suggested(query: str, who: str = "complaints") -> list[str]:
        response = await client.get(f"{URL}/object-suggestions?{query}", headers=world.h[who])
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await suggested("q=hoekje") == [world.ids["cafe"]]
    # The café and the club share an address (the world's objects); a handler without sexwork sees the café only.
    both = [world.ids["cafe"], world.ids["club"]]
    assert await suggested("postcode=3511AX&house_number=100") == both
    assert await suggested("street=oudeg&house_number=100") == both
    assert await suggested("postcode=3511AX&house_number=100", who="handler_alcohol") == [world.ids["cafe"]]
    assert await suggested("q=club&postcode=3511") == [world.ids["club"]]
    assert await suggested("q=club", who="handler_alcohol") == []
    assert await suggested("postcode=3512") == []
    response = await client.get(f"{URL}/object-suggestions", headers=world.h["complaints"])
    assert_problem(response, 422, "validation_failed")
    assert_problem(await client.get(f"{URL}/object-suggestions?q=x", headers=world.h["insp_a1"]), 403, "forbidden")


async def test_a_complaint_says_which_transitions_it_allows_now(client, world):
    complaint = await create_complaint(client, world)
    shown = (await client.get(f"{URL}/{complaint['id']}", headers=world.h["complaints"])).json()
    assert shown["allowed_transitions"] == ["in_progress", "rejected"]  # inspection_planned: by planning one
    handled = await moved(client, world, shown, {"to": "in_progress"})
    assert handled["allowed_transitions"] == ["rejected", "resolved"]
    resolved = await moved(client, world, handled, {"to": "resolved", "outcome": "other", "answer": "Opgelost."})
    assert resolved["allowed_transitions"] == ["reopened"]
    for state, allowed in TRANSITIONS.items():
        assert set(allowed) - {"inspection_planned"} <= {"in_progress", "resolved", "reopened", "rejected"}, state
