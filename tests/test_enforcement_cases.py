"""Enforcement cases: a reviewed inspection with violations opens a case per regime or adds to the open one
(one open case per target and regime, also under concurrent reviews); officers open, merge and close cases
by hand with a reason; visibility per regime; If-Match, Idempotency-Key and audit on every change."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.enforcement_helpers import (
    AGE_NOT_ESTABLISHED,
    CASES,
    NO_MANAGER,
    case,
    done,
    drafted,
    enforcement_world,
    last_step,
    nix18_body,
    only_case,
    reviewed,
    table_counts,
    with_version,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import SEXWORK_OK, USERS, World, accepted, add_users, submitted
from tests.registry_helpers import create_object


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def actions(db, case_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT action FROM audit_event WHERE object_type = 'enforcement_case' AND object_id = $1 ORDER BY seq", case_id
    )
    return [row["action"] for row in rows]


async def test_a_reviewed_inspection_with_violations_opens_a_case(client, db, world):
    inspection = await reviewed(client, world, NO_MANAGER)
    found = await only_case(client, world)
    assert (found["regime"], found["status"], found["object_id"]) == ("alcohol", "open", world.ids["cafe"])
    [violation] = found["violations"]
    assert violation["code"] == "AW-24-1-NO-MANAGER-PRESENT" and violation["article_key"] == "Alcoholwet art. 24 lid 1"
    assert (
        violation["inspection_id"] == inspection["id"]
        and violation["observed_on"] == inspection["violations"][0]["observed_on"]
    )
    assert [h["status"] for h in found["history"]] == ["open"] and inspection["id"] in found["history"][0]["reason"]
    assert await actions(db, found["id"]) == ["enforcement_case.violations_added"]


async def test_a_reviewed_inspection_without_violations_opens_nothing(client, db, world):
    await accepted(client, world, await submitted(client, world))
    assert await db.fetchval("SELECT count(*) FROM enforcement_case") == 0


async def test_a_second_review_adds_to_the_open_case_and_a_nix18_sale_joins_the_alcoholwet_case(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    found = await only_case(client, world, regime="alcohol")
    assert sorted(v["code"] for v in found["violations"]) == [
        "AW-20-1-AGE-NOT-ESTABLISHED",
        "AW-24-1-NO-MANAGER-PRESENT",
    ]
    assert await actions(db, found["id"]) == ["enforcement_case.violations_added"] * 2
    await reviewed(client, world, {}, body=nix18_body(world))  # an Alcoholwet offence too: the same case
    same = await only_case(client, world)
    assert same["id"] == found["id"] and len(same["violations"]) == 3


async def test_concurrent_reviews_of_one_target_share_one_case(client, db, world):
    first = await submitted(
        client,
        world,
        world.body(checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": NO_MANAGER}]),
    )
    second = await submitted(
        client,
        world,
        world.body(
            "insp_a2",
            checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": AGE_NOT_ESTABLISHED}],
        ),
        "insp_a2",
    )
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/inspections/{one['id']}/review", headers=with_version(world, "coord_a", one["version"])
            )
            for one in (first, second)
        )
    )
    assert [r.status_code for r in responses] == [200, 200]
    assert await db.fetchval("SELECT count(*) FROM enforcement_case") == 1
    assert await db.fetchval("SELECT count(*) FROM enforcement_case_violation") == 2


async def test_cases_are_visible_per_regime_and_to_enforcement_roles_only(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    found = await only_case(client, world)
    # Another regime's officer: the case does not exist for them.
    assert_problem(await client.get(f"{CASES}/{found['id']}", headers=world.h["enforcer_coffee"]), 404, "not_found")
    assert_problem(
        await client.get(f"{CASES}/{found['id']}/proposal", headers=world.h["enforcer_coffee"]), 404, "not_found"
    )
    listed = await client.get(CASES, headers=world.h["enforcer_coffee"])
    assert listed.status_code == 200 and listed.json()["items"] == []
    # Coordinators and inspectors have no business here.
    assert_problem(await client.get(f"{CASES}/{found['id']}", headers=world.h["coord_a"]), 403, "forbidden")
    assert_problem(await client.get(CASES, headers=world.h["insp_a1"]), 403, "forbidden")
    assert (await client.get(f"{CASES}/{found['id']}", headers=world.h["admin"])).status_code == 200
    # An admin reads but does not act.
    close = await client.post(
        f"{CASES}/{found['id']}/close",
        json={"result": "no_action", "reason": "niets"},
        headers=with_version(world, "admin", found["version"]),
    )
    assert_problem(close, 403, "forbidden")


async def test_a_sex_work_case_is_visible_only_with_the_sexwork_regime(client, db, world):
    response = await client.post(
        CASES,
        json={"object_id": world.ids["club"], "regime": "sexwork", "reason": "Melding buurt: overlast"},
        headers=world.h["officer_sw"],
    )
    assert response.status_code == 201, response.text
    opened = response.json()
    assert (await client.get(f"{CASES}/{opened['id']}", headers=world.h["officer_sw"])).status_code == 200
    assert await actions(db, opened["id"]) == ["enforcement_case.opened", "enforcement_case.read"]
    # The read is among the officer's reads of sensitive data that an AVG request exports.
    export = await client.get(
        "/api/v1/audit-events/reads", params={"actor_id": world.ids["officer_sw"]}, headers=world.h["admin"]
    )
    assert export.status_code == 200, export.text
    assert f"enforcement_case.read;enforcement_case;{opened['id']}" in export.text
    assert_problem(await client.get(f"{CASES}/{opened['id']}", headers=world.h["officer_a"]), 404, "not_found")
    assert (await client.get(CASES, headers=world.h["officer_a"])).json()["items"] == []
    # The same club's alcohol case is an alcohol case: visible to alcohol officers.
    assert_problem(
        await client.post(
            CASES,
            json={"object_id": world.ids["club"], "regime": "sexwork", "reason": "opnieuw"},
            headers=world.h["officer_a"],
        ),
        422,
        "validation_failed",
    )


async def test_only_people_read_a_sex_work_case_not_the_reports_classifying_a_sent_step(client, auth, db, world):
    """Every read of a sex-work case is logged as its reader's; the reports' read model, classifying a sent step
    in the same transaction, reads it for nobody and is not logged as the sender's read."""
    await add_users(client, auth, world, {"insp_sw": USERS["insp_sw"]})
    answers = {**{k: v for k, v in SEXWORK_OK.items() if k != "SX-02a"}, "SX-02": "no"}
    checklist = {"checklist_version_id": world.ids["sexwork-establishment"], "answers": answers}
    body = world.body("insp_sw", object_id=world.ids["club"], checklists=[checklist], observations=None)
    await reviewed(client, world, answers, who="insp_sw", body=body)
    current = await only_case(client, world, who="officer_sw", regime="sexwork")
    current = await drafted(client, world, current, {"type": "warning"}, who="officer_sw")
    before = await actions(db, current["id"])
    await done(client, world, current, last_step(current)["id"], "send", who="officer_sw")
    assert (await actions(db, current["id"]))[len(before) :] == ["enforcement_case.step_sent"]


