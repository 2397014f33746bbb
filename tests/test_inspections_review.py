"""After submission: coordinators review or return an inspection (If-Match, Idempotency-Key, vier-ogen),
inspectors correct a returned one (a new revision on `base_revision`; stale bases, resends), violations
are withdrawn or added by corrections, every revision is kept, and photos arriving complete an inspection."""

from __future__ import annotations

import uuid

import pytest

from backend.core.errors import NotFound, Unprocessable
from backend.inspections import service
from tests.helpers import assert_problem
from tests.inspection_helpers import (
    HORECA_OK,
    URL,
    World,
    build_world,
    if_match,
    plan,
    put,
    return_it,
    sha,
    stored_counts,
    submitted,
)


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


async def events(db, inspection_id: str) -> list[tuple[str, str | None]]:
    rows = await db.fetch(
        "SELECT action, reason FROM audit_event WHERE object_type = 'inspection' AND object_id = $1 ORDER BY seq",
        inspection_id,
    )
    return [(row["action"], row["reason"]) for row in rows]


# --- review ------------------------------------------------------------------------------------------------------


async def test_a_coordinator_of_the_team_reviews_a_complete_inspection(client, db, world):
    stored = await submitted(client, world)
    response = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_a", 1))
    assert response.status_code == 200, response.text
    reviewed = response.json()
    assert reviewed["state"] == "reviewed" and reviewed["reviewed_by"] == world.ids["coord_a"]
    assert reviewed["version"] == 2 and response.headers["etag"] == '"2"' and reviewed["reviewed_at"]
    assert await events(db, stored["id"]) == [("inspection.submitted", None), ("inspection.reviewed", None)]
    # Reviewed is final: no second review, no return.
    again = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_a", 2))
    assert_problem(again, 409, "not_reviewable")
    back = await client.post(
        f"{URL}/{stored['id']}/return", json={"reason": "toch niet"}, headers=if_match(world, "coord_a", 2)
    )
    assert_problem(back, 409, "not_returnable")


async def test_review_needs_a_current_if_match(client, db, world):
    stored = await submitted(client, world)
    assert_problem(
        await client.post(f"{URL}/{stored['id']}/review", headers=world.h["coord_a"]), 428, "precondition_required"
    )
    assert_problem(
        await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_a", 7)), 412, "stale_version"
    )
    assert (await db.fetchval("SELECT state FROM inspection WHERE id = $1::uuid", stored["id"])) == "complete"


async def test_review_with_an_idempotency_key_happens_once(client, db, world):
    stored = await submitted(client, world)
    headers = if_match(world, "coord_a", 1, **{"Idempotency-Key": "review-1"})
    first = await client.post(f"{URL}/{stored['id']}/review", headers=headers)
    again = await client.post(f"{URL}/{stored['id']}/review", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [a for a, _ in await events(db, stored["id"])].count("inspection.reviewed") == 1


async def test_only_coordinators_of_the_team_review(client, db, world):
    stored = await submitted(client, world)
    # Another team's coordinator does not even see it; one who sees it (also an enforcement officer) may not review.
    other_team = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_b", 1))
    assert_problem(other_team, 404, "not_found")
    seeing = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_enforcer_b", 1))
    assert_problem(seeing, 403, "not_your_team")
    inspector = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "insp_a2", 1))
    assert_problem(inspector, 403, "forbidden")
    assert (await db.fetchval("SELECT state FROM inspection WHERE id = $1::uuid", stored["id"])) == "complete"


async def test_vier_ogen_a_coordinator_present_does_not_review(client, db, world):
    body = world.body(inspector_ids=[world.ids["insp_a1"], world.ids["coord_insp_a"]])
    stored = await submitted(client, world, body)
    response = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_insp_a", 1))
    assert_problem(response, 403, "four_eyes")
    own = await submitted(client, world, world.body("coord_insp_a"), "coord_insp_a")
    assert_problem(
        await client.post(f"{URL}/{own['id']}/review", headers=if_match(world, "coord_insp_a", 1)), 403, "four_eyes"
    )
    assert await db.fetchval("SELECT count(*) FROM inspection WHERE state = 'reviewed'") == 0


