"""Establishments (/api/v1/objects) and locations over HTTP: CRUD with ETag/If-Match, regime visibility,
search filters, keyset pagination under concurrent inserts, and every bad input refused with nothing stored."""

from __future__ import annotations

import asyncio

import pytest

from backend.core.pagination import encode_cursor
from backend.registry.models import KINDS, SEX_KINDS
from tests.helpers import assert_problem
from tests.registry_helpers import ALL_REGIMES, audit_actions, count, create_object, object_body


@pytest.fixture
def coordinator(auth):
    return auth("coord-1", roles=["coordinator"], regimes=ALL_REGIMES)


def pointers(body: dict) -> list[str]:
    return [error.get("pointer") for error in body["errors"]]


async def ids(client, headers, query: str = "") -> list[str]:
    response = await client.get(f"/api/v1/objects?limit=200&{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- create, read, replace -------------------------------------------------------------------------------


async def test_create_normalises_the_address_and_reads_back_with_its_etag(client, coordinator, db):
    response = await client.post(
        "/api/v1/objects",
        headers=coordinator,
        json=object_body(
            postcode="3511 ax",
            house_number_addition="bis",
            kvk_number="12345678",
            latitude=52.09,
            longitude=5.12,
            regimes=["nix18", "alcohol", "nix18"],
        ),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/objects/{created['id']}"
    assert created["postcode"] == "3511AX"
    assert created["house_number_addition"] == "BIS"
    assert created["regimes"] == ["alcohol", "nix18"]
    assert created["city"] == "Utrecht" and created["status"] == "active" and created["supervision_level"] == "regular"

    read = await client.get(f"/api/v1/objects/{created['id']}", headers=coordinator)
    assert read.status_code == 200 and read.json() == created and read.headers["etag"] == '"1"'
    row = await db.fetchrow(
        "SELECT postcode, kvk_number, version FROM establishment WHERE id = $1::uuid", created["id"]
    )
    assert dict(row) == {"postcode": "3511AX", "kvk_number": "12345678", "version": 1}
    assert await audit_actions(db, created["id"]) == ["establishment.created"]


async def test_every_kind_and_wijk_can_be_registered(client, coordinator, db):
    """The API's enums and the database's checks name the same kinds (a mismatch would be a 500)."""
    wijken = [row["code"] for row in await db.fetch("SELECT code FROM wijk ORDER BY code")]
    for number, kind in enumerate(sorted(KINDS), 1):
        regimes = ["sexwork"] if kind in SEX_KINDS else ["nix18"]
        await create_object(
            client,
            coordinator,
            name=f"Object {kind}",
            kind=kind,
            regimes=regimes,
            house_number=number,
            wijk=wijken[number % len(wijken)],
        )
    assert await db.fetchval("SELECT count(DISTINCT kind) FROM establishment") == len(KINDS) == 18
    assert await db.fetchval("SELECT count(DISTINCT wijk) FROM establishment") == len(wijken) == 10


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"wijk": "lombok"}, "/wijk"),
        ({"postcode": "1234 A"}, "/postcode"),
        ({"postcode": "0123AB"}, "/postcode"),
        ({"postcode": "12345AB"}, "/postcode"),
        ({"postcode": "1234  AB"}, "/postcode"),
        ({"kvk_number": "1234567"}, "/kvk_number"),
        ({"kind": "discotheek"}, "/kind"),
        ({"employee_class": "49"}, "/employee_class"),
        ({"latitude": 52.09}, "/longitude"),
        ({"latitude": 5.12, "longitude": 52.09}, "/latitude"),  # swapped: outside the Netherlands
        ({"kind": "seks_club", "regimes": ["alcohol"]}, "/regimes"),
        ({"regimes": []}, "/regimes"),
        ({"regimes": ["horeca"]}, "/regimes/0"),
        ({"name": "   "}, "/name"),
        ({"house_number": 0}, "/house_number"),
    ],
)
async def test_bad_object_input_is_422_with_a_pointer_and_stores_nothing(client, coordinator, db, change, pointer):
    response = await client.post("/api/v1/objects", json=object_body(**change), headers=coordinator)
    body = assert_problem(response, 422, "validation_failed")
    assert pointer in pointers(body)
    assert await count(db, "establishment") == 0
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'establishment'") == 0


