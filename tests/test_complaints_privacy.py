"""Complaint privacy and visibility: the reporter's identity and contact details (and the answer to them) only
for complaint handlers and admins, each read audited; never in lists, other users' views, phone sync, stored
idempotent responses or the audit trail. A complaint is otherwise visible to users of its regime: sex-work
complaints only with the sexwork scope, regime-less ones ('other') only to handlers and admins; else 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.core.calendar import today
from tests.complaint_helpers import (
    CONTACT_STRINGS,
    REPORTER,
    URL,
    complaint_body,
    complaint_world,
    create_complaint,
    if_match,
    moved,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World

ANSWER = "Geachte mevrouw De Vries, er is gecontroleerd."


@pytest.fixture
async def world(client, auth) -> World:
    return await complaint_world(client, auth)


async def reads(db, complaint_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT actor_id FROM audit_event WHERE action = 'complaint.reporter_read' AND object_id = $1 ORDER BY seq",
        complaint_id,
    )
    return [str(row["actor_id"]) for row in rows]


def leaks(text: str) -> list[str]:
    return [value for value in (*CONTACT_STRINGS, ANSWER) if value in text]


async def test_handlers_and_admins_see_the_reporter_and_every_read_is_audited(client, db, world):
    complaint = await create_complaint(client, world)
    assert complaint["reporter"] == REPORTER
    assert await reads(db, complaint["id"]) == [world.ids["complaints"]]  # the intake's answer showed them
    for who in ("complaints", "complaints", "admin"):
        response = await client.get(f"{URL}/{complaint['id']}", headers=world.h[who])
        assert response.status_code == 200 and response.headers["etag"] == '"1"'
        assert response.json()["reporter"] == REPORTER
    assert await reads(db, complaint["id"]) == [
        world.ids["complaints"],
        world.ids["complaints"],
        world.ids["complaints"],
        world.ids["admin"],
    ]


async def test_other_users_of_the_regime_see_the_complaint_without_reporter_or_answer(client, db, world):
    complaint = await moved(client, world, await create_complaint(client, world), {"to": "in_progress"})
    resolved = await moved(
        client, world, complaint, {"to": "resolved", "outcome": "no_violation_found", "answer": ANSWER}
    )
    assert resolved["answer"] == ANSWER  # the handler's own view
    for who in ("insp_a1", "coord_a", "enforcer", "insp_all_regimes"):
        response = await client.get(f"{URL}/{complaint['id']}", headers=world.h[who])
        assert response.status_code == 200, (who, response.text)
        shown = response.json()
        assert shown["reporter"] is None and shown["answer"] is None and shown["anonymous"] is False
        assert all(entry["answer"] is None for entry in shown["history"])
        assert shown["outcome"] == "no_violation_found" and shown["description"] == complaint["description"]
        assert leaks(response.text) == [], who
    assert await reads(db, complaint["id"]) == [world.ids["complaints"]]  # only the intake's answer


async def test_lists_never_carry_contact_details_not_even_for_handlers(client, world):
    await create_complaint(client, world)
    for path in ("", "/deadlines", "/deadlines?deadline=acknowledgement"):
        response = await client.get(f"{URL}{path}", headers=world.h["complaints"])
        assert response.status_code == 200 and len(response.json()["items"]) == 1
        assert "reporter" not in response.json()["items"][0] and leaks(response.text) == []


async def test_no_contact_details_reach_phones_the_audit_trail_or_stored_responses(client, db, world):
    complaint = await create_complaint(
        client,
        world,
        address=None,
        object_id=world.ids["cafe"],
        description="Overlast bij het café, melder woont ernaast.",
    )
    start = today() + timedelta(days=1)
    response = await client.post(
        f"{URL}/{complaint['id']}/inspections",
        headers={**if_match(world, "coord_a", 1), "Idempotency-Key": "plan-1"},
        json={
            "team_id": "team-a",
            "checklist_version_ids": [world.ids["alcohol-horeca"]],
            "planned_from": start.isoformat(),
            "planned_to": (start + timedelta(days=2)).isoformat(),
            "inspector_ids": [world.ids["insp_a1"]],
        },
    )
    assert response.status_code == 201, response.text
    assert leaks(response.text) == []
    sync = await client.get("/api/v1/sync", headers=world.h["insp_a1"])
    assert sync.status_code == 200, sync.text
    assert [a["complaint_id"] for a in sync.json()["assignments"]] == [complaint["id"]]
    assert leaks(sync.text) == []
    # The inspector follows the link to the complaint, and sees it without the reporter.
    followed = await client.get(f"{URL}/{complaint['id']}", headers=world.h["insp_a1"])
    assert followed.json()["reporter"] is None and leaks(followed.text) == []
    await client.get(f"{URL}/{complaint['id']}", headers=world.h["complaints"])  # a handler's read is audited...
    audit_text = await db.fetchval(
        "SELECT string_agg(coalesce(before::text, '') || coalesce(after::text, '') || "
        "coalesce(reason, ''), ' ') FROM audit_event"
    )
    assert leaks(audit_text) == []  # ...without copying what was read
    stored_bodies = await db.fetch("SELECT response_body FROM idempotency_key")
    assert stored_bodies and all(leaks(bytes(row["response_body"]).decode()) == [] for row in stored_bodies)


async def test_sex_work_complaints_are_visible_only_with_the_sexwork_scope(client, world):
    complaint = await create_complaint(
        client,
        world,
        category="illegale_prostitutie",
        description="Advertentie, vermoedelijk thuisprostitutie zonder vergunning.",
    )
    assert complaint["regime"] == "sexwork"
    for who in ("insp_a1", "coord_alcohol_a", "handler_alcohol"):
        response = await client.get(f"{URL}/{complaint['id']}", headers=world.h[who])
        missing = await client.get(f"{URL}/{uuid.uuid4()}", headers=world.h[who])
        assert_problem(response, 404, "not_found")
        assert response.json()["detail"] == missing.json()["detail"]
        listed = await client.get(URL, headers=world.h[who])
        assert listed.json()["items"] == []
    due = await client.get(f"{URL}/deadlines", headers=world.h["handler_alcohol"])
    assert due.json()["items"] == []
    for who in ("insp_sw", "coord_a", "complaints"):
        response = await client.get(f"{URL}/{complaint['id']}", headers=world.h[who])
        assert response.status_code == 200, who
        listed = await client.get(URL, headers=world.h[who])
        assert [item["id"] for item in listed.json()["items"]] == [complaint["id"]]


async def test_complaints_without_a_regime_are_for_handlers_and_admins(client, world):
    complaint = await create_complaint(client, world, category="other")
    assert complaint["regime"] is None
    for who, status in (
        ("complaints", 200),
        ("admin", 200),
        ("handler_alcohol", 200),
        ("coord_a", 404),
        ("insp_all_regimes", 404),
        ("enforcer", 404),
    ):
        response = await client.get(f"{URL}/{complaint['id']}", headers=world.h[who])
        assert response.status_code == status, who
    # Nothing to change on what one cannot see.
    response = await client.post(
        f"{URL}/{complaint['id']}/inspections",
        headers=if_match(world, "coord_a", 1),
        json={
            "team_id": "team-a",
            "checklist_version_ids": [world.ids["alcohol-horeca"]],
            "planned_from": today().isoformat(),
            "planned_to": today().isoformat(),
            "inspector_ids": [world.ids["insp_a1"]],
            "regimes": ["alcohol"],
        },
    )
    assert_problem(response, 404, "not_found")


async def test_regime_filter_and_unknown_filters(client, world):
    alcohol = await create_complaint(client, world)
    nix18 = await create_complaint(client, world, category="verkoop_alcohol_minderjarigen")
    response = await client.get(f"{URL}?regime=nix18", headers=world.h["complaints"])
    assert [item["id"] for item in response.json()["items"]] == [nix18["id"]]
    response = await client.get(
        f"{URL}?state=received&category=geluidsoverlast_horeca&wijk=binnenstad", headers=world.h["insp_a1"]
    )
    assert [item["id"] for item in response.json()["items"]] == [alcohol["id"]]
    # insp_a1 is scoped for alcohol and nix18: both; paging one at a time.
    first = (await client.get(f"{URL}?limit=1", headers=world.h["insp_a1"])).json()
    second = (await client.get(f"{URL}?limit=1&cursor={first['next_cursor']}", headers=world.h["insp_a1"])).json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [nix18["id"], alcohol["id"]]
    assert second["next_cursor"] is None
    assert_problem(await client.get(f"{URL}?wijk=atlantis", headers=world.h["insp_a1"]), 422, "validation_failed")
    assert_problem(await client.get(f"{URL}?state=closed", headers=world.h["insp_a1"]), 422, "validation_failed")


async def test_the_intake_answer_shows_the_handler_the_reporter_audited_and_never_stored(client, db, world):
    body = complaint_body()
    headers = {**world.h["complaints"], "Idempotency-Key": "intake-1"}
    first = await client.post(URL, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["reporter"] == REPORTER
    replay = await client.post(URL, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["reporter"] == REPORTER and replay.json()["id"] == first.json()["id"]
    # Each answer that showed the details is a read in the trail; the stored response holds none of them.
    assert await reads(db, first.json()["id"]) == [world.ids["complaints"], world.ids["complaints"]]
    stored_body = await db.fetchval("SELECT response_body FROM idempotency_key")
    assert leaks(bytes(stored_body).decode()) == []
    anonymous = await create_complaint(client, world, reporter=None, wants_feedback=False)
    assert anonymous["reporter"] is None and anonymous["anonymous"] is True
    assert await reads(db, anonymous["id"]) == []
