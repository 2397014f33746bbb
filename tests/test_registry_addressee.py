"""The addressee of an establishment's letters: recorded append-only with its history, audited, refused when
incomplete (nothing stored), visible only to who may see the establishment."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem
from tests.registry_helpers import ALL_REGIMES, audit_actions, count, create_object

OPERATOR = {
    "name": "Café De Hoek B.V.",
    "attention": "de heer J. Jansen",
    "street": "Oudegracht 1",
    "postcode": "3511 AA",
    "city": "Utrecht",
    "email": "info@dehoek.example",
    "letters_by_email": True,
}


@pytest.fixture
def coordinator(auth):
    return auth("coord-1", roles=["coordinator"], regimes=ALL_REGIMES)


async def test_a_new_addressee_keeps_the_earlier_one_as_history_and_is_audited(client, auth, coordinator, db):
    object_id = (await create_object(client, coordinator))["id"]
    url = f"/api/v1/objects/{object_id}/addressee"
    empty = await client.get(url, headers=coordinator)
    assert empty.status_code == 200 and empty.json()["current"] is None and empty.json()["history"] == []

    assert (await client.put(url, json=OPERATOR, headers=coordinator)).status_code == 200
    officer = auth("officer-1", roles=["enforcement_officer"], regimes=["alcohol"])
    moved = {**OPERATOR, "street": "Neude 5", "email": None, "letters_by_email": False}
    response = await client.put(url, json=moved, headers=officer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current"]["street"] == "Neude 5" and body["current"]["email"] is None
    assert [entry["street"] for entry in body["history"]] == ["Neude 5", "Oudegracht 1"]
    assert (await audit_actions(db, object_id)).count("establishment.addressee_set") == 2
    with pytest.raises(Exception, match="append-only"):
        await db.execute("UPDATE object_addressee SET street = 'x'")


async def test_an_incomplete_addressee_is_a_422_naming_the_field_and_stores_nothing(client, coordinator, db):
    object_id = (await create_object(client, coordinator))["id"]
    incomplete = {key: value for key, value in OPERATOR.items() if key != "city"}
    response = await client.put(f"/api/v1/objects/{object_id}/addressee", json=incomplete, headers=coordinator)
    problem = assert_problem(response, 422, "validation_failed")
    assert [error["pointer"] for error in problem["errors"]] == ["/city"]
    assert await count(db, "object_addressee") == 0


async def test_letters_by_e_mail_without_an_e_mail_address_is_a_422_and_stores_nothing(client, coordinator, db):
    object_id = (await create_object(client, coordinator))["id"]
    no_address = {**OPERATOR, "email": None}
    response = await client.put(f"/api/v1/objects/{object_id}/addressee", json=no_address, headers=coordinator)
    problem = assert_problem(response, 422, "validation_failed")
    assert [error["pointer"] for error in problem["errors"]] == ["/letters_by_email"]
    assert await count(db, "object_addressee") == 0


async def test_the_addressee_of_an_establishment_you_may_not_see_is_404(client, auth, coordinator):
    object_id = (await create_object(client, coordinator))["id"]
    outsider = auth("coord-2", roles=["coordinator"], regimes=["gambling"])
    assert (await client.get(f"/api/v1/objects/{object_id}/addressee", headers=outsider)).status_code == 404
    refused = await client.put(f"/api/v1/objects/{object_id}/addressee", json=OPERATOR, headers=outsider)
    assert refused.status_code == 404
    inspector = auth("insp-1", roles=["inspector"], regimes=ALL_REGIMES)
    assert (
        await client.put(f"/api/v1/objects/{object_id}/addressee", json=OPERATOR, headers=inspector)
    ).status_code == 403