async def test_an_inspection_waiting_for_photos_is_not_reviewed(client, db, world):
    stored = await submitted(client, world, world.violating_body())
    response = await client.post(f"{URL}/{stored['id']}/review", headers=if_match(world, "coord_a", 1))
    body = assert_problem(response, 409, "not_reviewable")
    assert "1 photo" in body["detail"]
    assert (await db.fetchval("SELECT state FROM inspection WHERE id = $1::uuid", stored["id"])) == "submitted"


# --- return and correction ----------------------------------------------------------------------------------------


async def test_return_then_correct_then_review(client, db, world):
    inspection_id = str(uuid.uuid4())
    original = world.violating_body()
    first = (await put(client, world, original, inspection_id=inspection_id)).json()
    returned = await return_it(client, world, first)
    assert returned["state"] == "returned" and returned["return_reason"] == "AW-06: foto onscherp"
    assert returned["version"] == 2

    # The inspector corrects: AW-03 was answered wrongly (the manager was there), the photo stays.
    corrected_answers = {**HORECA_OK, "AW-06": "no"}
    correction = {
        **original,
        "checklists": [{"checklist_version_id": world.ids["alcohol-horeca"], "answers": corrected_answers}],
        "base_revision": 1,
    }
    response = await put(client, world, correction, inspection_id=inspection_id)
    assert response.status_code == 200, response.text
    corrected = response.json()
    assert corrected["revision"] == 2 and corrected["state"] == "corrected" and corrected["version"] == 3
    assert [v["code"] for v in corrected["violations"]] == ["AW-20-4-NO-AGE-NOTICE"]
    assert corrected["return_reason"] == "AW-06: foto onscherp"  # still shows what was asked

    rows = await db.fetch(
        "SELECT code, revision, withdrawn_at IS NOT NULL AS withdrawn FROM violation "
        "WHERE inspection_id = $1::uuid ORDER BY code",
        inspection_id,
    )
    assert [(r["code"], r["revision"], r["withdrawn"]) for r in rows] == [
        ("AW-20-4-NO-AGE-NOTICE", 1, False),
        ("AW-24-1-NO-MANAGER-PRESENT", 1, True),
    ]
    revisions = (await client.get(f"{URL}/{inspection_id}/revisions", headers=world.h["coord_a"])).json()["items"]
    assert [(r["revision"], r["base_revision"]) for r in revisions] == [(1, None), (2, 1)]
    assert revisions[0]["body"]["checklists"][0]["answers"]["AW-03"] == "no"
    assert revisions[1]["body"]["checklists"][0]["answers"]["AW-03"] == "yes"
    assert revisions[1]["submitted_by"] == world.ids["insp_a1"]

    # Resending either revision answers the current inspection and stores nothing.
    before = await stored_counts(db)
    for body in (correction, original):
        resend = await put(client, world, body, inspection_id=inspection_id)
        assert resend.status_code == 200 and resend.json() == corrected
    assert await stored_counts(db) == before

    # The photo arrives; then the coordinator accepts the corrected inspection.
    await _receive(db, original["photos"][0])
    current = (await client.get(f"{URL}/{inspection_id}", headers=world.h["coord_a"])).json()
    assert current["expected_photos"] == [] and current["state"] == "corrected"
    review = await client.post(f"{URL}/{inspection_id}/review", headers=if_match(world, "coord_a", current["version"]))
    assert review.status_code == 200 and review.json()["state"] == "reviewed"
    assert await events(db, inspection_id) == [
        ("inspection.submitted", None),
        ("inspection.returned", "AW-06: foto onscherp"),
        ("inspection.corrected", None),
        ("inspection.photo_received", None),
        ("inspection.reviewed", None),
    ]


