"""The auditor's reading of the trail: per object, by actor and by period (keyset pages, with the actor's display
name), and a person's reads as CSV; always within the reader's regime scope: events of sex-work records (a
complaint, an inspection, a location...) only with the sexwork regime, like the records themselves."""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from backend.audit import service as audit_service
from backend.core import db as core_db
from backend.core.audit import verify_chain
from backend.core.auth import Principal
from backend.core.calendar import today
from backend.core.config import PROJECT_ROOT
from backend.core.migrations import migrate
from tests.complaint_helpers import complaint_world, create_complaint
from tests.conftest import app_client, make_settings
from tests.helpers import assert_problem, register
from tests.inspection_helpers import HORECA_OK, SEXWORK_OK, World, submitted
from tests.migration_helpers import database_before
from tests.registry_helpers import ALL_REGIMES, create_object

EVENTS = "/api/v1/audit-events"
READS = f"{EVENTS}/reads"
SCOPE_MIGRATION = "0016_audit_scope.sql"
NOT_SEXWORK = [regime for regime in ALL_REGIMES if regime != "sexwork"]


@pytest.fixture
async def world(client, auth) -> World:
    world = await complaint_world(client, auth)
    world.h["auditor"] = auth("auditor", roles=["auditor"], regimes=ALL_REGIMES)
    world.h["auditor_no_sw"] = auth("auditor-no-sw", roles=["auditor"], regimes=NOT_SEXWORK)
    world.h["admin_no_sw"] = auth("admin-no-sw", roles=["admin"], regimes=NOT_SEXWORK)
    world.h["gerda"] = auth("klacht-gerda", roles=["complaints_officer"], regimes=ALL_REGIMES, name="Gerda Mulder")
    for who in ("auditor", "auditor_no_sw", "admin_no_sw", "gerda"):
        world.ids[who] = str(await register(client, world.h[who]))
    return world


@pytest.fixture
async def sexwork(client, world) -> dict[str, str]:
    """A sex-work complaint (with its reporter read), an inspection of the sex club, and a sex-work location read
    once; the ids by object type."""
    complaint = await create_complaint(
        client,
        world,
        "gerda",
        category="illegale_prostitutie",
        description="Advertentie, vermoedelijk thuisprostitutie zonder vergunning.",
    )
    assert complaint["regime"] == "sexwork"
    inspection = await submitted(
        client,
        world,
        world.body(
            "insp_sw",
            object_id=world.ids["club"],
            observations=None,
            checklists=[
                {"checklist_version_id": world.ids["sexwork-establishment"], "answers": SEXWORK_OK},
                {"checklist_version_id": world.ids["alcohol-horeca"], "answers": HORECA_OK},
            ],
        ),
        "insp_sw",
    )
    location = await client.post(
        "/api/v1/locations",
        headers=world.h["insp_sw"],
        json={
            "street": "Zandpad",
            "house_number": 9,
            "postcode": "3552 AB",
            "wijk": "noordwest",
            "regimes": ["sexwork"],
        },
    )
    assert location.status_code == 201, location.text
    read = await client.get(f"/api/v1/locations/{location.json()['id']}", headers=world.h["insp_sw"])
    assert read.status_code == 200, read.text
    return {"complaint": complaint["id"], "inspection": inspection["id"], "location": location.json()["id"]}


async def trail_of(client, headers, object_type: str, object_id: str):
    return await client.get(EVENTS, params={"object_type": object_type, "object_id": object_id}, headers=headers)


