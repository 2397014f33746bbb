"""Every read of a sex-work inspection is logged (DOMAIN.md, sensitive data): the inspection itself, its revisions,
the list that shows it and the violations list, one `inspection.read` event per sex-work inspection shown, naming
the reader and the request, which the auditor's reads export (the AVG request) lists. Reads of other inspections
write nothing."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.inspection_helpers import HORECA_NO_MANAGER, SEXWORK_OK, URL, World, build_world, submitted
from tests.photo_helpers import entry, listed_jpeg, photo_url, upload

READS = "/api/v1/audit-events/reads"
VIOLATIONS = "/api/v1/violations"


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, users=("admin", "coord_a", "insp_a1", "insp_sw", "auditor"))


def _no_manager_nor_age_notice(world: World) -> dict:
    """The alcohol checklist with two violations (no manager, no age notice), the second with its photo."""
    return {"checklist_version_id": world.ids["alcohol-horeca"], "answers": {**HORECA_NO_MANAGER, "AW-06": "no"}}


@pytest.fixture
async def sexwork(client, world) -> dict:
    """The sex club inspected by insp_sw: a sex-work inspection (also of alcohol) with two violations."""
    photo_id = str(uuid.uuid4())
    body = world.body(
        "insp_sw",
        object_id=world.ids["club"],
        observations=None,
        checklists=[
            _no_manager_nor_age_notice(world),
            {"checklist_version_id": world.ids["sexwork-establishment"], "answers": SEXWORK_OK},
        ],
        photos=[entry(photo_id, listed_jpeg(photo_id))],
    )
    inspection = await submitted(client, world, body, "insp_sw")
    assert inspection["regimes"] == ["alcohol", "sexwork"] and len(inspection["violations"]) == 2
    return inspection


@pytest.fixture
async def cafe(client, world) -> dict:
    """The café inspected by insp_a1 (alcohol only), with the same two violations."""
    return await submitted(client, world, world.violating_body("insp_a1"), "insp_a1")


async def reads_of(client, world: World, who: str) -> list[dict[str, str]]:
    """The reads export (CSV) of `who`, as the auditor gets it: action, object and request per row."""
    response = await client.get(READS, params={"actor_id": world.ids[who]}, headers=world.h["auditor"])
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text), delimiter=";"))[1:]
    return [
        {"actor_id": r[1], "action": r[3], "object_type": r[4], "object_id": r[5], "request_id": r[6]} for r in rows
    ]


def read_event(world: World, who: str, inspection: dict, response) -> dict[str, str]:
    return {
        "actor_id": world.ids[who],
        "action": "inspection.read",
        "object_type": "inspection",
        "object_id": inspection["id"],
        "request_id": response.headers["X-Request-ID"],
    }


async def test_reading_a_sex_work_inspection_is_logged_each_time(client, world, sexwork):
    first = await client.get(f"{URL}/{sexwork['id']}", headers=world.h["coord_a"])
    assert first.status_code == 200, first.text
    # A revalidation shows the reader the same data again: it is a read too.
    again = await client.get(
        f"{URL}/{sexwork['id']}", headers={**world.h["coord_a"], "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert await reads_of(client, world, "coord_a") == [
        read_event(world, "coord_a", sexwork, first),
        read_event(world, "coord_a", sexwork, again),
    ]


async def test_reading_a_sex_work_inspections_revisions_is_logged(client, world, sexwork):
    response = await client.get(f"{URL}/{sexwork['id']}/revisions", headers=world.h["coord_a"])
    assert response.status_code == 200, response.text
    assert await reads_of(client, world, "coord_a") == [read_event(world, "coord_a", sexwork, response)]


async def test_a_list_logs_a_read_of_each_sex_work_inspection_it_shows(client, world, sexwork, cafe):
    response = await client.get(URL, headers=world.h["coord_a"])
    assert response.status_code == 200, response.text
    assert {item["id"] for item in response.json()["items"]} == {sexwork["id"], cafe["id"]}
    assert await reads_of(client, world, "coord_a") == [read_event(world, "coord_a", sexwork, response)]


async def test_the_violations_list_logs_one_read_per_sex_work_inspection(client, world, sexwork, cafe):
    for params in ({"inspection_id": sexwork["id"]}, {"object_id": world.ids["club"]}):
        response = await client.get(VIOLATIONS, params=params, headers=world.h["coord_a"])
        assert response.status_code == 200, response.text
        assert [v["inspection_id"] for v in response.json()["items"]] == [sexwork["id"]] * 2
        # Two violations shown, one inspection read.
        assert (await reads_of(client, world, "coord_a"))[-1:] == [read_event(world, "coord_a", sexwork, response)]
    assert len(await reads_of(client, world, "coord_a")) == 2


async def test_reads_of_other_inspections_are_not_logged(client, world, db, sexwork, cafe):
    reads = [
        (f"{URL}/{cafe['id']}", {}),
        (f"{URL}/{cafe['id']}/revisions", {}),
        (URL, {"object_id": world.ids["cafe"]}),
        (VIOLATIONS, {"inspection_id": cafe["id"]}),
        (VIOLATIONS, {"object_id": world.ids["cafe"]}),
    ]
    for who in ("coord_a", "insp_a1"):
        for path, params in reads:
            response = await client.get(path, params=params, headers=world.h[who])
            assert response.status_code == 200, response.text
            assert response.json().get("id") == cafe["id"] or response.json()["items"]
    # insp_a1 is not scoped for sex work: their unfiltered list cannot show (nor log) the sex-work inspection.
    response = await client.get(URL, headers=world.h["insp_a1"])
    assert [item["id"] for item in response.json()["items"]] == [cafe["id"]]
    assert await reads_of(client, world, "insp_a1") == []
    # Of all coord_a read, only the one read of the sex-work inspection is logged.
    response = await client.get(f"{URL}/{sexwork['id']}", headers=world.h["coord_a"])
    assert await reads_of(client, world, "coord_a") == [read_event(world, "coord_a", sexwork, response)]
    logged = await db.fetch("SELECT object_id FROM audit_event WHERE action = 'inspection.read'")
    assert [row["object_id"] for row in logged] == [sexwork["id"]]


async def test_a_photo_of_a_sex_work_inspection_is_a_logged_read_of_it(client, world, sexwork):
    """The thumbnail or display image of a sex-work inspection's photo shows its evidence: a read of the inspection."""
    inspection, [photo_id] = sexwork, sexwork["expected_photos"]
    data = listed_jpeg(photo_id)
    assert (await upload(client, world.h["insp_sw"], inspection["id"], photo_id, data)).status_code == 200
    before = await reads_of(client, world, "insp_sw")
    response = await client.get(photo_url(inspection["id"], photo_id, "/thumbnail"), headers=world.h["insp_sw"])
    assert response.status_code == 200, response.text
    assert await reads_of(client, world, "insp_sw") == [*before, read_event(world, "insp_sw", inspection, response)]