async def _receive(db, photo: dict) -> None:
    async with db.transaction():
        await service.photo_received(db, uuid.UUID(photo["id"]), photo["sha256"], photo["size"])


async def test_a_correction_on_a_stale_revision_names_the_current_one(client, db, world):
    inspection_id = str(uuid.uuid4())
    original = world.body()
    first = (await put(client, world, original, inspection_id=inspection_id)).json()
    await return_it(client, world, first)
    second = {**original, "observations": "Aangevuld.", "base_revision": 1}
    corrected = (await put(client, world, second, inspection_id=inspection_id)).json()
    await return_it(client, world, corrected, reason="Nog niet goed")
    before = await stored_counts(db)
    stale = await put(
        client, world, {**original, "observations": "Andere tekst.", "base_revision": 1}, inspection_id=inspection_id
    )
    body = assert_problem(stale, 409, "stale_revision")
    assert body["current_revision"] == 2
    assert await stored_counts(db) == before
    # On the current revision it is accepted.
    third = await put(
        client, world, {**original, "observations": "Andere tekst.", "base_revision": 2}, inspection_id=inspection_id
    )
    assert third.status_code == 200 and third.json()["revision"] == 3


async def test_a_correction_needs_a_returned_inspection(client, db, world):
    inspection_id = str(uuid.uuid4())
    await put(client, world, world.body(), inspection_id=inspection_id)
    before = await stored_counts(db)
    response = await put(
        client, world, world.body(observations="Anders.", base_revision=1), inspection_id=inspection_id
    )
    assert "returned" in assert_problem(response, 409, "inspection_conflict")["detail"]
    never_stored = await put(client, world, world.body(base_revision=1))
    errors = assert_problem(never_stored, 422, "validation_failed")["errors"]
    assert [e["pointer"] for e in errors] == ["/base_revision"]
    assert await stored_counts(db) == before


async def test_only_the_submitter_or_an_inspector_present_corrects(client, db, world):
    assignment = await plan(client, world)
    inspection_id = str(uuid.uuid4())
    original = world.body(assignment_id=assignment["id"])
    first = (await put(client, world, original, inspection_id=inspection_id)).json()
    await return_it(client, world, first)
    before = await stored_counts(db)
    # insp_a2 sees the team's planned inspection, but was not there.
    correction = {
        **original,
        "inspector_ids": [world.ids["insp_a2"]],
        "observations": "Ik wist het beter.",
        "base_revision": 1,
    }
    response = await put(client, world, correction, "insp_a2", inspection_id=inspection_id)
    assert_problem(response, 403, "not_your_inspection")
    assert await stored_counts(db) == before


async def test_a_correction_keeps_photos_already_received(client, db, world):
    inspection_id = str(uuid.uuid4())
    original = world.violating_body()
    first = (await put(client, world, original, inspection_id=inspection_id)).json()
    await _receive(db, original["photos"][0])
    await return_it(client, world, {**first, "version": 2})
    before = await stored_counts(db)
    without_photo = {
        **original,
        "checklists": [{"checklist_version_id": world.ids["alcohol-horeca"], "answers": HORECA_OK}],
        "photos": [],
        "base_revision": 1,
    }
    response = await put(client, world, without_photo, inspection_id=inspection_id)
    errors = assert_problem(response, 422, "validation_failed")["errors"]
    assert [e["pointer"] for e in errors] == ["/photos"]
    other_hash = {**original, "photos": [{**original["photos"][0], "sha256": sha("other")}], "base_revision": 1}
    errors = assert_problem(
        await put(client, world, other_hash, inspection_id=inspection_id), 422, "validation_failed"
    )["errors"]
    assert [e["pointer"] for e in errors] == ["/photos/0/sha256"]
    assert await stored_counts(db) == before


