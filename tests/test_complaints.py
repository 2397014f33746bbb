"""Complaint intake: handlers and intake systems register complaints (Idempotency-Key, external reference),
the location and its wijk (object, postcode area, override), deadlines in working days, and every bad input
named in the issue answered with a clear error and nothing stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.complaints import reference
from backend.core import calendar
from backend.core.calendar import today
from tests.complaint_helpers import (
    REPORTER,
    URL,
    complaint_body,
    complaint_world,
    create_complaint,
    iso,
    stored,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World


@pytest.fixture
async def world(client, auth) -> World:
    return await complaint_world(client, auth)


# --- registering ----------------------------------------------------------------------------------------------


async def test_a_handler_registers_a_complaint_with_its_wijk_regime_and_deadlines(client, db, world):
    response = await client.post(URL, json=complaint_body(), headers=world.h["complaints"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{URL}/{created['id']}" and response.headers["etag"] == '"1"'
    assert created["state"] == "received" and created["regime"] == "alcohol" and created["version"] == 1
    assert created["location"] == {
        "street": "Oudegracht",
        "house_number": 120,
        "house_number_addition": None,
        "postcode": "3511AX",
        "city": "Utrecht",
        "latitude": None,
        "longitude": None,
        "wijk": "binnenstad",
        "wijk_source": "postcode",
    }
    category = reference.categories()["geluidsoverlast_horeca"]
    assert (
        created["acknowledgement_due_on"]
        == calendar.add_working_days(today(), category.acknowledgement_working_days).isoformat()
    )
    assert (
        created["resolution_due_on"] == calendar.add_working_days(today(), category.handling_working_days).isoformat()
    )
    assert created["overdue"] is False and created["acknowledgement_overdue"] is False
    # The handler who typed the details in sees them back (test_complaints_privacy: audited, never stored).
    assert created["reporter"] == REPORTER and created["anonymous"] is False and created["wants_feedback"] is True
    assert [(h["from_state"], h["to_state"], h["actor_id"]) for h in created["history"]] == [
        (None, "received", world.ids["complaints"])
    ]
    reporter = await db.fetchrow(
        "SELECT name, email, phone FROM complaint_reporter WHERE complaint_id = $1", uuid.UUID(created["id"])
    )
    assert dict(reporter) == REPORTER
    event = await db.fetchrow("SELECT actor_id, after FROM audit_event WHERE action = 'complaint.created'")
    assert str(event["actor_id"]) == world.ids["complaints"]
    assert event["after"] == {
        "category": "geluidsoverlast_horeca",
        "regime": "alcohol",
        "channel": "phone",
        "wijk": "binnenstad",
        "object_id": None,
        "wants_feedback": True,
        "anonymous": False,
    }


async def test_deadlines_count_working_days_from_the_day_of_receipt(client, world):
    # Received on Friday 24 April 2026: Monday 27 April is Koningsdag, so two working days end on Wednesday 29.
    created = await create_complaint(client, world, received_at="2026-04-24T16:30:00+02:00")
    assert created["acknowledgement_due_on"] == "2026-04-29"
    # Ten working days: 28, 29, 30 April, 1 May, 4 May, (5 May Bevrijdingsdag), 6, 7, 8, 11, 12 May.
    assert created["resolution_due_on"] == "2026-05-12"
    assert created["overdue"] is True and created["acknowledgement_overdue"] is True
    # A receipt late in the evening (UTC still the day before) counts from the Dutch date.
    late = await create_complaint(client, world, received_at="2026-04-23T23:30:00+00:00")
    assert late["acknowledgement_due_on"] == "2026-04-29"


async def test_the_object_gives_the_address_and_wijk_and_the_override_wins(client, world):
    about_cafe = await create_complaint(client, world, address=None, object_id=world.ids["cafe"])
    assert about_cafe["object_id"] == world.ids["cafe"]
    assert about_cafe["location"]["street"] == "Oudegracht" and about_cafe["location"]["postcode"] == "3511AX"
    assert (about_cafe["location"]["wijk"], about_cafe["location"]["wijk_source"]) == ("binnenstad", "object")
    overridden = await create_complaint(client, world, wijk="oost")
    assert (overridden["location"]["wijk"], overridden["location"]["wijk_source"]) == ("oost", "override")


async def test_coordinates_alone_need_the_handlers_wijk(client, db, world):
    coordinates = {"latitude": 52.0894, "longitude": 5.1077}
    response = await client.post(
        URL, json=complaint_body(address=None, coordinates=coordinates), headers=world.h["complaints"]
    )
    body = assert_problem(response, 422, "location_outside_wijken")
    assert body["errors"][0]["pointer"] == "/wijk"
    assert (await stored(db))["complaint"] == 0
    created = await create_complaint(client, world, address=None, coordinates=coordinates, wijk="west")
    assert created["location"]["latitude"] == 52.0894 and created["location"]["wijk"] == "west"
    assert created["location"]["street"] is None


async def test_a_complaint_about_a_sex_work_object_is_a_sexwork_complaint(client, world):
    created = await create_complaint(client, world, address=None, object_id=world.ids["club"])
    assert created["regime"] == "sexwork" and created["location"]["wijk"] == "west"
    # An alcohol handler cannot register what they then could not see.
    response = await client.post(
        URL, json=complaint_body(address=None, object_id=world.ids["club"]), headers=world.h["handler_alcohol"]
    )
    assert_problem(response, 422, "validation_failed")  # the club is not theirs to see: no such object


async def test_html_and_script_are_stored_and_returned_as_plain_text(client, db, world):
    text = "<script>alert('x')</script><img src=x onerror=alert(1)> & \"quotes\" </textarea>"
    created = await create_complaint(
        client,
        world,
        description=text,
        reporter={"name": "<b>Jan</b>", "email": "jan@example.nl"},
        address={"street": "<i>Oudegracht</i>", "house_number": 1, "postcode": "3511AB"},
    )
    response = await client.get(f"{URL}/{created['id']}", headers=world.h["complaints"])
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["description"] == text and response.json()["location"]["street"] == "<i>Oudegracht</i>"
    assert response.json()["reporter"]["name"] == "<b>Jan</b>"
    assert await db.fetchval("SELECT description FROM complaint") == text


async def test_an_anonymous_complaint_has_no_reporter_row(client, db, world):
    created = await create_complaint(client, world, reporter=None, wants_feedback=False)
    assert created["anonymous"] is True
    assert (await stored(db))["complaint_reporter"] == 0
    response = await client.get(f"{URL}/{created['id']}", headers=world.h["complaints"])
    assert response.json()["reporter"] is None
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'complaint.reporter_read'") == 0


async def test_a_phone_number_may_be_dutch_or_international_with_separators(client, db, world):
    for phone in ("030-2861111", "+31 6 1234 5678", "0031 6 12345678", "(030) 286 1111"):
        await create_complaint(client, world, reporter={"phone": phone})
    assert await db.fetchval("SELECT count(*) FROM complaint_reporter WHERE phone IS NOT NULL") == 4


async def test_only_handlers_and_admins_register_complaints(client, db, world):
    for who, status in (("insp_a1", 403), ("coord_a", 403), ("enforcer", 403), ("admin", 201)):
        response = await client.post(URL, json=complaint_body(), headers=world.h[who])
        assert response.status_code == status, (who, response.text)
    assert (await stored(db))["complaint"] == 1


async def test_the_categories_are_listed_with_their_regime_and_deadlines(client, world):
    response = await client.get(f"{URL}/categories", headers=world.h["insp_a1"])
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()["items"]}
    assert items["illegale_prostitutie"]["regime"] == "sexwork" and items["other"]["regime"] is None
    assert items["verkoop_alcohol_minderjarigen"] == {
        "key": "verkoop_alcohol_minderjarigen",
        "name": "Vermoeden verkoop alcohol aan minderjarigen",
        "regime": "nix18",
        "acknowledgement_working_days": 2,
        "handling_working_days": 15,
    }


# --- bad input: a clear error and nothing stored ----------------------------------------------------------------


def _far_future() -> str:
    return iso(datetime.now(UTC) + timedelta(days=2))


BAD_INPUT = [
    ("unknown category", {"category": "parkeeroverlast_algemeen"}, "unknown_category", "/category"),
    (
        "postcode outside the wijken",
        {"address": {"street": "Damrak", "house_number": 1, "postcode": "1012 LG", "city": "Amsterdam"}},
        "location_outside_wijken",
        "/address/postcode",
    ),
    (
        "postbus postcode",
        {"address": {"street": "Postbus", "house_number": 16200, "postcode": "3500 CE"}},
        "location_outside_wijken",
        "/address/postcode",
    ),
    ("unknown wijk override", {"wijk": "kanaleneiland"}, "validation_failed", "/wijk"),
    ("invalid e-mail", {"reporter": {"email": "anna.devries@example"}}, "invalid_contact_details", "/reporter/email"),
    (
        "e-mail with spaces",
        {"reporter": {"email": "anna de vries@example.nl"}},
        "invalid_contact_details",
        "/reporter/email",
    ),
    ("invalid phone", {"reporter": {"phone": "12345"}}, "invalid_contact_details", "/reporter/phone"),
    ("letters in phone", {"reporter": {"phone": "06-BELMIJ-NU"}}, "invalid_contact_details", "/reporter/phone"),
    (
        "feedback without contact",
        {"reporter": {"name": "Anna"}, "wants_feedback": True},
        "contact_needed_for_feedback",
        "/wants_feedback",
    ),
    ("description over the limit", {"description": "x" * 5001}, "validation_failed", "/description"),
    ("blank description", {"description": "   "}, "validation_failed", "/description"),
    ("NUL in description", {"description": "muziek\x00"}, "validation_failed", "/description"),
    ("no location", {"address": None}, "validation_failed", "/address"),
    ("incident in the future", {"incident_at": _far_future()}, "validation_failed", "/incident_at"),
    ("received in the future", {"received_at": _far_future()}, "validation_failed", "/received_at"),
    ("incident without offset", {"incident_at": "2026-01-01T12:00:00"}, "validation_failed", "/incident_at"),
    ("unknown object", {"object_id": str(uuid.uuid4())}, "validation_failed", "/object_id"),
    ("unknown field", {"reporter_ip": "10.0.0.1"}, "validation_failed", "/reporter_ip"),
    ("unknown channel", {"channel": "twitter"}, "validation_failed", "/channel"),
]


@pytest.mark.parametrize(("case", "change", "code", "pointer"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
async def test_bad_input_is_refused_and_nothing_is_stored(client, db, world, case, change, code, pointer):
    response = await client.post(URL, json=complaint_body(**change), headers=world.h["complaints"])
    body = assert_problem(response, 422, code)
    assert pointer in [error.get("pointer") for error in body["errors"]], body
    assert await stored(db) == {
        "complaint": 0,
        "complaint_reporter": 0,
        "complaint_transition": 0,
        "assignment": 0,
        "location": 0,
        "audit": 0,
    }


async def test_every_problem_of_a_complaint_is_reported_at_once(client, world):
    body = complaint_body(category="nope", reporter={"email": "x@", "phone": "1"})
    problem = assert_problem(await client.post(URL, json=body, headers=world.h["complaints"]), 422, "validation_failed")
    assert {error["pointer"] for error in problem["errors"]} == {"/category", "/reporter/email", "/reporter/phone"}


# --- resends: Idempotency-Key and the intake system's reference -----------------------------------------------


async def test_a_resend_with_the_same_idempotency_key_never_creates_a_second_complaint(client, db, world):
    headers = {**world.h["complaints"], "Idempotency-Key": "intake-2026-000123"}
    body = complaint_body(channel="api", external_reference="WEB-000123")
    first = await client.post(URL, json=body, headers=headers)
    again = await client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert (await stored(db))["complaint"] == 1
    changed = await client.post(URL, json={**body, "description": "iets anders"}, headers=headers)
    assert_problem(changed, 422, "idempotency_key_reused")
    # The stored response holds no contact details either.
    bodies = await db.fetch("SELECT response_body FROM idempotency_key")
    assert bodies and all(REPORTER["email"].encode() not in row["response_body"] for row in bodies)


async def test_concurrent_resends_create_one_complaint(client, db, world):
    headers = {**world.h["complaints"], "Idempotency-Key": "intake-concurrent-1"}
    body = complaint_body(channel="api", external_reference="WEB-000777")
    responses = await asyncio.gather(*(client.post(URL, json=body, headers=headers) for _ in range(6)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 201 and set(statuses) <= {201, 409}, statuses
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "idempotency_in_progress")
    assert (await stored(db))["complaint"] == 1
    ids = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(ids) == 1


async def test_the_same_external_reference_without_the_key_is_a_conflict(client, db, world):
    body = complaint_body(channel="api", external_reference="WEB-000124")
    await create_complaint(client, world, **{k: body[k] for k in ("channel", "external_reference")})
    response = await client.post(URL, json=body, headers={**world.h["complaints"], "Idempotency-Key": "other-key"})
    assert_problem(response, 409, "duplicate_external_reference")
    assert (await stored(db))["complaint"] == 1
    # The same reference through another channel is another complaint.
    await create_complaint(client, world, channel="email", external_reference="WEB-000124")
    assert (await stored(db))["complaint"] == 2


# --- reference data ---------------------------------------------------------------------------------------------


async def test_the_wijk_data_names_only_known_wijken_and_says_it_is_unverified(db):
    wijken = {row["code"] for row in await db.fetch("SELECT code FROM wijk")}
    areas = reference.wijk_areas()
    assert set(areas.values()) == wijken, "every wijk has a postcode area, and no unknown wijk is named"
    raw = json.loads((reference.DIRECTORY / "wijk-pc4.json").read_text(encoding="utf-8"))
    assert raw["status"] == "VERIFY" and raw["source"]
    assert reference.wijk_of_postcode("3511AX") == "binnenstad" and reference.wijk_of_postcode("1012LG") is None


def test_the_categories_of_the_issue_are_data_with_a_regime_and_working_days():
    categories = reference.categories()
    assert set(categories) == {
        "geluidsoverlast_horeca",
        "overlast_bezoekers_parkeren",
        "verkoop_alcohol_minderjarigen",
        "illegale_prostitutie",
        "drugsoverlast",
        "illegaal_gokken",
        "ondermijning",
        "other",
    }
    for category in categories.values():
        assert 0 < category.acknowledgement_working_days <= category.handling_working_days


def test_a_malformed_category_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "categories.json"
    path.write_text(
        json.dumps(
            {
                "valid_from": "2025-01-01",
                "source": "x",
                "categories": [
                    {
                        "key": "a",
                        "name": "A",
                        "regime": "alcohol",
                        "acknowledgement_working_days": 5,
                        "handling_working_days": 2,
                    }
                ],
            }
        )
    )
    with pytest.raises(reference.ReferenceDataError, match=r"categories\.json"):
        reference.load_categories(path)
    path.write_text(
        json.dumps(
            {
                "valid_from": "2025-01-01",
                "source": "x",
                "categories": [
                    {
                        "key": "a",
                        "name": "A",
                        "regime": "horeca",
                        "acknowledgement_working_days": 1,
                        "handling_working_days": 2,
                    }
                ],
            }
        )
    )
    with pytest.raises(reference.ReferenceDataError, match=r"categories\.json"):
        reference.load_categories(path)
