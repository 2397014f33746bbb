"""Bad submissions get a clear error naming the field (JSON pointer) and store nothing: no inspection,
revision, checklist, violation, photo or audit row."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem
from tests.inspection_helpers import (
    HORECA_OK,
    ONDERMIJNING_NOTHING,
    SEXWORK_OK,
    URL,
    World,
    build_world,
    put,
    stored_counts,
    submitted,
)

NOTHING = {
    "inspection": 0,
    "inspection_revision": 0,
    "inspection_checklist": 0,
    "violation": 0,
    "inspection_photo": 0,
    "audit": 0,
}


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


def horeca(world: World, answers: dict) -> list[dict]:
    return [{"checklist_version_id": world.ids["alcohol-horeca"], "answers": answers}]


async def refused(client, db, world: World, body: dict, who: str = "insp_a1") -> list[tuple[str, str]]:
    """PUT the body; it must be a 422 that stored nothing. Returns (pointer, detail) of each error."""
    response = await put(client, world, body, who)
    problem = assert_problem(response, 422, "validation_failed")
    assert await stored_counts(db) == NOTHING
    return [(error.get("pointer"), error["detail"]) for error in problem["errors"]]


async def test_unknown_checklist_version(client, db, world):
    body = world.body(checklists=[{"checklist_version_id": str(uuid.uuid4()), "answers": HORECA_OK}])
    assert await refused(client, db, world, body) == [
        ("/checklists/0/checklist_version_id", "no such checklist version")
    ]


async def test_checklist_version_of_a_regime_the_inspector_does_not_have_is_unknown(client, db, world):
    body = world.body(
        checklists=[*horeca(world, HORECA_OK), {"checklist_version_id": world.ids["coffeeshop"], "answers": {}}]
    )
    assert await refused(client, db, world, body) == [
        ("/checklists/1/checklist_version_id", "no such checklist version")
    ]


async def test_answer_of_the_wrong_type(client, db, world):
    body = world.body(checklists=horeca(world, {**HORECA_OK, "AW-16": True}))
    assert await refused(client, db, world, body) == [("/checklists/0/answers/AW-16", "must be one of: yes, no")]


async def test_missing_required_answer(client, db, world):
    answers = {key: value for key, value in HORECA_OK.items() if key != "AW-16"}
    assert await refused(client, db, world, world.body(checklists=horeca(world, answers))) == [
        ("/checklists/0/answers/AW-16", "is required")
    ]


async def test_answer_to_a_hidden_question(client, db, world):
    body = world.body(checklists=horeca(world, {**HORECA_OK, "AW-07": "yes"}))  # AW-07a 'no' hides AW-07
    assert await refused(client, db, world, body) == [
        ("/checklists/0/answers/AW-07", "answers a question that is not shown for these answers")
    ]


async def test_every_problem_of_every_checklist_in_one_answer(client, db, world):
    first = {key: value for key, value in HORECA_OK.items() if key != "AW-09"} | {"AW-16": 3, "XX-1": "yes"}
    addon = {**ONDERMIJNING_NOTHING, "OM-01": "misschien"}
    body = world.body(
        checklists=[
            *horeca(world, first),
            {"checklist_version_id": world.ids["ondermijning-signals"], "answers": addon},
        ]
    )
    assert {pointer for pointer, _ in await refused(client, db, world, body)} == {
        "/checklists/0/answers/AW-09",
        "/checklists/0/answers/AW-16",
        "/checklists/0/answers/XX-1",
        "/checklists/1/answers/OM-01",
    }


async def test_photo_manifest_with_a_malformed_hash(client, db, world):
    body = world.violating_body()
    body["photos"][0]["sha256"] = "ABC123"
    [(pointer, _)] = await refused(client, db, world, body)
    assert pointer == "/photos/0/sha256"


async def test_photo_manifest_with_a_duplicate_photo_id(client, db, world):
    body = world.violating_body()
    body["photos"].append({**body["photos"][0], "question": None})
    assert await refused(client, db, world, body) == [("/photos/1/id", "this photo id is listed twice")]


async def test_photo_for_an_unknown_question_or_checklist_and_a_missing_photo(client, db, world):
    body = world.violating_body()
    photo = body["photos"][0]
    body["photos"] = [{**photo, "question": "AW-77"}, {**photo, "id": str(uuid.uuid4()), "checklist": 3}]
    assert sorted(pointer for pointer, _ in await refused(client, db, world, body)) == [
        "/photos",
        "/photos/0/question",
        "/photos/1/checklist",
    ]  # /photos: AW-06 has no photo now


async def test_photo_answer_must_list_photos_of_the_manifest(client, db, world):
    signals = {**ONDERMIJNING_NOTHING, "OM-04": "yes", "OM-04a": ["drugs"], "OM-04b": [str(uuid.uuid4())]}
    body = world.body(
        checklists=[
            *horeca(world, HORECA_OK),
            {"checklist_version_id": world.ids["ondermijning-signals"], "answers": signals},
        ]
    )
    assert [pointer for pointer, _ in await refused(client, db, world, body)] == ["/checklists/1/answers/OM-04b"]


async def test_object_the_inspector_may_not_see_is_like_a_missing_one(client, db, world):
    hidden = await refused(client, db, world, world.body(object_id=world.ids["club"]))  # sex work, not in scope
    missing = await refused(client, db, world, world.body(object_id=str(uuid.uuid4())))
    assert hidden == missing == [("/object_id", "no such object")]


async def test_exactly_one_target(client, db, world):
    neither = await refused(client, db, world, world.body(object_id=None))
    both = await refused(client, db, world, world.body(location_id=str(uuid.uuid4())))
    assert neither == both == [("/object_id", "give exactly one of object_id and location_id")]


async def test_timestamps_in_the_far_future(client, db, world):
    body = world.body(started_at="2099-01-01T10:00:00+01:00", finished_at="2099-01-01T11:00:00+01:00")
    assert [pointer for pointer, _ in await refused(client, db, world, body)] == ["/started_at", "/finished_at"]


async def test_timestamps_without_an_offset(client, db, world):
    body = world.body(started_at="2025-01-01T10:00:00")
    [(pointer, detail)] = await refused(client, db, world, body)
    assert pointer == "/started_at" and "timezone" in detail


async def test_inspectors_present_must_include_the_caller_and_be_inspectors(client, db, world):
    body = world.body(
        inspector_ids=[world.ids["insp_a2"], world.ids["coord_a"], str(uuid.uuid4()), world.ids["insp_a2"]]
    )
    assert await refused(client, db, world, body) == [
        ("/inspector_ids", "an inspector is listed twice"),
        ("/inspector_ids", "list yourself among the inspectors present"),
        ("/inspector_ids/1", "this user is not an inspector"),
        ("/inspector_ids/2", "no such user"),
    ]


async def test_unknown_fields_and_nul_characters(client, db, world):
    assert [p for p, _ in await refused(client, db, world, world.body(remarks="x"))] == ["/remarks"]
    assert [p for p, _ in await refused(client, db, world, world.body(observations="a\x00b"))] == ["/observations"]
    assert [p for p, _ in await refused(client, db, world, world.body(partners=["politie", "politie"]))] == [
        "/partners"
    ]


async def test_a_body_over_the_size_limit(client, db, world):
    body = world.body(checklists=horeca(world, {**HORECA_OK, "AW-99": "x" * 1_100_000}))
    problem = assert_problem(await put(client, world, body), 413, "payload_too_large")
    assert problem["detail"]
    assert await stored_counts(db) == NOTHING


async def test_a_photo_id_of_another_inspection(client, db, world):
    first = world.violating_body()
    await submitted(client, world, first)
    before = await stored_counts(db)
    second = world.violating_body("insp_a2", photos=first["photos"])
    assert_problem(await put(client, world, second, "insp_a2"), 409, "photo_id_in_use")
    assert await stored_counts(db) == before


async def test_only_inspectors_submit(client, db, world):
    response = await client.put(f"{URL}/{uuid.uuid4()}", json=world.body("coord_a"), headers=world.h["coord_a"])
    assert_problem(response, 403, "forbidden")
    assert await stored_counts(db) == NOTHING


async def test_a_body_that_is_not_json(client, db, world):
    response = await client.put(
        f"{URL}/{uuid.uuid4()}",
        content=b"{not json",
        headers={**world.h["insp_a1"], "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed_body")
    text = await client.put(
        f"{URL}/{uuid.uuid4()}", content=b"{}", headers={**world.h["insp_a1"], "Content-Type": "text/plain"}
    )
    assert_problem(text, 415, "unsupported_media_type")
    assert await stored_counts(db) == NOTHING


# --- no free text about sex workers ----------------------------------------------------------------------------


def sexwork_body(world: World, **overrides) -> dict:
    """An inspection of the sex club by insp_sw: the sex-work checklist and the horeca one, no observations."""
    checklists = [
        {"checklist_version_id": world.ids["sexwork-establishment"], "answers": dict(SEXWORK_OK)},
        *horeca(world, HORECA_OK),
    ]
    return world.body(
        "insp_sw", object_id=world.ids["club"], checklists=checklists, **{"observations": None, **overrides}
    )


async def test_a_sex_work_inspection_without_free_text_is_accepted(client, world):
    stored = await submitted(client, world, sexwork_body(world), "insp_sw")
    assert stored["regimes"] == ["alcohol", "sexwork"] and stored["observations"] is None


async def test_a_sex_work_inspection_refuses_observations(client, db, world):
    body = sexwork_body(world, observations="Twee vrouwen aanwezig, een leek minderjarig.")
    assert await refused(client, db, world, body, "insp_sw") == [
        ("/observations", "no free text on a sex-work inspection: leave out observations")
    ]


async def test_a_sex_work_inspection_refuses_the_text_answer_of_an_add_on(client, db, world):
    signals = {**ONDERMIJNING_NOTHING, "OM-01": "yes", "OM-99": "De beheerder noemde de namen van de vrouwen."}
    body = sexwork_body(world)
    body["checklists"].append({"checklist_version_id": world.ids["ondermijning-signals"], "answers": signals})
    assert await refused(client, db, world, body, "insp_sw") == [
        ("/checklists/2/answers/OM-99", "no free text on a sex-work inspection: leave out this text answer")
    ]
    # The same add-on text on an inspection of the café is accepted.
    cafe = world.body(checklists=[*horeca(world, HORECA_OK), body["checklists"][2]])
    assert (await submitted(client, world, cafe))["observations"] == "Rustig, geen bijzonderheden."