async def test_an_officer_opens_a_case_by_hand_once_per_target_and_regime(client, db, world):
    body = {"object_id": world.ids["cafe"], "regime": "alcohol", "reason": "Klacht buurtbewoners over schenken"}
    response = await client.post(CASES, json=body, headers=world.h["officer_a"])
    assert response.status_code == 201, response.text
    opened = response.json()
    assert response.headers["etag"] == f'"{opened["version"]}"'
    assert response.headers["location"].endswith(opened["id"])
    assert opened["history"][0]["reason"] == body["reason"] and opened["opened_by"] == world.ids["officer_a"]
    assert await actions(db, opened["id"]) == ["enforcement_case.opened"]
    before = await table_counts(db)
    again = await client.post(CASES, json=body, headers=world.h["officer_a"])
    assert_problem(again, 409, "case_already_open")
    assert await table_counts(db) == before
    # A review now adds to the hand-opened case.
    await reviewed(client, world, NO_MANAGER)
    assert len((await case(client, world, opened["id"]))["violations"]) == 1


BAD_TARGETS = [
    ({"regime": "alcohol", "reason": "geen doel"}, "/object_id"),
    ({"object_id": "00000000-0000-4000-8000-000000000000", "regime": "alcohol", "reason": "onbekend"}, "/object_id"),
    ({"object_id": "CAFE", "regime": "coffeeshop", "reason": "ander regime"}, "/regime"),
    ({"object_id": "CAFE", "regime": "gambling", "reason": "niet mijn regime"}, "/regime"),
]


async def test_opening_a_case_for_a_bad_target_changes_nothing(client, db, world):
    before = await table_counts(db)
    for body, pointer in BAD_TARGETS:
        body = {k: (world.ids["cafe"] if v == "CAFE" else v) for k, v in body.items()}
        response = await client.post(CASES, json=body, headers=world.h["officer_a"])
        problem = assert_problem(response, 422, "validation_failed")
        assert problem["errors"][0]["pointer"] == pointer
    assert await table_counts(db) == before


