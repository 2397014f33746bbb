"""The case's reference (ons kenmerk): given by the database when a case opens, unique even for cases opened in the
same second (one review under two regimes opens two), shown on the case and in the case list, found by the list's
filter, printed on the case's letters and never changed; migration 0083 keeps the references already on letters,
with a suffix where cases shared one."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from backend.core import db as core_db
from backend.core.calendar import AMSTERDAM
from backend.core.config import PROJECT_ROOT
from backend.core.migrations import migrate
from tests.conftest import app_client, make_settings
from tests.enforcement_helpers import CASES, NO_MANAGER, case, done, drafted, enforcement_world, last_step, reviewed
from tests.helpers import assert_problem
from tests.inspection_helpers import SEXWORK_OK, USERS, World, add_users
from tests.letter_helpers import pdf_text
from tests.migration_helpers import database_before
from tests.registry_helpers import ALL_REGIMES, create_object

MIGRATION = "0083_case_kenmerk.sql"
# The sex business's checklist with one violation (no exploitatievergunning shown).
SEXWORK_VIOLATION = {**{k: v for k, v in SEXWORK_OK.items() if k != "SX-02a"}, "SX-02": "no"}


@pytest.fixture
async def world(client, auth, db) -> World:
    world = await enforcement_world(client, auth, db)
    await add_users(client, auth, world, {"insp_sw": USERS["insp_sw"]})
    return world


async def _two_cases_of_one_review(client, world: World) -> list[dict]:
    """One inspection of the club with a violation under the sex-work rules and one under the Alcoholwet, reviewed:
    two cases opened in one transaction, as the sex-work officer lists them."""
    checklists = [
        {"checklist_version_id": world.ids["sexwork-establishment"], "answers": SEXWORK_VIOLATION},
        {"checklist_version_id": world.ids["alcohol-horeca"], "answers": NO_MANAGER},
    ]
    body = world.body("insp_sw", object_id=world.ids["club"], checklists=checklists, observations=None)
    await reviewed(client, world, {}, who="insp_sw", body=body)
    response = await client.get(CASES, headers=world.h["officer_sw"])
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert sorted(item["regime"] for item in items) == ["alcohol", "sexwork"]
    return items


def _amsterdam_year(opened_at: str) -> int:
    return datetime.fromisoformat(opened_at).astimezone(AMSTERDAM).year


async def test_two_cases_opened_by_one_review_have_their_own_kenmerk(client, world):
    items = await _two_cases_of_one_review(client, world)
    first, second = (item["kenmerk"] for item in items)
    assert first != second
    for item in items:
        assert re.fullmatch(rf"HH-{_amsterdam_year(item['opened_at'])}-\d{{5,}}", item["kenmerk"]), item["kenmerk"]
        assert (await case(client, world, item["id"], "officer_sw"))["kenmerk"] == item["kenmerk"]


async def test_the_letter_of_a_sent_step_carries_its_case_s_kenmerk(client, world):
    items = await _two_cases_of_one_review(client, world)
    texts = {}
    for item in items:
        current = await case(client, world, item["id"], "officer_sw")
        current = await drafted(client, world, current, {"type": "warning"}, who="officer_sw")
        current = await done(client, world, current, last_step(current)["id"], "send", who="officer_sw")
        document = await client.get(
            f"{CASES}/{current['id']}/steps/{last_step(current)['id']}/document", headers=world.h["officer_sw"]
        )
        assert document.status_code == 200, document.text
        texts[item["kenmerk"]] = pdf_text(document.content)
    for kenmerk, text in texts.items():
        assert f"Ons kenmerk {kenmerk}" in text
        assert [other for other in texts if other != kenmerk and other in text] == []


async def test_the_case_list_finds_a_case_by_the_kenmerk_a_caller_quotes(client, world):
    items = await _two_cases_of_one_review(client, world)

    async def listed(kenmerk: str):
        return await client.get(CASES, headers=world.h["officer_sw"], params={"kenmerk": kenmerk})

    for item in items:
        response = await listed(item["kenmerk"])
        assert response.status_code == 200, response.text
        assert [found["id"] for found in response.json()["items"]] == [item["id"]]
    assert (await listed(items[0]["kenmerk"].lower())).json()["items"] == []  # exact, as printed
    # Another regime's officer does not find it either.
    other = await client.get(CASES, headers=world.h["enforcer_coffee"], params={"kenmerk": items[0]["kenmerk"]})
    assert other.status_code == 200 and other.json()["items"] == []
    problem = assert_problem(await listed("H" * 65), 422, "validation_failed")
    assert problem["errors"][0]["parameter"] == "kenmerk"


async def test_a_case_s_kenmerk_cannot_be_changed(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    kenmerk = await db.fetchval("SELECT kenmerk FROM enforcement_case")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="the kenmerk cannot change"):
        await db.execute("UPDATE enforcement_case SET kenmerk = 'HH-2026-99999'")
    assert await db.fetchval("SELECT kenmerk FROM enforcement_case") == kenmerk


# --- cases opened before the kenmerk was stored ----------------------------------------------------------------


@pytest.fixture
async def database_before_the_kenmerk(pg_server_url, tmp_path) -> AsyncIterator[tuple[str, Path]]:
    """A database migrated up to the migration before 0083_case_kenmerk.sql, and a directory holding those."""
    async with database_before(pg_server_url, tmp_path, MIGRATION) as found:
        yield found


# Cases of one establishment as the old code referred to them: "HH-" || year opened (UTC) || the first 8 hex digits
# of the id. Three share 019C0000 (opened in one minute), the earliest opened having the largest id; one opened in
# the first half hour of 2026 in Amsterdam, still 2025 in UTC, as its letters say.
OLD_CASES = [
    ("019c0000-0000-7000-8000-00000000000b", "alcohol", "2026-03-02 10:00:00+00", "HH-2026-019C0000"),
    ("019c0000-0000-7000-8000-00000000000a", "nix18", "2026-03-02 10:00:30+00", "HH-2026-019C0000-2"),
    ("019c0000-0000-7000-8000-00000000000c", "gambling", "2026-03-02 10:00:30+00", "HH-2026-019C0000-3"),
    ("019c0001-0000-7000-8000-000000000001", "coffeeshop", "2026-03-02 10:01:10+00", "HH-2026-019C0001"),
    ("019b7000-0000-7000-8000-000000000001", "sexwork", "2025-12-31 23:30:00+00", "HH-2025-019B7000"),
]


async def test_the_migration_keeps_the_references_on_letters_and_tells_colliding_cases_apart(
    database_before_the_kenmerk, data_dir, auth
):
    url, directory = database_before_the_kenmerk
    admin = auth("admin-old", roles=["admin"], regimes=ALL_REGIMES)
    async with app_client(make_settings(url, data_dir)) as client:
        cafe = await create_object(client, admin, regimes=ALL_REGIMES)
    shutil.copy(PROJECT_ROOT / "migrations" / MIGRATION, directory / MIGRATION)
    conn = await core_db.connect(url)
    try:
        for case_id, regime, opened_at, _ in OLD_CASES:
            await conn.execute(
                "INSERT INTO enforcement_case (id, establishment_id, regime, wijk, opened_at) "
                "VALUES ($1::uuid, $2::uuid, $3, 'binnenstad', $4::text::timestamptz)",
                case_id,
                cafe["id"],
                regime,
                opened_at,
            )
        assert await migrate(conn, directory) == [MIGRATION]
        kept = {str(row["id"]): row["kenmerk"] for row in await conn.fetch("SELECT id, kenmerk FROM enforcement_case")}
        # A case opened after it: the next number, with the year in Amsterdam.
        opened = await conn.fetchval(
            "INSERT INTO enforcement_case (id, establishment_id, regime, wijk, status, result, opened_at) "
            "VALUES (uuid7(), $1::uuid, 'alcohol', 'binnenstad', 'closed', 'no_action', '2025-12-31 23:30:00+00') "
            "RETURNING kenmerk",
            cafe["id"],
        )
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO enforcement_case (id, establishment_id, regime, wijk, status, result, kenmerk) "
                "VALUES (uuid7(), $1::uuid, 'alcohol', 'binnenstad', 'closed', 'no_action', 'HH-2026-019C0000')",
                cafe["id"],
            )
    finally:
        await conn.close()
    assert kept == {case_id: kenmerk for case_id, _, _, kenmerk in OLD_CASES}
    assert opened == "HH-2026-00001"
