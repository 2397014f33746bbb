"""Phone sync of returned inspections: the phones of the inspector who submitted it and of those present hear
that a coordinator returned it (the reason, the revision to correct), and drop it once it is corrected."""

from __future__ import annotations

import uuid

import pytest

from tests.inspection_helpers import URL, World, build_world, put

SYNC = "/api/v1/sync"
REASON = "AW-06: foto onscherp"


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, ("coord_a", "insp_a1", "insp_a2", "insp_b", "admin"))


async def sync(client, world: World, who: str, cursor: str | None = None) -> dict:
    response = await client.get(SYNC, params={"cursor": cursor} if cursor else {}, headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_returned_inspection_reaches_the_phones_of_its_inspectors_until_corrected(client, world):
    cursors = {who: (await sync(client, world, who))["cursor"] for who in ("insp_a1", "insp_a2", "insp_b")}
    inspection_id = str(uuid.uuid4())
    body = world.body("insp_a1", inspector_ids=[world.ids["insp_a1"], world.ids["insp_a2"]])
    first = (await put(client, world, body, inspection_id=inspection_id)).json()
    returned = await client.post(
        f"{URL}/{inspection_id}/return",
        json={"reason": REASON},
        headers={**world.h["coord_a"], "If-Match": f'"{first["version"]}"'},
    )
    assert returned.status_code == 200, returned.text

    for who in ("insp_a1", "insp_a2"):
        page = await sync(client, world, who, cursors[who])
        assert [(r["id"], r["revision"], r["return_reason"]) for r in page["returned_inspections"]] == [
            (inspection_id, 1, REASON)
        ]
        assert page["returned_inspections"][0]["object_id"] == world.ids["cafe"]
        cursors[who] = page["cursor"]
    assert (await sync(client, world, "insp_b", cursors["insp_b"]))["returned_inspections"] == []
    # A phone that starts again (full sync) gets it too.
    assert [r["id"] for r in (await sync(client, world, "insp_a2"))["returned_inspections"]] == [inspection_id]
    # The inspector's list says why.
    listed = (await client.get(URL, params={"state": "returned"}, headers=world.h["insp_a1"])).json()["items"]
    assert [(item["id"], item["return_reason"]) for item in listed] == [(inspection_id, REASON)]

    corrected = await put(
        client,
        world,
        {**body, "observations": "Beter gefotografeerd.", "base_revision": 1},
        inspection_id=inspection_id,
    )
    assert corrected.status_code == 200 and corrected.json()["state"] == "corrected"
    for who in ("insp_a1", "insp_a2"):
        page = await sync(client, world, who, cursors[who])
        assert page["returned_inspections"] == []
        assert page["removed"] == [{"entity": "inspection", "id": inspection_id, "reason": "corrected"}]
    assert (await sync(client, world, "insp_a1"))["returned_inspections"] == []