async def test_closing_needs_if_match_and_a_reason_and_ends_the_case(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    found = await only_case(client, world)
    url = f"{CASES}/{found['id']}/close"
    body = {"result": "complied", "reason": "Leidinggevende aangesteld en bijgeschreven"}
    before = await table_counts(db)
    assert_problem(await client.post(url, json=body, headers=world.h["officer_a"]), 428, "precondition_required")
    assert_problem(
        await client.post(url, json=body, headers=with_version(world, "officer_a", found["version"] + 5)),
        412,
        "stale_version",
    )
    assert_problem(
        await client.post(
            url, json={"result": "complied", "reason": "  "}, headers=with_version(world, "officer_a", found["version"])
        ),
        422,
        "validation_failed",
    )
    assert await table_counts(db) == before
    response = await client.post(url, json=body, headers=with_version(world, "officer_a", found["version"]))
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["status"], closed["result"]) == ("closed", "complied") and closed["closed_at"]
    assert closed["history"][-1] == {
        **closed["history"][-1],
        "status": "closed",
        "result": "complied",
        "reason": body["reason"],
    }
    assert (await actions(db, found["id"]))[-1] == "enforcement_case.closed"
    again = await client.post(url, json=body, headers=with_version(world, "officer_a", closed["version"]))
    assert_problem(again, 409, "case_closed")
    # The next review opens a new case.
    await reviewed(client, world, NO_MANAGER)
    assert await db.fetchval("SELECT count(*) FROM enforcement_case WHERE status = 'open'") == 1


async def test_a_command_with_an_idempotency_key_happens_once(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    found = await only_case(client, world)
    headers = with_version(world, "officer_a", found["version"], **{"Idempotency-Key": "close-1"})
    body = {"result": "no_action", "reason": "Geen vervolg nodig"}
    first = await client.post(f"{CASES}/{found['id']}/close", json=body, headers=headers)
    again = await client.post(f"{CASES}/{found['id']}/close", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert (await actions(db, found["id"])).count("enforcement_case.closed") == 1


async def test_merging_moves_the_violations_and_closes_the_source(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    target = await only_case(client, world)
    other = await create_object(client, world.h["admin"], name="Café Achterom", house_number=102)
    response = await client.post(
        CASES,
        json={"object_id": other["id"], "regime": "alcohol", "reason": "Zelfde exploitant, dubbel geregistreerd"},
        headers=world.h["officer_a"],
    )
    source = response.json()
    body = {"source_case_id": source["id"], "source_version": source["version"], "reason": "Eén exploitant"}
    stale = await client.post(
        f"{CASES}/{target['id']}/merge",
        json={**body, "source_version": 99},
        headers=with_version(world, "officer_a", target["version"]),
    )
    assert_problem(stale, 412, "stale_version")
    response = await client.post(
        f"{CASES}/{target['id']}/merge", json=body, headers=with_version(world, "officer_a", target["version"])
    )
    assert response.status_code == 200, response.text
    merged = await case(client, world, source["id"])
    assert (merged["status"], merged["result"], merged["merged_into"]) == ("closed", "merged", target["id"])
    assert "enforcement_case.merged" in await actions(db, source["id"])
    assert "enforcement_case.merged_in" in await actions(db, target["id"])
    into_itself = await client.post(
        f"{CASES}/{target['id']}/merge",
        json={**body, "source_case_id": target["id"]},
        headers=with_version(world, "officer_a", response.json()["version"]),
    )
    assert_problem(into_itself, 422, "validation_failed")


async def test_an_unknown_case_is_404(client, world):
    missing = uuid.uuid4()
    assert_problem(await client.get(f"{CASES}/{missing}", headers=world.h["officer_a"]), 404, "not_found")
    close = await client.post(
        f"{CASES}/{missing}/close",
        json={"result": "complied", "reason": "weg"},
        headers=with_version(world, "officer_a", 1),
    )
    assert_problem(close, 404, "not_found")


async def test_case_list_filters_and_pages(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    world.ids["corner"] = (await create_object(client, world.h["admin"], name="Café De Hoek", house_number=9))["id"]
    await reviewed(client, world, NO_MANAGER, object_key="corner")
    page = await client.get(CASES, headers=world.h["officer_a"], params={"limit": 1})
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    rest = await client.get(CASES, headers=world.h["officer_a"], params={"limit": 1, "cursor": body["next_cursor"]})
    assert len(rest.json()["items"]) == 1 and rest.json()["items"][0]["id"] != body["items"][0]["id"]
    corner = await client.get(
        CASES, headers=world.h["officer_a"], params={"object_id": world.ids["corner"], "open": "true"}
    )
    assert [c["object_id"] for c in corner.json()["items"]] == [world.ids["corner"]]
    assert_problem(
        await client.get(CASES, headers=world.h["officer_a"], params={"cursor": "bogus"}), 400, "invalid_cursor"
    )