async def walk(client, headers, params: dict) -> list[dict]:
    """Every event of a filtered trail, page by page (limit 2)."""
    items, params = [], {**params, "limit": 2}
    for _ in range(100):
        response = await client.get(EVENTS, params=params, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if response.json()["next_cursor"] is None:
            return items
        params["cursor"] = response.json()["next_cursor"]
    raise AssertionError("pagination does not end")


# --- the sex-work scope ----------------------------------------------------------------------------------------


async def test_the_trail_of_a_sex_work_record_is_404_without_the_sexwork_regime(client, world, sexwork):
    for object_type, object_id in sexwork.items():
        for who in ("auditor_no_sw", "admin_no_sw"):
            response = await trail_of(client, world.h[who], object_type, object_id)
            missing = await trail_of(client, world.h[who], object_type, str(uuid.uuid4()))
            assert_problem(response, 404, "not_found")
            assert response.json()["detail"] == missing.json()["detail"]
        shown = await trail_of(client, world.h["auditor"], object_type, object_id)
        assert shown.status_code == 200, shown.text
        assert shown.json()["items"] and all(e["object_id"] == object_id for e in shown.json()["items"])
    created = (await trail_of(client, world.h["auditor"], "complaint", sexwork["complaint"])).json()["items"][0]
    assert created["action"] == "complaint.created" and created["after"]["category"] == "illegale_prostitutie"
    # The café's trail stays readable without sexwork.
    cafe = await trail_of(client, world.h["auditor_no_sw"], "establishment", world.ids["cafe"])
    assert cafe.status_code == 200 and [e["action"] for e in cafe.json()["items"]] == ["establishment.created"]


async def test_lists_by_actor_and_period_leave_out_sex_work_events_without_the_regime(client, world, sexwork):
    everything = await walk(client, world.h["auditor"], {})
    hidden = await walk(client, world.h["auditor_no_sw"], {})
    # ...and the sex club's registration and the sex-work checklist's publication.
    sexwork_ids = set(sexwork.values()) | {world.ids["club"], "sexwork-establishment"}
    assert {e["object_id"] for e in everything} >= sexwork_ids
    assert not {e["object_id"] for e in hidden} & sexwork_ids
    assert [e for e in everything if e["object_id"] not in sexwork_ids] == hidden
    by_insp_sw = await walk(client, world.h["auditor_no_sw"], {"actor_id": world.ids["insp_sw"]})
    assert [e["action"] for e in by_insp_sw] == ["user.registered"]


# --- by actor, by period ---------------------------------------------------------------------------------------


async def test_the_trail_of_one_actor_with_their_display_name_in_keyset_pages(client, db, world):
    for _ in range(3):
        await create_complaint(client, world, "gerda")
    items = await walk(client, world.h["auditor"], {"actor_id": world.ids["gerda"]})
    expected = await db.fetch(
        "SELECT seq, action FROM audit_event WHERE actor_id = $1 ORDER BY occurred_at, seq",
        uuid.UUID(world.ids["gerda"]),
    )
    assert [(e["seq"], e["action"]) for e in items] == [(r["seq"], r["action"]) for r in expected]
    assert [e["action"] for e in items].count("complaint.reporter_read") == 3
    assert {e["actor_id"] for e in items} == {world.ids["gerda"]}
    assert {e["actor_name"] for e in items} == {"Gerda Mulder"}


async def test_the_trail_of_a_period_in_dates_of_europe_amsterdam(client, world):
    await create_complaint(client, world, "gerda")
    day = today()
    todays = await walk(client, world.h["admin"], {"from": day.isoformat(), "to": day.isoformat()})
    assert "complaint.created" in [e["action"] for e in todays]
    assert await walk(client, world.h["admin"], {"from": (day + timedelta(days=1)).isoformat()}) == []
    assert await walk(client, world.h["admin"], {"to": (day - timedelta(days=1)).isoformat()}) == []
    both = await walk(client, world.h["admin"], {"actor_id": world.ids["gerda"], "from": day.isoformat()})
    assert both and {e["actor_id"] for e in both} == {world.ids["gerda"]}


async def test_bad_trail_parameters_are_refused(client, world):
    auditor = world.h["auditor"]
    day = today()
    response = await client.get(
        EVENTS, params={"from": day.isoformat(), "to": (day - timedelta(days=1)).isoformat()}, headers=auditor
    )
    assert assert_problem(response, 422, "validation_failed")["errors"] == [
        {"detail": "`to` is before `from`", "parameter": "to"}
    ]
    response = await client.get(
        EVENTS, params={"object_type": "complaint", "object_id": "x", "actor_id": world.ids["gerda"]}, headers=auditor
    )
    assert_problem(response, 422, "validation_failed")
    response = await client.get(EVENTS, params={"object_type": "complaint"}, headers=auditor)
    assert assert_problem(response, 422, "validation_failed")["errors"] == [
        {"detail": "Missing required query parameter.", "parameter": "object_id"}
    ]
    for cursor in ("bm9wZQ", "WzFd", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0"):  # nonsense, [1], a naive time
        response = await client.get(EVENTS, params={"cursor": cursor}, headers=auditor)
        assert_problem(response, 400, "invalid_cursor")


async def test_by_actor_and_by_period_are_keyset_reads_on_an_index(db, world):
    principal = Principal(
        user_id=uuid.uuid4(),
        subject="a",
        issuer="i",
        roles=frozenset({"auditor"}),
        regimes=frozenset(ALL_REGIMES),
        teams=frozenset(),
    )
    after = (today(), 5)
    for trail, index in (
        (audit_service.TrailFilter(actor_id=uuid.uuid4()), "audit_event_actor_idx"),
        (audit_service.TrailFilter(from_=today()), "audit_event_period_idx"),
    ):
        sql, args = audit_service._trail_sql(principal, trail, after=after, limit=51)
        async with db.transaction():
            # The test table is tiny: a scan would win. Refusing scans and sorts shows an index gives the order.
            await db.execute("SET LOCAL enable_seqscan = off")
            await db.execute("SET LOCAL enable_sort = off")
            plan = "\n".join(r[0] for r in await db.fetch(f"EXPLAIN {sql}", *args))
        assert index in plan and "Sort" not in plan, plan


# --- a person's reads as CSV -----------------------------------------------------------------------------------


async def test_a_persons_reads_as_csv_for_an_avg_request(client, world, sexwork):
    cafe_complaint = await create_complaint(client, world, "gerda")
    await client.get(f"/api/v1/complaints/{cafe_complaint['id']}", headers=world.h["gerda"])

    async def exported(who: str, actor: str) -> list[list[str]]:
        response = await client.get(READS, params={"actor_id": world.ids[actor]}, headers=world.h[who])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment")
        return list(csv.reader(io.StringIO(response.text), delimiter=";"))

    rows = await exported("auditor", "gerda")
    assert rows[0] == list(audit_service.CSV_HEADER)
    assert [(r[3], r[5]) for r in rows[1:]] == [
        ("complaint.reporter_read", sexwork["complaint"]),  # the sex-work complaint's intake
        ("complaint.reporter_read", cafe_complaint["id"]),
        ("complaint.reporter_read", cafe_complaint["id"]),
    ]
    assert {r[2] for r in rows[1:]} == {"Gerda Mulder"} and {r[1] for r in rows[1:]} == {world.ids["gerda"]}
    # Without the sexwork regime the sex-work complaint's read is left out, and so is the sex-work location's.
    assert [r[5] for r in (await exported("auditor_no_sw", "gerda"))[1:]] == [cafe_complaint["id"]] * 2
    assert [(r[3], r[5]) for r in (await exported("auditor", "insp_sw"))[1:]] == [
        ("location.read", sexwork["location"])
    ]
    assert (await exported("admin_no_sw", "insp_sw"))[1:] == []


async def test_the_export_needs_an_actor(client, world):
    response = await client.get(READS, headers=world.h["auditor"])
    assert_problem(response, 422, "validation_failed")


async def test_the_scope_of_an_event_cannot_be_changed_afterwards(db, world, sexwork):
    labelled = await db.fetchval("SELECT count(*) FROM audit_event WHERE scope_regime = 'sexwork'")
    assert labelled > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("UPDATE audit_event SET scope_regime = NULL WHERE scope_regime IS NOT NULL")


# --- events written before the scope existed -----------------------------------------------------------------


@pytest.fixture
async def database_before_the_scope(pg_server_url, tmp_path) -> AsyncIterator[tuple[str, Path]]:
    """A database migrated up to the migration before 0016_audit_scope.sql, and a directory holding those."""
    async with database_before(pg_server_url, tmp_path, SCOPE_MIGRATION) as found:
        yield found


async def test_events_written_before_the_scope_existed_get_it_from_the_migration(
    database_before_the_scope, data_dir, auth
):
    url, directory = database_before_the_scope
    admin = auth("admin-old", roles=["admin"], regimes=ALL_REGIMES)
    async with app_client(make_settings(url, data_dir)) as client:
        club = await create_object(client, admin, name="Club Rood", kind="seks_club", regimes=["sexwork", "alcohol"])
        cafe = await create_object(client, admin)
    shutil.copy(PROJECT_ROOT / "migrations" / SCOPE_MIGRATION, directory / SCOPE_MIGRATION)
    conn = await core_db.connect(url)
    try:
        assert await migrate(conn, directory) == [SCOPE_MIGRATION]
        scopes = {
            str(row["object_id"]): row["scope_regime"]
            for row in await conn.fetch(
                "SELECT object_id, scope_regime FROM audit_event WHERE object_type = 'establishment'"
            )
        }
        assert (await verify_chain(conn)).ok
    finally:
        await conn.close()
    assert scopes == {club["id"]: "sexwork", cafe["id"]: None}