async def test_only_coordinators_and_admins_write_objects(client, auth, db, coordinator):
    inspector = auth("insp-1", roles=["inspector"], regimes=ALL_REGIMES)
    assert_problem(await client.post("/api/v1/objects", json=object_body(), headers=inspector), 403, "forbidden")
    created = await create_object(client, coordinator)
    response = await client.put(
        f"/api/v1/objects/{created['id']}", json=object_body(name="X"), headers={**inspector, "If-Match": '"1"'}
    )
    assert_problem(response, 403, "forbidden")
    admin = auth("admin-1", roles=["admin"], regimes=["alcohol"])
    await create_object(client, admin, name="Door de admin")
    assert await count(db, "establishment") == 2


async def test_replace_needs_the_current_etag(client, coordinator, db):
    created = await create_object(client, coordinator)
    url = f"/api/v1/objects/{created['id']}"
    changed = object_body(supervision_level="verscherpt", employee_class="50_or_more")

    assert_problem(await client.put(url, json=changed, headers=coordinator), 428, "precondition_required")
    assert_problem(
        await client.put(url, json=changed, headers={**coordinator, "If-Match": '"7"'}), 412, "stale_version"
    )
    assert await db.fetchval("SELECT version FROM establishment WHERE id = $1::uuid", created["id"]) == 1

    response = await client.put(url, json=changed, headers={**coordinator, "If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json()["supervision_level"] == "verscherpt"
    # The same ETag again is stale now: a second writer who read version 1 cannot overwrite this.
    assert_problem(
        await client.put(url, json=object_body(), headers={**coordinator, "If-Match": '"1"'}), 412, "stale_version"
    )
    event = await db.fetchrow(
        "SELECT before, after FROM audit_event WHERE object_id = $1 AND action = 'establishment.updated'", created["id"]
    )
    assert event["before"] == {"supervision_level": "regular", "employee_class": "under_50"}
    assert event["after"] == {"supervision_level": "verscherpt", "employee_class": "50_or_more"}


async def test_bad_input_on_replace_changes_nothing(client, coordinator, db):
    created = await create_object(client, coordinator)
    response = await client.put(
        f"/api/v1/objects/{created['id']}", json=object_body(wijk="nergens"), headers={**coordinator, "If-Match": '"1"'}
    )
    assert "/wijk" in pointers(assert_problem(response, 422, "validation_failed"))
    assert await db.fetchval("SELECT wijk FROM establishment WHERE id = $1::uuid", created["id"]) == "binnenstad"


async def test_objects_are_closed_not_deleted(client, coordinator, db):
    created = await create_object(client, coordinator)
    url = f"/api/v1/objects/{created['id']}"
    assert_problem(await client.delete(url, headers=coordinator), 405, "method_not_allowed")
    response = await client.put(url, json=object_body(status="closed"), headers={**coordinator, "If-Match": '"1"'})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert await ids(client, coordinator, "status=active") == []
    assert await ids(client, coordinator, "status=closed") == [created["id"]]


async def test_one_active_object_per_name_and_address(client, coordinator, db):
    first = await create_object(client, coordinator)
    again = await client.post(
        "/api/v1/objects", json=object_body(name="CAFÉ HET HOEKJE", postcode="3511ax"), headers=coordinator
    )
    assert_problem(again, 409, "duplicate_object")
    assert await count(db, "establishment") == 1
    # Another business in the same building (other addition) is fine, and so is a new operator once the old
    # one is closed.
    await create_object(client, coordinator, house_number_addition="A")
    closed = await client.put(
        f"/api/v1/objects/{first['id']}", json=object_body(status="closed"), headers={**coordinator, "If-Match": '"1"'}
    )
    assert closed.status_code == 200
    await create_object(client, coordinator)
    assert await count(db, "establishment") == 3


async def test_create_with_idempotency_key_creates_once(client, coordinator, db):
    headers = {**coordinator, "Idempotency-Key": "obj-1"}
    first = await client.post("/api/v1/objects", json=object_body(), headers=headers)
    second = await client.post("/api/v1/objects", json=object_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json() and second.headers["etag"] == '"1"'
    assert await count(db, "establishment") == 1


# --- visibility ---------------------------------------------------------------------------------------------


async def test_objects_are_visible_only_to_matching_regimes(client, auth, coordinator):
    coffeeshop = await create_object(
        client, coordinator, name="Coffeeshop X", kind="coffeeshop", regimes=["coffeeshop"]
    )
    cafe = await create_object(client, coordinator)
    alcohol_inspector = auth("insp-a", roles=["inspector"], regimes=["alcohol"])
    coffeeshop_inspector = auth("insp-c", roles=["inspector"], regimes=["coffeeshop"])

    assert_problem(await client.get(f"/api/v1/objects/{coffeeshop['id']}", headers=alcohol_inspector), 404, "not_found")
    assert await ids(client, alcohol_inspector) == [cafe["id"]]
    assert (await client.get(f"/api/v1/objects/{coffeeshop['id']}", headers=coffeeshop_inspector)).status_code == 200
    assert await ids(client, coffeeshop_inspector) == [coffeeshop["id"]]


async def test_sex_businesses_are_hidden_without_the_sexwork_regime(client, auth, coordinator):
    club = await create_object(
        client, coordinator, name="Club Zandpad", kind="seks_club", regimes=["alcohol", "sexwork"]
    )
    url = f"/api/v1/objects/{club['id']}"
    # Alcohol matches, yet without sexwork the club does not exist for this caller: not read, not found, not
    # changed.
    alcohol_only = auth("insp-a", roles=["inspector"], regimes=["alcohol", "nix18"])
    assert_problem(await client.get(url, headers=alcohol_only), 404, "not_found")
    assert await ids(client, alcohol_only, "q=zandpad") == []
    alcohol_coordinator = auth("coord-a", roles=["coordinator"], regimes=["alcohol"])
    response = await client.put(
        url,
        json=object_body(name="Club Zandpad", kind="seks_club", regimes=["alcohol", "sexwork"]),
        headers={**alcohol_coordinator, "If-Match": '"1"'},
    )
    assert_problem(response, 404, "not_found")

    with_sexwork = auth("insp-s", roles=["inspector"], regimes=["alcohol", "sexwork"])
    assert (await client.get(url, headers=with_sexwork)).status_code == 200
    assert await ids(client, with_sexwork, "q=zandpad") == [club["id"]]


async def test_writers_cannot_create_what_they_could_not_see(client, auth, db):
    alcohol_coordinator = auth("coord-a", roles=["coordinator"], regimes=["alcohol"])
    for regimes, kind in ((["coffeeshop"], "coffeeshop"), (["alcohol", "sexwork"], "seks_club")):
        response = await client.post(
            "/api/v1/objects", json=object_body(kind=kind, regimes=regimes), headers=alcohol_coordinator
        )
        assert pointers(assert_problem(response, 422, "validation_failed")) == ["/regimes"]
    assert await count(db, "establishment") == 0


# --- search and pagination ----------------------------------------------------------------------------------


async def test_search_filters(client, coordinator):
    made = {
        "domtoren": await create_object(
            client,
            coordinator,
            name="Café De Domtoren",
            trade_name="Domcafé",
            street="Domplein",
            house_number=12,
            postcode="3512JC",
        ),
        "kade": await create_object(
            client,
            coordinator,
            name="Coffeeshop De Kade",
            kind="coffeeshop",
            regimes=["coffeeshop"],
            street="Bemuurde Weerd Oostzijde",
            house_number=5,
            postcode="3514AN",
        ),
        "lombok": await create_object(
            client,
            coordinator,
            name="Slijterij 100% Lombok",
            kind="slijterij",
            wijk="west",
            street="Kanaalstraat",
            house_number=88,
            postcode="3531CL",
        ),
        "hal": await create_object(
            client,
            coordinator,
            name="Speelhal Noord",
            kind="speelautomatenhal",
            regimes=["gambling"],
            wijk="noordwest",
            street="Kanaalstraat",
            house_number=12,
            postcode="3531CE",
            status="closed",
        ),
    }

    async def found(query: str) -> set[str]:
        by_id = {v["id"]: k for k, v in made.items()}
        return {by_id[i] for i in await ids(client, coordinator, query)}

    assert await found("q=DOM") == {"domtoren"}
    assert await found("q=domcaf") == {"domtoren"}  # the trade name counts too
    assert await found("q=de k") == {"kade"}
    assert await found("q=100%25") == {"lombok"}  # % is a character, not a wildcard
    assert await found("q=_") == set()
    assert await found("postcode=3512 jc") == {"domtoren"}
    assert await found("postcode=3531") == {"lombok", "hal"}
    assert await found("street=kanaal") == {"lombok", "hal"}
    assert await found("street=kanaalstraat&house_number=88") == {"lombok"}
    assert await found("wijk=west") == {"lombok"}
    assert await found("kind=coffeeshop") == {"kade"}
    assert await found("regime=gambling") == {"hal"}
    assert await found("status=closed") == {"hal"}
    assert await found("regime=alcohol&wijk=binnenstad") == {"domtoren"}
    assert await found("") == set(made)

    response = await client.get("/api/v1/objects?postcode=35XX", headers=coordinator)
    assert_problem(response, 422, "validation_failed")
    response = await client.get("/api/v1/objects?kind=discotheek", headers=coordinator)
    assert_problem(response, 422, "validation_failed")


async def test_pages_stay_stable_while_objects_are_inserted(client, coordinator, db):
    for name in ("Bar B", "Bar D", "Bar F", "Bar H", "Bar J", "Bar L", "Bar N"):
        await create_object(client, coordinator, name=name)

    async def page(cursor: str | None) -> dict:
        query = "q=bar&limit=3" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(f"/api/v1/objects?{query}", headers=coordinator)
        assert response.status_code == 200, response.text
        return response.json()

    seen: list[str] = []
    body = await page(None)
    seen += [item["name"] for item in body["items"]]
    assert seen == ["Bar B", "Bar D", "Bar F"]
    # Others register objects while this client pages: before and after its position, at the same time.
    await asyncio.gather(
        *(create_object(client, coordinator, name=name) for name in ("Bar A", "Bar C", "Bar G", "Bar M"))
    )
    while body["next_cursor"]:
        body = await page(body["next_cursor"])
        seen += [item["name"] for item in body["items"]]
    # Every object that existed is seen exactly once and in order; of the new ones, those after the position.
    assert seen == ["Bar B", "Bar D", "Bar F", "Bar G", "Bar H", "Bar J", "Bar L", "Bar M", "Bar N"]


async def test_a_cursor_we_did_not_hand_out_is_400(client, coordinator):
    for cursor in ("nonsense", encode_cursor(1, 2), encode_cursor("Bar", "not-a-uuid")):
        response = await client.get(f"/api/v1/objects?cursor={cursor}", headers=coordinator)
        assert_problem(response, 400, "invalid_cursor")


# --- locations ----------------------------------------------------------------------------------------------


def location_body(**overrides) -> dict:
    body = {
        "street": "Zandpad",
        "house_number": 7,
        "postcode": "3601 NA",
        "wijk": "noordwest",
        "description": "advertentie, telefoonnummer in dossier",
        "regimes": ["sexwork"],
    }
    body.update(overrides)
    return body


async def test_a_location_at_an_active_objects_address_is_linked_to_it(client, auth, coordinator, db):
    cafe = await create_object(client, coordinator, house_number_addition="a")
    inspector = auth("insp-1", roles=["inspector"], regimes=["alcohol", "nix18"])
    response = await client.post(
        "/api/v1/locations",
        headers=inspector,
        json=location_body(
            street="Oudegracht",
            house_number=100,
            house_number_addition="A",
            postcode="3511ax",
            wijk="binnenstad",
            regimes=["alcohol"],
            description=None,
        ),
    )
    assert response.status_code == 201, response.text
    linked = response.json()
    assert linked["object_id"] == cafe["id"] and linked["postcode"] == "3511AX"
    assert response.headers["location"] == f"/api/v1/locations/{linked['id']}"

    elsewhere = await client.post(
        "/api/v1/locations",
        headers=inspector,
        json=location_body(
            street="Oudegracht", house_number=102, postcode="3511AX", wijk="binnenstad", regimes=["alcohol"]
        ),
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["object_id"] is None
    read = await client.get(f"/api/v1/locations/{linked['id']}", headers=inspector)
    assert read.status_code == 200 and read.json() == linked
    assert await audit_actions(db, linked["id"]) == ["location.created"]


async def test_location_visibility_and_audited_reads_of_sex_work_addresses(client, auth, db):
    finder = auth("insp-s", roles=["inspector"], regimes=["alcohol", "sexwork"])
    response = await client.post("/api/v1/locations", headers=finder, json=location_body())
    assert response.status_code == 201, response.text
    location = response.json()
    url = f"/api/v1/locations/{location['id']}"

    assert_problem(
        await client.get(url, headers=auth("insp-a", roles=["inspector"], regimes=["alcohol"])), 404, "not_found"
    )
    assert await audit_actions(db, location["id"]) == ["location.created"]
    assert (await client.get(url, headers=finder)).status_code == 200
    assert await audit_actions(db, location["id"]) == ["location.created", "location.read"]


async def test_the_link_shows_only_objects_the_reader_may_see(client, auth, coordinator):
    club = await create_object(
        client,
        coordinator,
        name="Club Zandpad",
        kind="seks_club",
        regimes=["sexwork", "alcohol"],
        street="Zandpad",
        house_number=7,
        postcode="3601NA",
        wijk="noordwest",
    )
    both = auth("insp-s", roles=["inspector"], regimes=["alcohol", "sexwork"])
    response = await client.post("/api/v1/locations", headers=both, json=location_body(regimes=["alcohol"]))
    assert response.json()["object_id"] == club["id"]
    alcohol_only = auth("insp-a", roles=["inspector"], regimes=["alcohol"])
    read = await client.get(f"/api/v1/locations/{response.json()['id']}", headers=alcohol_only)
    assert read.status_code == 200 and read.json()["object_id"] is None


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"wijk": "lombok"}, "/wijk"),
        ({"postcode": "3601"}, "/postcode"),
        ({"regimes": ["gambling"]}, "/regimes"),
        ({"latitude": 52.1}, "/longitude"),
    ],
)
async def test_bad_location_input_stores_nothing(client, auth, db, change, pointer):
    inspector = auth("insp-s", roles=["inspector"], regimes=["sexwork"])
    response = await client.post("/api/v1/locations", headers=inspector, json=location_body(**change))
    assert pointer in pointers(assert_problem(response, 422, "validation_failed"))
    assert await count(db, "location") == 0


async def test_who_may_record_a_location(client, auth, db):
    for roles, status in (
        (["auditor"], 403),
        (["enforcement_officer"], 403),
        (["complaints_officer"], 201),
        (["inspector"], 201),
    ):
        headers = auth(f"user-{roles[0]}", roles=roles, regimes=["sexwork"])
        response = await client.post("/api/v1/locations", headers=headers, json=location_body())
        assert response.status_code == status, (roles, response.text)
    assert await count(db, "location") == 2


async def test_search_on_an_unknown_wijk_is_422_not_an_empty_page(client, coordinator):
    await create_object(client, coordinator)
    response = await client.get("/api/v1/objects?wijk=atlantis", headers=coordinator)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"detail": "unknown wijk", "parameter": "wijk"}]
    assert (await client.get("/api/v1/objects?wijk=binnenstad", headers=coordinator)).status_code == 200
