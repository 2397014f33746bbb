"""The demo's month of work, made through the API: after loading, every list the console shows has items in
each state, a second load adds nothing, and sex-work items stay with the users scoped for sex work."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from backend import demo, demo_case, demo_month
from backend.audit.service import READ_ACTIONS
from backend.checklists import templates as checklist_templates
from backend.checklists.service import publish_directory as publish_checklists
from backend.core import calendar
from backend.core.calendar import today
from backend.core.config import PROJECT_ROOT
from backend.letters import templates as letter_templates
from backend.letters.service import publish_directory as publish_letters
from tests.conftest import ISSUER
from tests.test_demo import demo_claims

COUNTED = (
    "inspection",
    "inspection_photo",
    "assignment",
    "complaint",
    "complaint_transition",
    "enforcement_case",
    "enforcement_step",
    "audit_event",
)
SEXWORK_INSPECTION = str(demo_month._inspection(6))


@pytest.fixture
async def month_loaded(db, settings) -> int:
    """What `toezicht demo` loads: the demo data, the shipped templates, the demo case, then the month."""
    await demo.load_demo_data(db, ISSUER)
    await publish_checklists(db, checklist_templates.DEFAULT_DIRECTORY)
    await publish_letters(db, letter_templates.DEFAULT_DIRECTORY)
    await demo_case.load_demo_case(db, settings)
    return await demo_month.load_demo_month(settings)


@pytest.fixture
def as_user(auth):
    """Headers for a demo user with exactly their own claims."""

    def headers(subject: str) -> dict[str, str]:
        return auth(**{key: value for key, value in demo_claims(subject).items() if key != "name"})

    return headers


async def get(client, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = await client.get(f"/api/v1{path}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def items(client, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    return (await get(client, headers, path, limit=100, **params))["items"]


def recent(moment: str) -> bool:
    return 0 <= (today() - date.fromisoformat(moment[:10])).days <= 31


async def test_the_review_screens_show_inspections_in_every_state_with_photos(client, as_user, month_loaded):
    assert month_loaded == len(demo_month.INSPECTED) + len(demo_month.ASSIGNMENTS) + len(demo_month.COMPLAINTS)
    dirk = as_user("coord-dirk")
    inspections = await items(client, dirk, "/inspections")
    by_state: dict[str, list[dict[str, Any]]] = {}
    for inspection in inspections:
        by_state.setdefault(inspection["state"], []).append(inspection)
    assert set(by_state) == {"submitted", "complete", "returned", "corrected", "reviewed"}
    assert all(recent(inspection["finished_at"]) for inspection in inspections)
    awaiting = await items(client, dirk, "/inspections", awaiting_my_review="true")
    assert {inspection["state"] for inspection in awaiting} == {"complete", "corrected"}
    # Reviewed with and without violations, and the evidence photos arrived (one phone has yet to send its own).
    reviewed = [await get(client, dirk, f"/inspections/{i['id']}") for i in by_state["reviewed"]]
    assert any(r["violations"] for r in reviewed) and any(not r["violations"] for r in reviewed)
    photos = [photo for r in reviewed for photo in r["photos"]]
    assert photos and all(photo["received"] for photo in photos)
    assert any(photo["question"] == "AW-06" for photo in photos)
    [waiting] = [await get(client, dirk, f"/inspections/{i['id']}") for i in by_state["submitted"]]
    assert waiting["expected_photos"]
    for state in ("returned", "corrected"):
        [inspection] = by_state[state]
        assert (await get(client, dirk, f"/inspections/{inspection['id']}"))["return_reason"]


async def test_planning_and_cases_show_every_kind_of_step(client, as_user, month_loaded):
    dirk = as_user("coord-dirk")
    assignments = await items(client, dirk, "/assignments", status="planned")
    reasons = {a["reason"] for a in assignments}
    assert {"regular_cycle", "verscherpt_toezicht", "project", "complaint", "hercontrole"} <= reasons
    # No window may be planned in the past: the nearest ends today and is overdue from tomorrow.
    assert today().isoformat() in {a["planned_to"] for a in assignments}

    eva = as_user("jur-eva")
    cases = [
        await get(client, eva, f"/enforcement/cases/{c['id']}") for c in await items(client, eva, "/enforcement/cases")
    ]
    assert {"warned", "voornemen", "besluit", "hercontrole", "bezwaar"} <= {c["status"] for c in cases}
    steps = [step for case in cases for step in case["steps"]]

    def some(**fields: Any) -> bool:
        return any(all(step[key] == value for key, value in fields.items()) for step in steps)

    assert some(type="warning", status="sent")
    assert some(type="voornemen", status="sent", zienswijze="pending")
    assert some(type="voornemen", status="sent", zienswijze="received")
    assert some(type="besluit", decision="boete", status="draft")  # awaiting a second officer's approval
    assert some(type="besluit", decision="boete", status="sent")
    assert some(type="besluit", decision="last_onder_dwangsom", status="sent")
    assert some(type="bezwaar", status="registered")
    [hercontrole] = [step for step in steps if step["type"] == "hercontrole"]
    assert hercontrole["status"] == "planned" and date.fromisoformat(hercontrole["due_on"]) > today()
    # The jurists' deadlines view has a term expiring: the zienswijze of a week.
    week = calendar.term_end(today(), weeks=1)
    expiring = (await get(client, eva, "/enforcement/deadlines", until=week.isoformat()))["expiring"]
    assert "zienswijze" in {deadline["kind"] for deadline in expiring}


async def test_the_complaint_screens_show_every_state_some_overdue(client, as_user, month_loaded):
    gerda = as_user("klacht-gerda")
    complaints = await items(client, gerda, "/complaints")
    assert {"received", "in_progress", "inspection_planned", "resolved", "rejected"} <= {c["state"] for c in complaints}
    assert all(recent(c["received_at"]) for c in complaints)
    assert any(c["overdue"] for c in complaints) and any(c["acknowledgement_overdue"] for c in complaints)
    [answered] = [c for c in complaints if c["state"] == "resolved"]
    history = (await get(client, gerda, f"/complaints/{answered['id']}"))["history"]
    assert history[-1]["answer"]


async def test_sex_work_items_are_seen_only_by_users_scoped_for_sex_work(client, as_user, month_loaded):
    def sexwork(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [item for item in found if "sexwork" in (item.get("regimes") or [item.get("regime")])]

    # Those scoped for it see the case, the complaint, the inspection and its assignment ...
    assert sexwork(await items(client, as_user("jur-eva"), "/enforcement/cases"))
    assert sexwork(await items(client, as_user("klacht-gerda"), "/complaints"))
    assert sexwork(await items(client, as_user("klacht-gerda"), "/complaints/deadlines", overdue="false"))
    assert sexwork(await items(client, as_user("coord-dirk"), "/inspections"))
    assert sexwork(await items(client, as_user("coord-dirk"), "/assignments"))
    # ... those without the regime see none of them, not even by id.
    assert not sexwork(await items(client, as_user("jur-frank"), "/enforcement/cases"))
    assert not sexwork(await items(client, as_user("klacht-karin"), "/complaints"))
    assert not sexwork(await items(client, as_user("klacht-karin"), "/complaints/deadlines", overdue="false"))
    for subject in ("insp-anna", "insp-chantal"):
        assert not sexwork(await items(client, as_user(subject), "/inspections"))
        response = await client.get(f"/api/v1/inspections/{SEXWORK_INSPECTION}", headers=as_user(subject))
        assert response.status_code == 404, response.text


async def counts(db) -> dict[str, int]:
    """The rows of each counted table; of the audit trail only the changes, since the loader's own reads (it looks
    for each piece of work first, a sex-work inspection among them) are audited as every read is."""
    found = {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in COUNTED}  # constant names
    reads = await db.fetchval("SELECT count(*) FROM audit_event WHERE action = ANY ($1::text[])", READ_ACTIONS)
    return {**found, "audit_event": found["audit_event"] - reads}


async def test_a_second_load_adds_nothing(db, settings, month_loaded):
    before = await counts(db)
    assert await demo_month.load_demo_month(settings) == 0
    assert await counts(db) == before


# Who read the paged lists; each list is walked as the one of them who sees most of it.
# jur-frank, because the approvals list never shows an officer's own drafts and jur-eva drafts the month's steps.
READERS = ("admin-hans", "jur-eva", "jur-frank", "klacht-gerda", "coord-dirk", "audit-ilse")
WALKED_PAGES = 25


def paged_lists() -> list[str]:
    """Every GET of the OpenAPI document that pages with a cursor, the audit trail first: the other lists' reads
    may add to it (a read of sex-work data is audited)."""
    document = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    paths = [
        path.removeprefix("/api/v1")
        for path, item in document["paths"].items()
        if "{" not in path
        and any(parameter["name"] == "cursor" for parameter in item.get("get", {}).get("parameters", []))
    ]
    return sorted(paths, key=lambda path: path != "/audit-events")


async def test_every_paged_list_walks_one_item_a_page_to_what_one_page_holds(client, as_user, month_loaded):
    """Each list's cursor, as the list writes it and reads it back, gives the same items in the same order as one
    large page, none twice and none left out (up to WALKED_PAGES of them)."""
    walked = {}
    for path in paged_lists():
        answers = {}
        for reader in READERS:
            response = await client.get(f"/api/v1{path}", headers=as_user(reader), params={"limit": 200})
            if response.status_code == 200:
                answers[reader] = response.json()["items"]
        if not answers:
            continue  # a list that needs a filter to answer (ListViolations)
        reader = max(answers, key=lambda who: len(answers[who]))  # the one who sees most
        whole, seen, cursor = answers[reader], [], None
        for _ in range(WALKED_PAGES):
            page = await get(client, as_user(reader), path, limit=1, **({"cursor": cursor} if cursor else {}))
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole[: len(seen)], path
        assert cursor is not None or len(seen) == len(whole), path
        walked[path] = len(seen)
    more_than_one = {path for path, count in walked.items() if count > 1}
    assert {"/inspections", "/enforcement/cases", "/complaints", "/assignments", "/objects"} <= more_than_one
    assert len(more_than_one) >= 10, walked
    assert walked["/enforcement/approvals"] >= 1, walked
