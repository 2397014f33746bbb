"""Submitting inspections (PUT /api/v1/inspections/{id}) as a phone would: what is stored, violations and
the photo manifest, resends and concurrent duplicates, planned inspections closing their assignment, NIX18
controls with one form per purchase attempt, and the device clock (Date header, skew, far future)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import msgspec
import pytest

from backend.core.calendar import AMSTERDAM
from tests.helpers import assert_problem
from tests.inspection_helpers import (
    NIX18_NOT_SOLD,
    NIX18_SOLD_NO_ID,
    ONDERMIJNING_NOTHING,
    World,
    build_world,
    iso,
    plan,
    put,
    sha,
    stored_counts,
    submitted,
)


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


def canonical_sha(body: dict) -> str:
    """What the server hashes: the body with every field (defaults included), keys sorted, UTC as Z."""
    full = {
        "assignment_id": None,
        "object_id": None,
        "location_id": None,
        "team_id": None,
        "position": None,
        "partners": [],
        "observations": None,
        "photos": [],
        "base_revision": None,
        **body,
    }
    for name in ("started_at", "finished_at"):
        full[name] = full[name].replace("+00:00", "Z")
    return hashlib.sha256(msgspec.json.encode(full, order="sorted")).hexdigest()


# --- storing a submission -----------------------------------------------------------------------------------


async def test_unplanned_inspection_is_stored_with_revision_and_audit(client, db, world):
    inspection_id = str(uuid.uuid4())
    body = world.body()
    response = await put(client, world, body, inspection_id=inspection_id)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert response.headers["etag"] == '"1"'
    assert stored["id"] == inspection_id and stored["revision"] == 1 and stored["version"] == 1
    assert stored["state"] == "complete" and stored["expected_photos"] == [] and stored["violations"] == []
    assert stored["team_id"] == "team-a"  # the inspector's only team
    assert stored["wijk"] == "binnenstad" and stored["regimes"] == ["alcohol"]
    assert stored["object_id"] == world.ids["cafe"] and stored["location_id"] is None
    assert stored["assignment_id"] is None and stored["submitted_by"] == world.ids["insp_a1"]
    assert stored["checklists"] == [
        {
            "checklist_version_id": world.ids["alcohol-horeca"],
            "template_key": "alcohol-horeca",
            "regime": "alcohol",
            "answers": body["checklists"][0]["answers"],
        }
    ]
    assert stored["position"] == body["position"] and stored["partners"] == ["politie"]
    assert stored["observations"] == body["observations"]
    assert stored["clock_suspect"] is False and stored["clock_skew_seconds"] is None
    assert datetime.fromisoformat(stored["inspected_at"]) == datetime.fromisoformat(body["finished_at"])
    assert datetime.fromisoformat(stored["received_at"]) > datetime.fromisoformat(body["finished_at"])

    revision = await db.fetchrow("SELECT * FROM inspection_revision WHERE inspection_id = $1::uuid", inspection_id)
    assert revision["revision"] == 1 and revision["base_revision"] is None
    assert revision["body_sha256"] == canonical_sha(body)
    assert revision["body"]["checklists"] == body["checklists"]
    assert (
        await db.fetchval("SELECT count(*) FROM inspection_checklist WHERE inspection_id = $1::uuid", inspection_id)
        == 1
    )
    [event] = await db.fetch(
        "SELECT action, actor_id, after FROM audit_event WHERE object_type = 'inspection' AND object_id = $1",
        inspection_id,
    )
    assert event["action"] == "inspection.submitted" and str(event["actor_id"]) == world.ids["insp_a1"]
    assert event["after"] == {
        "revision": 1,
        "state": "complete",
        "body_sha256": canonical_sha(body),
        "violation_codes": [],
        "clock_suspect": False,
    }


async def test_violations_are_derived_with_evidence_and_photos_are_expected(client, db, world):
    body = world.violating_body()
    photo_id = body["photos"][0]["id"]
    stored = await submitted(client, world, body)
    assert stored["state"] == "submitted" and stored["expected_photos"] == [photo_id]
    assert stored["photos"] == [
        {
            "id": photo_id,
            "sha256": sha(photo_id),
            "size": 123_456,
            "checklist": 0,
            "question": "AW-06",
            "received": False,
        }
    ]
    violations = {v["code"]: v for v in stored["violations"]}
    assert set(violations) == {"AW-24-1-NO-MANAGER-PRESENT", "AW-20-4-NO-AGE-NOTICE"}
    notice = violations["AW-20-4-NO-AGE-NOTICE"]
    assert notice["article"] == {"law": "Alcoholwet", "article": "20", "lid": "4"}
    assert notice["severity"] == "minor" and notice["question"] == "AW-06" and notice["checklist"] == 0
    assert notice["evidence_photo_ids"] == [photo_id]
    assert violations["AW-24-1-NO-MANAGER-PRESENT"]["evidence_photo_ids"] == []
    expected_day = datetime.fromisoformat(body["finished_at"]).astimezone(AMSTERDAM).date().isoformat()
    assert all(v["observed_on"] == expected_day and v["object_id"] == world.ids["cafe"] for v in violations.values())
    rows = await db.fetch(
        "SELECT code, establishment_id, revision FROM violation WHERE inspection_id = $1::uuid", stored["id"]
    )
    assert sorted(r["code"] for r in rows) == sorted(violations)
    assert {(str(r["establishment_id"]), r["revision"]) for r in rows} == {(world.ids["cafe"], 1)}
    event = await db.fetchrow("SELECT after FROM audit_event WHERE object_id = $1", stored["id"])
    assert event["after"]["violation_codes"] == sorted(violations) and event["after"]["state"] == "submitted"
    assert "answers" not in str(event["after"]) and "Rustig" not in str(event["after"])


async def test_a_location_is_inspected_like_an_object(client, world):
    location = await client.post(
        "/api/v1/locations",
        headers=world.h["insp_a1"],
        json={
            "street": "Kanaalstraat",
            "house_number": 12,
            "postcode": "3531 CK",
            "wijk": "west",
            "regimes": ["alcohol"],
        },
    )
    assert location.status_code == 201, location.text
    stored = await submitted(client, world, world.body(object_id=None, location_id=location.json()["id"]))
    assert stored["location_id"] == location.json()["id"] and stored["object_id"] is None and stored["wijk"] == "west"


# --- idempotency -------------------------------------------------------------------------------------------------


async def test_the_same_body_again_gets_the_same_answer_and_stores_nothing(client, db, world):
    inspection_id = str(uuid.uuid4())
    body = world.violating_body()
    first = await put(client, world, body, inspection_id=inspection_id)
    before = await stored_counts(db)
    # The same content with its keys in another order and a later Date header is the same submission.
    reordered = dict(reversed(list(body.items())))
    later = {"Date": format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)}
    again = await put(client, world, reordered, inspection_id=inspection_id, headers=later)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert await stored_counts(db) == before


async def test_a_resend_that_no_longer_passes_the_checks_still_gets_its_stored_answer(client, db, world):
    # The phone lost the answer; before it sends again, the colleague it listed left the service.
    inspection_id = str(uuid.uuid4())
    body = world.body(inspector_ids=[world.ids["insp_a1"], world.ids["insp_a2"]])
    first = await put(client, world, body, inspection_id=inspection_id)
    assert first.status_code == 200, first.text
    colleague = await client.get(f"/api/v1/users/{world.ids['insp_a2']}", headers=world.h["admin"])
    deactivated = await client.post(
        f"/api/v1/users/{world.ids['insp_a2']}/deactivate",
        json={"reason": "uit dienst"},
        headers={**world.h["admin"], "If-Match": colleague.headers["etag"]},
    )
    assert deactivated.status_code == 200, deactivated.text
    before = await stored_counts(db)
    again = await put(client, world, body, inspection_id=inspection_id)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert await stored_counts(db) == before
    # A new inspection with that colleague is refused, and so is another body under the stored id.
    problem = assert_problem(await put(client, world, body), 422, "validation_failed")
    assert problem["errors"] == [{"detail": "this user is deactivated", "pointer": "/inspector_ids/1"}]
    assert_problem(
        await put(client, world, {**body, "observations": "Anders."}, inspection_id=inspection_id),
        409,
        "inspection_conflict",
    )
    assert await stored_counts(db) == before


async def test_another_body_for_the_same_id_is_a_conflict(client, db, world):
    inspection_id = str(uuid.uuid4())
    await put(client, world, world.body(), inspection_id=inspection_id)
    before = await stored_counts(db)
    response = await put(client, world, world.body(observations="Toch iets anders."), inspection_id=inspection_id)
    assert_problem(response, 409, "inspection_conflict")
    assert await stored_counts(db) == before
    # Someone else's id is taken too, without saying by what (they cannot see it).
    other = await put(client, world, world.body("insp_b"), "insp_b", inspection_id=inspection_id)
    body = assert_problem(other, 409, "inspection_conflict")
    assert "observations" not in body["detail"]
    assert await stored_counts(db) == before


async def test_concurrent_duplicates_create_exactly_one_inspection(client, db, world):
    inspection_id = str(uuid.uuid4())
    body = world.violating_body()
    responses = await asyncio.gather(*[put(client, world, body, inspection_id=inspection_id) for _ in range(8)])
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    counts = await stored_counts(db)
    assert counts == {
        "inspection": 1,
        "inspection_revision": 1,
        "inspection_checklist": 1,
        "violation": 2,
        "inspection_photo": 1,
        "audit": 1,
    }


# --- planned inspections -------------------------------------------------------------------------------------------


async def test_a_planned_inspection_closes_its_assignment(client, db, world):
    assignment = await plan(client, world)
    stored = await submitted(
        client,
        world,
        world.body(assignment_id=assignment["id"], inspector_ids=[world.ids["insp_a1"], world.ids["insp_a2"]]),
    )
    assert stored["assignment_id"] == assignment["id"] and stored["team_id"] == "team-a"
    read = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=world.h["coord_a"])
    assert read.json()["status"] == "done" and read.json()["version"] == assignment["version"] + 1
    event = await db.fetchrow(
        "SELECT after FROM audit_event WHERE action = 'assignment.done' AND object_id = $1", assignment["id"]
    )
    assert event["after"] == {"status": "done", "inspection_id": stored["id"]}


async def test_an_inspection_of_a_cancelled_assignment_is_still_accepted(client, world):
    assignment = await plan(client, world)
    cancel = await client.post(
        f"/api/v1/assignments/{assignment['id']}/cancel",
        headers={**world.h["coord_a"], "If-Match": '"1"'},
        json={"reason": "Zaak gesloten"},
    )
    assert cancel.status_code == 200, cancel.text
    stored = await submitted(client, world, world.body(assignment_id=assignment["id"]))
    assert stored["assignment_id"] == assignment["id"]
    read = await client.get(f"/api/v1/assignments/{assignment['id']}", headers=world.h["coord_a"])
    assert read.json()["status"] == "cancelled" and read.json()["version"] == 2


async def test_a_planned_inspection_must_match_its_assignment(client, db, world):
    assignment = await plan(client, world)
    response = await put(
        client,
        world,
        world.body(assignment_id=assignment["id"], object_id=world.ids["club"], team_id="team-b"),
        "insp_sw",
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["pointer"] for e in body["errors"]} >= {"/object_id", "/team_id"}
    # Seeing an assignment (an enforcement officer sees all) is not enough: it is another team's work.
    other = await put(client, world, world.body("insp_enforcer_b", assignment_id=assignment["id"]), "insp_enforcer_b")
    assert_problem(other, 403, "not_your_assignment")
    # One that may not see it gets the same answer as for a missing assignment.
    hidden = await put(client, world, world.body("insp_b", assignment_id=assignment["id"]), "insp_b")
    errors = assert_problem(hidden, 422, "validation_failed")["errors"]
    assert {"detail": "no such assignment", "pointer": "/assignment_id"} in errors
    assert (await stored_counts(db))["inspection"] == 0


async def test_unplanned_team_must_be_given_by_members_of_several_teams(client, db, world):
    missing = await put(client, world, world.body("insp_two_teams"), "insp_two_teams")
    assert [e["pointer"] for e in assert_problem(missing, 422, "validation_failed")["errors"]] == ["/team_id"]
    not_theirs = await put(client, world, world.body(team_id="team-b"))
    assert [e["pointer"] for e in assert_problem(not_theirs, 422, "validation_failed")["errors"]] == ["/team_id"]
    assert (await stored_counts(db))["inspection"] == 0
    stored = await submitted(client, world, world.body("insp_two_teams", team_id="team-b"), "insp_two_teams")
    assert stored["team_id"] == "team-b"


# --- NIX18: one form per purchase attempt ---------------------------------------------------------------------------


async def test_a_nix18_control_records_one_entry_per_purchase_attempt(client, db, world):
    photo_id = str(uuid.uuid4())
    body = world.body(
        checklists=[
            {"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": NIX18_NOT_SOLD},
            {"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": NIX18_SOLD_NO_ID},
            {"checklist_version_id": world.ids["ondermijning-signals"], "answers": ONDERMIJNING_NOTHING},
        ],
        photos=[{"id": photo_id, "sha256": sha("bon"), "size": 2048, "checklist": 1, "question": "NX-04"}],
    )
    stored = await submitted(client, world, body)
    assert stored["regimes"] == ["nix18"]  # the add-on's "any" is no regime
    assert [c["template_key"] for c in stored["checklists"]] == [
        "nix18-purchase-attempt",
        "nix18-purchase-attempt",
        "ondermijning-signals",
    ]
    [violation] = stored["violations"]
    assert violation["code"] == "AW-20-1-AGE-NOT-ESTABLISHED" and violation["checklist"] == 1
    assert violation["evidence_photo_ids"] == [photo_id]
    rows = await db.fetch(
        "SELECT position, answers->>'NX-04' AS sold FROM inspection_checklist "
        "WHERE inspection_id = $1::uuid AND template_key = 'nix18-purchase-attempt' ORDER BY position",
        stored["id"],
    )
    assert [(r["position"], r["sold"]) for r in rows] == [(0, "no"), (1, "yes")]


async def test_other_checklists_are_filled_in_once_and_an_addon_needs_an_inspection(client, db, world):
    twice = world.body(checklists=world.body()["checklists"] * 2)
    errors = assert_problem(await put(client, world, twice), 422, "validation_failed")["errors"]
    assert [e["pointer"] for e in errors] == ["/checklists/1/checklist_version_id"]
    addon_only = world.body(
        checklists=[{"checklist_version_id": world.ids["ondermijning-signals"], "answers": ONDERMIJNING_NOTHING}]
    )
    errors = assert_problem(await put(client, world, addon_only), 422, "validation_failed")["errors"]
    assert "/checklists" in [e["pointer"] for e in errors]
    assert (await stored_counts(db))["inspection"] == 0


async def test_checklists_must_be_of_the_targets_regimes(client, db, world):
    location = await client.post(
        "/api/v1/locations",
        headers=world.h["insp_a1"],
        json={
            "street": "Kanaalstraat",
            "house_number": 12,
            "postcode": "3531 CK",
            "wijk": "west",
            "regimes": ["alcohol"],
        },
    )
    nix18 = [{"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": NIX18_NOT_SOLD}]
    response = await put(client, world, world.body(object_id=None, location_id=location.json()["id"], checklists=nix18))
    errors = assert_problem(response, 422, "validation_failed")["errors"]
    assert [e["pointer"] for e in errors] == ["/checklists/0/checklist_version_id"]
    assert (await stored_counts(db))["inspection"] == 0


# --- the device clock ---------------------------------------------------------------------------------------------


def date_header(moment: datetime) -> dict[str, str]:
    return {"Date": format_datetime(moment.astimezone(UTC), usegmt=True)}


async def test_a_phone_clock_days_off_is_flagged_and_corrected_by_its_skew(client, world):
    skew = timedelta(days=3)
    phone_now = datetime.now(UTC) + skew
    body = world.body(started_at=iso(phone_now - timedelta(hours=1)), finished_at=iso(phone_now - timedelta(minutes=5)))
    response = await put(client, world, body, headers=date_header(phone_now))
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["clock_suspect"] is True
    assert abs(stored["clock_skew_seconds"] - skew.total_seconds()) <= 2
    corrected = datetime.fromisoformat(body["finished_at"]) - timedelta(seconds=stored["clock_skew_seconds"])
    assert datetime.fromisoformat(stored["inspected_at"]) == corrected
    assert datetime.fromisoformat(stored["started_at"]) == datetime.fromisoformat(body["started_at"])  # kept as sent


async def test_a_reset_clock_without_date_header_is_not_trusted_for_deadlines(client, world):
    body = world.body(started_at="1970-01-01T00:10:00+00:00", finished_at="1970-01-01T00:50:00+00:00")
    stored = await submitted(client, world, body)
    assert stored["clock_suspect"] is True and stored["clock_skew_seconds"] is None
    assert stored["inspected_at"] == stored["received_at"]
    assert stored["finished_at"].startswith("1970-01-01")


async def test_a_correct_clock_with_date_header_is_trusted(client, world):
    body = world.body()
    stored = (await put(client, world, body, headers=date_header(datetime.now(UTC)))).json()
    assert stored["clock_suspect"] is False and abs(stored["clock_skew_seconds"]) <= 2
    assert abs(
        datetime.fromisoformat(stored["inspected_at"]) - datetime.fromisoformat(body["finished_at"])
    ) <= timedelta(seconds=2)


async def test_device_times_in_the_far_future_are_refused(client, db, world):
    body = world.body(started_at="2099-06-01T10:00:00+02:00", finished_at="2099-06-01T10:40:00+02:00")
    errors = assert_problem(await put(client, world, body), 422, "validation_failed")["errors"]
    assert [(e["pointer"], e["detail"]) for e in errors] == [
        ("/started_at", "in the far future: check the phone's date and time"),
        ("/finished_at", "in the far future: check the phone's date and time"),
    ]
    assert await stored_counts(db) == dict.fromkeys(await stored_counts(db), 0)
    # The same times from a phone whose clock says 2099 too: its skew is known, so the visit is placed now.
    phone_now = datetime(2099, 6, 1, 10, 45, tzinfo=UTC)
    accepted = await put(client, world, body, headers=date_header(phone_now))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["clock_suspect"] is True
    assert datetime.fromisoformat(accepted.json()["inspected_at"]) < datetime.now(UTC)


async def test_finish_before_start_or_a_day_later_is_refused(client, db, world):
    now = datetime.now(UTC)
    backwards = world.body(started_at=iso(now - timedelta(hours=1)), finished_at=iso(now - timedelta(hours=2)))
    too_long = world.body(started_at=iso(now - timedelta(hours=30)), finished_at=iso(now - timedelta(hours=1)))
    for body in (backwards, too_long):
        errors = assert_problem(await put(client, world, body), 422, "validation_failed")["errors"]
        assert [e["pointer"] for e in errors] == ["/finished_at"]
    assert (await stored_counts(db))["inspection"] == 0