async def test_return_needs_a_reason_and_if_match(client, db, world):
    stored = await submitted(client, world)
    url = f"{URL}/{stored['id']}/return"
    assert_problem(
        await client.post(url, json={"reason": "ok ok"}, headers=world.h["coord_a"]), 428, "precondition_required"
    )
    errors = assert_problem(
        await client.post(url, json={"reason": "  "}, headers=if_match(world, "coord_a", 1)), 422, "validation_failed"
    )["errors"]
    assert errors[0]["pointer"] == "/reason"
    assert_problem(
        await client.post(url, json={"reason": "Onvolledig"}, headers=if_match(world, "coord_enforcer_b", 1)),
        403,
        "not_your_team",
    )
    assert (await db.fetchval("SELECT state FROM inspection WHERE id = $1::uuid", stored["id"])) == "complete"


# --- photos arriving --------------------------------------------------------------------------------------------


async def test_the_last_photo_to_arrive_completes_the_inspection(client, db, world):
    ids = [str(uuid.uuid4()) for _ in range(2)]
    body = world.violating_body(
        photos=[
            {"id": ids[0], "sha256": sha("a"), "size": 10, "checklist": 0, "question": "AW-06"},
            {"id": ids[1], "sha256": sha("b"), "size": 20, "checklist": 0},
        ]
    )
    stored = await submitted(client, world, body)
    assert stored["state"] == "submitted" and stored["expected_photos"] == ids
    async with db.transaction():
        with pytest.raises(Unprocessable):
            await service.photo_received(db, uuid.UUID(ids[0]), sha("wrong"), 10)
    with pytest.raises(NotFound):
        async with db.transaction():
            await service.photo_received(db, uuid.uuid4(), sha("a"), 10)
    await _receive(db, body["photos"][0])
    after_one = (await client.get(f"{URL}/{stored['id']}", headers=world.h["insp_a1"])).json()
    assert after_one["state"] == "submitted" and after_one["expected_photos"] == [ids[1]]
    assert after_one["version"] == 2  # every arriving photo is a new version (ETag) of the inspection
    await _receive(db, body["photos"][1])
    await _receive(db, body["photos"][1])  # again: nothing changes
    done = (await client.get(f"{URL}/{stored['id']}", headers=world.h["insp_a1"])).json()
    assert done["state"] == "complete" and done["expected_photos"] == [] and done["version"] == 3
    assert [p["received"] for p in done["photos"]] == [True, True]


async def test_the_review_worklist_shows_what_a_coordinator_may_review_with_its_object_and_inspectors(client, world):
    ready = await submitted(client, world)
    present = await submitted(
        client, world, world.body(inspector_ids=[world.ids["insp_a1"], world.ids["coord_insp_a"]])
    )
    waiting = await submitted(client, world, world.violating_body())  # a photo still expected: not ready
    reviewed = await submitted(client, world)
    assert (
        await client.post(f"{URL}/{reviewed['id']}/review", headers=if_match(world, "coord_a", 1))
    ).status_code == 200

    def listed(who: str):
        return client.get(URL, params={"awaiting_my_review": "true"}, headers=world.h[who])

    page = (await listed("coord_a")).json()
    assert {item["id"] for item in page["items"]} == {ready["id"], present["id"]}
    row = next(item for item in page["items"] if item["id"] == present["id"])
    assert row["object_name"] and row["street"] and row["house_number"] and row["postcode"]
    assert len(row["inspector_names"]) == 2
    assert (row["object_name"], row["street"], row["house_number"], row["house_number_addition"]) == (
        "Café Het Hoekje",
        "Oudegracht",
        100,
        None,
    )
    assert row["inspector_names"] == ["coord_insp_a", "insp_a1"]  # by name (their subjects: they have none)
    # The coordinator who was there does not get it to review (vier-ogenprincipe).
    assert [item["id"] for item in (await listed("coord_insp_a")).json()["items"]] == [ready["id"]]
    everything = {item["id"] for item in (await client.get(URL, headers=world.h["coord_a"])).json()["items"]}
    assert {ready["id"], present["id"], waiting["id"], reviewed["id"]} <= everything
