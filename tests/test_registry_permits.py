"""Permits over HTTP: typed conditions per type, which permits were in force on a date, overlap refusal (in
the API and in the database), status changes with If-Match and their history, and who sees what."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg
import pytest

from backend.core.calendar import today
from backend.demo import load_demo_data
from tests.conftest import ISSUER
from tests.helpers import assert_problem
from tests.registry_helpers import (
    ALL_REGIMES,
    alcohol_permit,
    audit_actions,
    count,
    create_object,
    create_permit,
)

REASON = "herhaalde overtreding art. 20 lid 1"


@pytest.fixture
def coordinator(auth):
    return auth("coord-1", roles=["coordinator"], regimes=ALL_REGIMES)


@pytest.fixture
async def cafe(client, coordinator) -> dict:
    return await create_object(client, coordinator, regimes=["alcohol", "gambling", "nix18"])


async def in_force(client, headers, object_id: str, on: str) -> list[str]:
    response = await client.get(f"/api/v1/objects/{object_id}/permits?on={on}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["on"] == on
    return [permit["number"] for permit in response.json()["items"]]


def command(client, headers, permit: dict, action: str, body: dict, etag: str | None = None):
    if etag is not None:
        headers = {**headers, "If-Match": etag}
    return client.post(f"/api/v1/permits/{permit['id']}/{action}", json=body, headers=headers)


# --- creating permits ----------------------------------------------------------------------------------------


async def test_an_alcoholvergunning_with_its_aanhangsel(client, coordinator, cafe, db):
    response = await client.post(f"/api/v1/objects/{cafe['id']}/permits", json=alcohol_permit(), headers=coordinator)
    assert response.status_code == 201, response.text
    permit = response.json()
    assert response.headers["etag"] == '"1"' and response.headers["location"] == f"/api/v1/permits/{permit['id']}"
    assert permit["type"] == "alcoholvergunning" and permit["status"] == "granted" and permit["object_id"] == cafe["id"]
    assert permit["conditions"] == {"leidinggevenden": ["Johan de Wit", "Meryem Yilmaz"]}
    assert permit["suspensions"] == [] and permit["withdrawn_on"] is None and "history" not in permit

    read = await client.get(f"/api/v1/permits/{permit['id']}", headers=coordinator)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    history = read.json()["history"]
    assert [(h["version"], h["action"]) for h in history] == [(1, "granted")]
    assert history[0]["state"]["conditions"]["leidinggevenden"] == ["Johan de Wit", "Meryem Yilmaz"]
    assert await audit_actions(db, permit["id"]) == ["permit.granted"]


async def test_typed_conditions_per_permit_type(client, coordinator, cafe):
    url = f"/api/v1/objects/{cafe['id']}/permits"
    machines = await create_permit(
        client,
        coordinator,
        cafe["id"],
        {
            "type": "aanwezigheidsvergunning_kansspelautomaten",
            "number": "KSA-1",
            "holder": "Hoekje B.V.",
            "valid_from": "2024-01-01",
            "conditions": {"machines": 2},
        },
    )
    assert machines["conditions"] == {"machines": 2} and machines["valid_to"] is None
    hours = {"days": ["fri", "sat"], "opens": "10:00", "closes": "03:00"}
    exploitation = await create_permit(
        client,
        coordinator,
        cafe["id"],
        {
            "type": "horeca_exploitatievergunning",
            "number": "HE-1",
            "holder": "Hoekje B.V.",
            "valid_from": "2024-01-01",
            "conditions": {"opening_hours": [hours]},
        },
    )
    assert exploitation["conditions"] == {"opening_hours": [hours]}

    for body, pointer in (
        ({"type": "aanwezigheidsvergunning_kansspelautomaten", "conditions": {"machines": 0}}, "/conditions/machines"),
        ({"type": "aanwezigheidsvergunning_kansspelautomaten", "conditions": {}}, "/conditions/machines"),
        ({"type": "alcoholvergunning", "conditions": {"leidinggevenden": []}}, "/conditions/leidinggevenden"),
        (
            {"type": "alcoholvergunning", "conditions": {"leidinggevenden": ["A"], "machines": 2}},
            "/conditions/machines",
        ),
        (
            {"type": "horeca_exploitatievergunning", "conditions": {"opening_hours": [{**hours, "closes": "25:00"}]}},
            "/conditions/opening_hours/0/closes",
        ),
        ({"type": "bouwvergunning", "conditions": {}}, "/type"),
    ):
        response = await client.post(
            url,
            headers=coordinator,
            json={"number": "X-1", "holder": "Hoekje B.V.", "valid_from": "2024-01-01", **body},
        )
        problem = assert_problem(response, 422, "validation_failed")
        assert [e["pointer"] for e in problem["errors"]] == [pointer], body
    assert len((await client.get(url, headers=coordinator)).json()["items"]) == 2


async def test_valid_to_before_valid_from_is_422_and_stores_nothing(client, coordinator, cafe, db):
    response = await client.post(
        f"/api/v1/objects/{cafe['id']}/permits",
        headers=coordinator,
        json=alcohol_permit(valid_from="2024-06-01", valid_to="2024-05-31"),
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] == [{"detail": "valid_to is before valid_from", "pointer": "/valid_to"}]
    assert await count(db, "permit") == 0 and await count(db, "permit_history") == 0


async def test_overlapping_permits_of_one_type_are_refused(client, coordinator, cafe, db):
    url = f"/api/v1/objects/{cafe['id']}/permits"
    await create_permit(client, coordinator, cafe["id"], alcohol_permit(valid_from="2024-01-01", valid_to="2024-12-31"))
    for valid_from, valid_to in (("2024-12-31", None), ("2023-01-01", "2024-01-01"), ("2024-03-01", "2024-04-01")):
        response = await client.post(
            url, headers=coordinator, json=alcohol_permit(number="AW-2", valid_from=valid_from, valid_to=valid_to)
        )
        assert_problem(response, 409, "permit_overlap")
    assert await count(db, "permit") == 1
    # The day after it ends is free; another type and art. 35 ontheffingen (per event) may overlap.
    await create_permit(
        client, coordinator, cafe["id"], alcohol_permit(number="AW-2", valid_from="2025-01-01", valid_to=None)
    )
    event = {
        "type": "ontheffing_art35",
        "holder": "Hoekje B.V.",
        "valid_from": "2024-04-27",
        "valid_to": "2024-04-27",
        "conditions": {"event": "Koningsdag"},
    }
    await create_permit(client, coordinator, cafe["id"], {**event, "number": "OT-1"})
    await create_permit(client, coordinator, cafe["id"], {**event, "number": "OT-2"})
    assert await count(db, "permit") == 4


async def test_the_database_refuses_overlaps_too(client, coordinator, cafe, db):
    await create_permit(client, coordinator, cafe["id"], alcohol_permit())
    with pytest.raises(asyncpg.ExclusionViolationError):
        await db.execute(
            "INSERT INTO permit (id, establishment_id, type, number, holder, valid_from) "
            "VALUES ($1, $2::uuid, 'alcoholvergunning', 'AW-9', 'Iemand', '2024-06-01')",
            uuid.uuid4(),
            cafe["id"],
        )


async def test_sex_business_permits_are_per_business_type(client, coordinator, db):
    club = await create_object(client, coordinator, name="Club Zandpad", kind="seks_club", regimes=["sexwork"])
    permit = {
        "type": "exploitatievergunning_seksinrichting",
        "number": "SX-1",
        "holder": "Zandpad B.V.",
        "valid_from": "2024-01-01",
        "conditions": {"business_type": "seks_club", "beheerders": ["P. Jansen"]},
    }
    await create_permit(client, coordinator, club["id"], permit)
    theatre = {**permit, "number": "SX-2", "conditions": {"business_type": "seks_theater"}}
    await create_permit(client, coordinator, club["id"], theatre)
    response = await client.post(
        f"/api/v1/objects/{club['id']}/permits", headers=coordinator, json={**permit, "number": "SX-3"}
    )
    assert_problem(response, 409, "permit_overlap")
    # A seksinrichting permit on an object others may see would show its beheerders to them.
    cafe = await create_object(client, coordinator)
    response = await client.post(f"/api/v1/objects/{cafe['id']}/permits", headers=coordinator, json=permit)
    assert_problem(response, 422, "permit_type_not_applicable")
    assert await count(db, "permit") == 2


async def test_only_coordinators_and_admins_record_permits(client, auth, cafe, db):
    inspector = auth("insp-1", roles=["inspector"], regimes=ALL_REGIMES)
    response = await client.post(f"/api/v1/objects/{cafe['id']}/permits", json=alcohol_permit(), headers=inspector)
    assert_problem(response, 403, "forbidden")
    response = await client.post(
        f"/api/v1/objects/{uuid.uuid4()}/permits",
        json=alcohol_permit(),
        headers=auth("admin-1", roles=["admin"], regimes=ALL_REGIMES),
    )
    assert_problem(response, 404, "not_found")
    assert await count(db, "permit") == 0


# --- in force on a date ----------------------------------------------------------------------------------------


async def test_which_permits_were_in_force_on_a_date(client, coordinator, cafe):
    await create_permit(
        client, coordinator, cafe["id"], alcohol_permit(number="AW-OLD", valid_from="2020-01-01", valid_to="2023-12-31")
    )
    current = await create_permit(
        client, coordinator, cafe["id"], alcohol_permit(number="AW-NEW", valid_from="2024-01-01", valid_to=None)
    )
    machines = await create_permit(
        client,
        coordinator,
        cafe["id"],
        {
            "type": "aanwezigheidsvergunning_kansspelautomaten",
            "number": "KSA-1",
            "holder": "Hoekje B.V.",
            "valid_from": "2024-03-01",
            "valid_to": "2024-12-31",
            "conditions": {"machines": 2},
        },
    )
    suspended = await command(
        client,
        coordinator,
        current,
        "suspend",
        {"starts_on": "2024-06-01", "ends_on": "2024-06-30", "reason": REASON},
        '"1"',
    )
    assert suspended.status_code == 200, suspended.text
    withdrawn = await command(
        client, coordinator, machines, "withdraw", {"effective_on": "2024-09-01", "reason": REASON}, '"1"'
    )
    assert withdrawn.status_code == 200, withdrawn.text

    expected = {
        "2019-12-31": [],  # before anything was valid
        "2020-01-01": ["AW-OLD"],  # valid_from is inclusive
        "2023-12-31": ["AW-OLD"],  # valid_to is inclusive
        "2024-01-01": ["AW-NEW"],  # the old one expired
        "2024-03-01": ["AW-NEW", "KSA-1"],
        "2024-05-31": ["AW-NEW", "KSA-1"],
        "2024-06-01": ["KSA-1"],  # suspended from (inclusive)
        "2024-06-30": ["KSA-1"],  # suspended to (inclusive)
        "2024-07-01": ["AW-NEW", "KSA-1"],
        "2024-08-31": ["AW-NEW", "KSA-1"],
        "2024-09-01": ["AW-NEW"],  # withdrawn from
        "2031-01-01": ["AW-NEW"],  # open-ended
    }
    found = {on: sorted(await in_force(client, coordinator, cafe["id"], on)) for on in expected}
    assert found == expected

    everything = await client.get(f"/api/v1/objects/{cafe['id']}/permits", headers=coordinator)
    assert everything.json()["on"] is None
    assert sorted(p["number"] for p in everything.json()["items"]) == ["AW-NEW", "AW-OLD", "KSA-1"]
    assert_problem(
        await client.get(f"/api/v1/objects/{cafe['id']}/permits?on=2024-13-01", headers=coordinator),
        422,
        "validation_failed",
    )


# --- status changes and history ------------------------------------------------------------------------------


async def test_status_changes_need_if_match_and_are_recorded(client, coordinator, cafe, db):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit(valid_to=None))
    suspension = {"starts_on": "2024-06-01", "ends_on": "2024-06-30", "reason": REASON}
    assert_problem(await command(client, coordinator, permit, "suspend", suspension), 428, "precondition_required")
    assert_problem(await command(client, coordinator, permit, "suspend", suspension, '"2"'), 412, "stale_version")
    assert await count(db, "permit_history") == 1

    response = await command(client, coordinator, permit, "suspend", suspension, '"1"')
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    assert response.json()["suspensions"] == [{"starts_on": "2024-06-01", "ends_on": "2024-06-30"}]
    response = await command(
        client, coordinator, permit, "withdraw", {"effective_on": "2025-01-01", "reason": REASON}, '"2"'
    )
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    response = await command(
        client, coordinator, permit, "reinstate", {"effective_on": "2025-01-01", "reason": "bezwaar gegrond"}, '"3"'
    )
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn_on"] is None

    history = (await client.get(f"/api/v1/permits/{permit['id']}", headers=coordinator)).json()["history"]
    assert [(h["version"], h["action"], h["reason"]) for h in history] == [
        (1, "granted", None),
        (2, "suspended", REASON),
        (3, "withdrawn", REASON),
        (4, "reinstated", "bezwaar gegrond"),
    ]
    assert history[2]["state"]["withdrawn_on"] == "2025-01-01" and history[3]["state"]["withdrawn_on"] is None
    assert await audit_actions(db, permit["id"]) == [
        "permit.granted",
        "permit.suspended",
        "permit.withdrawn",
        "permit.reinstated",
    ]


async def test_reinstating_lifts_a_suspension_from_that_day_on(client, coordinator, cafe):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit(valid_to=None))
    await command(
        client,
        coordinator,
        permit,
        "suspend",
        {"starts_on": "2024-06-01", "ends_on": "2024-08-31", "reason": REASON},
        '"1"',
    )
    response = await command(
        client, coordinator, permit, "reinstate", {"effective_on": "2024-07-15", "reason": "eerder hersteld"}, '"2"'
    )
    assert response.json()["suspensions"] == [{"starts_on": "2024-06-01", "ends_on": "2024-07-14"}]
    assert await in_force(client, coordinator, cafe["id"], "2024-07-14") == []
    assert await in_force(client, coordinator, cafe["id"], "2024-07-15") == ["AW-2024-0001"]
    again = await command(
        client, coordinator, permit, "reinstate", {"effective_on": "2024-07-15", "reason": "nogmaals"}, '"3"'
    )
    assert_problem(again, 409, "nothing_to_reinstate")


async def test_reinstating_a_withdrawal_later_keeps_the_days_it_ran(client, coordinator, cafe):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit(valid_to=None))
    await command(client, coordinator, permit, "withdraw", {"effective_on": "2024-03-01", "reason": REASON}, '"1"')
    response = await command(
        client, coordinator, permit, "reinstate", {"effective_on": "2024-04-01", "reason": "hersteld"}, '"2"'
    )
    assert response.json()["suspensions"] == [{"starts_on": "2024-03-01", "ends_on": "2024-03-31"}]
    assert await in_force(client, coordinator, cafe["id"], "2024-03-31") == []
    assert await in_force(client, coordinator, cafe["id"], "2024-04-01") == ["AW-2024-0001"]


async def test_current_status_follows_today(client, coordinator, cafe):
    permit = await create_permit(
        client, coordinator, cafe["id"], alcohol_permit(valid_from="2020-01-01", valid_to=None)
    )
    now = today()
    response = await command(
        client,
        coordinator,
        permit,
        "suspend",
        {
            "starts_on": (now + timedelta(days=7)).isoformat(),
            "ends_on": (now + timedelta(days=20)).isoformat(),
            "reason": REASON,
        },
        '"1"',
    )
    assert response.json()["status"] == "suspended"  # announced
    assert await in_force(client, coordinator, cafe["id"], now.isoformat()) == ["AW-2024-0001"]
    past = await create_permit(
        client,
        coordinator,
        cafe["id"],
        {
            "type": "aanwezigheidsvergunning_kansspelautomaten",
            "number": "KSA-1",
            "holder": "Hoekje B.V.",
            "valid_from": "2020-01-01",
            "conditions": {"machines": 1},
        },
    )
    response = await command(
        client,
        coordinator,
        past,
        "suspend",
        {"starts_on": "2021-01-01", "ends_on": "2021-02-01", "reason": REASON},
        '"1"',
    )
    assert response.json()["status"] == "granted"  # a suspension long over


@pytest.mark.parametrize(
    ("action", "body", "status", "code", "pointer"),
    [
        ("suspend", {"starts_on": "2024-06-30", "ends_on": "2024-06-01"}, 422, "validation_failed", "/ends_on"),
        ("suspend", {"starts_on": "2023-12-01", "ends_on": "2024-01-31"}, 422, "validation_failed", "/starts_on"),
        ("suspend", {"starts_on": "2024-12-01", "ends_on": "2025-01-31"}, 422, "validation_failed", "/ends_on"),
        ("withdraw", {"effective_on": "2023-12-31"}, 422, "validation_failed", "/effective_on"),
        ("reinstate", {"effective_on": "2024-02-01"}, 409, "nothing_to_reinstate", None),
        ("suspend", {"starts_on": "2024-06-01"}, 422, "validation_failed", "/ends_on"),
        (
            "suspend",
            {"starts_on": "2024-06-01", "ends_on": "2024-06-02", "reason": "x"},
            422,
            "validation_failed",
            "/reason",
        ),
    ],
)
async def test_bad_status_changes_change_nothing(client, coordinator, cafe, db, action, body, status, code, pointer):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit())
    response = await command(client, coordinator, permit, action, {"reason": REASON, **body}, '"1"')
    problem = assert_problem(response, status, code)
    if pointer:
        assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert await db.fetchval("SELECT version FROM permit") == 1 and await count(db, "permit_history") == 1


async def test_a_withdrawn_permit_cannot_be_suspended_or_withdrawn_again(client, coordinator, cafe, db):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit())
    await command(client, coordinator, permit, "withdraw", {"effective_on": "2024-05-01", "reason": REASON}, '"1"')
    suspension = {"starts_on": "2024-06-01", "ends_on": "2024-06-30", "reason": REASON}
    assert_problem(await command(client, coordinator, permit, "suspend", suspension, '"2"'), 409, "permit_withdrawn")
    assert_problem(
        await command(client, coordinator, permit, "withdraw", {"effective_on": "2024-06-01", "reason": REASON}, '"2"'),
        409,
        "permit_withdrawn",
    )
    assert await db.fetchval("SELECT version FROM permit") == 2


async def test_correcting_a_permit_keeps_its_type(client, coordinator, cafe, db):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit())
    url = f"/api/v1/permits/{permit['id']}"
    new_aanhangsel = alcohol_permit(conditions={"leidinggevenden": ["Johan de Wit", "Sanne Bakker"]})
    assert_problem(await client.put(url, json=new_aanhangsel, headers=coordinator), 428, "precondition_required")
    response = await client.put(url, json=new_aanhangsel, headers={**coordinator, "If-Match": '"1"'})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    assert response.json()["conditions"]["leidinggevenden"] == ["Johan de Wit", "Sanne Bakker"]
    history = (await client.get(url, headers=coordinator)).json()["history"]
    assert [h["state"]["conditions"]["leidinggevenden"] for h in history] == [
        ["Johan de Wit", "Meryem Yilmaz"],
        ["Johan de Wit", "Sanne Bakker"],
    ]

    other_type = {"type": "horeca_exploitatievergunning", "number": "HE-1", "holder": "X", "valid_from": "2024-01-01"}
    response = await client.put(url, json=other_type, headers={**coordinator, "If-Match": '"2"'})
    assert_problem(response, 422, "permit_type_immutable")
    response = await client.put(
        url, json=alcohol_permit(valid_to="2023-01-01"), headers={**coordinator, "If-Match": '"2"'}
    )
    assert_problem(response, 422, "validation_failed")
    assert await db.fetchval("SELECT version FROM permit") == 2


# --- who sees what ------------------------------------------------------------------------------------------------


async def test_leidinggevenden_are_shown_only_with_the_alcohol_regime(client, auth, coordinator, cafe):
    permit = await create_permit(client, coordinator, cafe["id"], alcohol_permit(valid_to=None))
    gambling = auth("insp-g", roles=["inspector"], regimes=["gambling"])
    listed = await client.get(f"/api/v1/objects/{cafe['id']}/permits", headers=gambling)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["number"] == permit["number"]
    assert listed.json()["items"][0]["conditions"] == {}
    read = await client.get(f"/api/v1/permits/{permit['id']}", headers=gambling)
    assert read.json()["conditions"] == {} and read.json()["history"][0]["state"]["conditions"] == {}
    alcohol = auth("insp-a", roles=["inspector"], regimes=["alcohol"])
    read = await client.get(f"/api/v1/permits/{permit['id']}", headers=alcohol)
    assert read.json()["conditions"]["leidinggevenden"] == ["Johan de Wit", "Meryem Yilmaz"]


async def test_permits_of_objects_you_may_not_see_do_not_exist(client, auth, coordinator):
    club = await create_object(
        client, coordinator, name="Club Zandpad", kind="seks_club", regimes=["sexwork", "alcohol"]
    )
    permit = await create_permit(client, coordinator, club["id"], alcohol_permit())
    alcohol_only = auth("insp-a", roles=["inspector"], regimes=["alcohol"])
    assert_problem(await client.get(f"/api/v1/permits/{permit['id']}", headers=alcohol_only), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/objects/{club['id']}/permits", headers=alcohol_only), 404, "not_found")
    alcohol_coordinator = auth("coord-a", roles=["coordinator"], regimes=["alcohol"])
    response = await command(
        client, alcohol_coordinator, permit, "withdraw", {"effective_on": "2024-05-01", "reason": REASON}, '"1"'
    )
    assert_problem(response, 404, "not_found")


# --- demo data --------------------------------------------------------------------------------------------------


async def test_demo_permits_answer_a_vergunningcontrole(client, auth, db):
    await load_demo_data(db, ISSUER)
    assert await load_demo_data(db, ISSUER) == 0  # idempotent
    inspector = auth("insp-anna", roles=["inspector"], regimes=["alcohol", "nix18", "gambling"])
    domtoren = "10000000-0000-4000-8000-000000000001"
    response = await client.get(f"/api/v1/objects/{domtoren}/permits?on={date(2024, 5, 1)}", headers=inspector)
    permits = {p["type"]: p for p in response.json()["items"]}
    assert set(permits) == {
        "alcoholvergunning",
        "horeca_exploitatievergunning",
        "aanwezigheidsvergunning_kansspelautomaten",
    }
    assert permits["alcoholvergunning"]["conditions"]["leidinggevenden"] == ["Johan de Wit", "Meryem Yilmaz"]
    assert permits["aanwezigheidsvergunning_kansspelautomaten"]["conditions"] == {"machines": 2}
    read = await client.get(f"/api/v1/permits/{permits['alcoholvergunning']['id']}", headers=inspector)
    assert [h["action"] for h in read.json()["history"]] == ["granted"]
    kade = "10000000-0000-4000-8000-000000000005"
    assert_problem(await client.get(f"/api/v1/objects/{kade}/permits", headers=inspector), 404, "not_found")
