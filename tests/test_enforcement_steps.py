"""Enforcement steps: the proposal and its reasons (ladder, recidive, three strikes, employee class), the Awb
procedure (warning; voornemen and zienswijze; besluit approved by a second officer and then sent, final;
hercontrole planned at the end of a begunstigingstermijn, its forfeiture never above the maximum; invordering
within the 5:35 limit; bezwaar with its term and decision deadline), the deadlines view, and every bad input
of the issue answered with a clear error and nothing stored."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import pytest

from backend.core import calendar
from backend.core.calendar import today
from tests.conftest import app_client, make_settings
from tests.enforcement_helpers import (
    AGE_NOT_ESTABLISHED,
    BASE,
    CASES,
    MOTIVERING,
    NO_MANAGER,
    act,
    case,
    done,
    drafted,
    enforcement_world,
    fined,
    last_step,
    nix18_body,
    only_case,
    proposal,
    reviewed,
    step,
    table_counts,
    voornemen_answered,
    warned_once,
    with_dwangsom,
    with_version,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import World
from tests.registry_helpers import create_object


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


# --- the proposal -------------------------------------------------------------------------------------------------


async def test_a_first_violation_proposes_the_first_ladder_step_with_its_reasons(client, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    advice = await proposal(client, world, current["id"])
    [item] = advice["items"]
    assert (item["code"], item["article"], item["rule_found"], item["rules_version"]) == (
        "AW-24-1-NO-MANAGER-PRESENT",
        "Alcoholwet art. 24 lid 1",
        True,
        "alcohol v1",
    )
    assert (item["earlier_occasions"], item["ladder_position"], item["step"]) == (0, 0, "warning")
    assert item["fine"]["category"] == "II" and item["fine"]["amount_cents"] == 102_000 and not item["fine"]["recidive"]
    assert item["verify"]  # the VERIFY note of the fine table travels to the officer
    assert advice["employee_class"] == "under_50" and not advice["employee_class_assumed"]
    assert advice["next"]["type"] == "warning" and advice["next"]["violation_ids"] == item["violation_ids"]


async def test_a_repeat_within_twelve_months_proposes_a_voornemen_boete_with_the_amount(client, world):
    current = await warned_once(client, world)
    advice = await proposal(client, world, current["id"])
    [item] = advice["items"]  # the warned violation is dealt with
    assert (item["earlier_occasions"], item["step"]) == (1, "boete")
    assert len(item["earlier_violations"]) == 1
    assert advice["next"] == {**advice["next"], "type": "voornemen", "decision": "boete", "amount_cents": 102_000}


async def test_the_amount_follows_the_employee_class(client, db, world):
    big = await create_object(client, world.h["admin"], name="Grand Café", house_number=7, employee_class="50_or_more")
    await reviewed(
        client,
        world,
        NO_MANAGER,
        body=world.body(
            object_id=big["id"],
            checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": NO_MANAGER}],
        ),
    )
    current = await only_case(client, world)
    advice = await proposal(client, world, current["id"])
    assert advice["employee_class"] == "50_or_more"
    assert advice["items"][0]["fine"]["amount_cents"] == 204_000


async def test_the_employee_class_is_the_one_of_the_day_of_the_violation(client, db, world):
    big = await create_object(client, world.h["admin"], name="Grand Café", house_number=7, employee_class="50_or_more")
    await reviewed(
        client,
        world,
        NO_MANAGER,
        body=world.body(
            object_id=big["id"],
            checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": NO_MANAGER}],
        ),
    )
    current = await only_case(client, world)
    # The business shrinks after the violation: the fine keeps the column of the day it happened.
    await db.execute("UPDATE establishment SET employee_class = 'under_50' WHERE id = $1::uuid", big["id"])
    advice = await proposal(client, world, current["id"])
    assert (advice["employee_class"], advice["employee_class_assumed"]) == ("50_or_more", False)
    assert advice["items"][0]["fine"]["amount_cents"] == 204_000


async def test_recidive_adds_fifty_percent_after_a_boete_for_the_same_article(client, db, world):
    current = await fined(client, world)
    boete = last_step(current)
    assert boete["status"] == "sent" and boete["amount_cents"] == 102_000
    await reviewed(client, world, NO_MANAGER)
    advice = await proposal(client, world, current["id"])
    [item] = advice["items"]
    assert item["fine"]["recidive"] and item["fine"]["recidive_fine_step_ids"] == [boete["id"]]
    assert item["fine"]["amount_cents"] == 153_000 and item["earlier_occasions"] == 2
    # Another article has no recidive from that boete.
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    advice = await proposal(client, world, current["id"])
    age = next(i for i in advice["items"] if i["code"] == "AW-20-1-AGE-NOT-ESTABLISHED")
    assert not age["fine"]["recidive"] and age["fine"]["amount_cents"] == 136_000


async def test_a_third_strike_of_article_20_lid_1_proposes_a_19a_ban(client, db, world):
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    await reviewed(client, world, {}, body=nix18_body(world))  # a NIX18 sale counts for the same article
    current = await only_case(client, world, regime="alcohol")
    advice = await proposal(client, world, current["id"])
    assert advice["items"][0]["three_strikes"]["count"] == 2 and not advice["items"][0]["three_strikes"]["triggered"]
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    advice = await proposal(client, world, current["id"])
    strikes = advice["items"][0]["three_strikes"]
    assert (strikes["count"], strikes["strikes"], strikes["triggered"]) == (3, 3, True)
    assert (strikes["weeks_min"], strikes["weeks_max"]) == (1, 12)
    assert advice["next"]["type"] == "voornemen" and advice["next"]["decision"] == "ontzegging_19a"
    assert advice["next"]["weeks"] == 1 and "three strikes" in advice["next"]["explanation"]


async def test_another_step_than_proposed_needs_a_written_reason_which_is_recorded(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    before = await table_counts(db)
    refused = await step(client, world, current, {"type": "voornemen", "decision": "boete", "amount_cents": 102_000})
    problem = assert_problem(refused, 422, "deviation_reason_required")
    assert problem["errors"][0]["pointer"] == "/deviation_reason" and "warning" in problem["detail"]
    assert await table_counts(db) == before
    reason = "Calculerend: al eerder gesproken, geen verbetering"
    current = await drafted(
        client,
        world,
        current,
        {
            "type": "voornemen",
            "decision": "boete",
            "amount_cents": 102_000,
            "deviation_reason": reason,
            "behaviour": "calculerend",
        },
    )
    drafted_step = last_step(current)
    assert drafted_step["deviation_reason"] == reason and drafted_step["behaviour"] == "calculerend"
    assert drafted_step["proposal"]["next"]["type"] == "warning"  # what was proposed is kept with it
    event = await db.fetchrow("SELECT reason, after FROM audit_event WHERE action = 'enforcement_case.step_drafted'")
    assert event["reason"] == reason


# --- the procedure -------------------------------------------------------------------------------------------------


async def test_the_boete_procedure_from_voornemen_to_a_sent_final_decision(client, db, world):
    current = await fined(client, world)
    voornemen, besluit = current["steps"][1], current["steps"][2]
    assert voornemen["zienswijze"] == "received" and voornemen["deadlines"][0]["kind"] == "zienswijze"
    assert voornemen["deadlines"][0]["resolved"]
    assert (
        voornemen["deadlines"][0]["due_on"]
        == calendar.term_end(date.fromisoformat(voornemen["sent_on"]), weeks=2).isoformat()
    )
    assert besluit["related_step_id"] == voornemen["id"]
    assert (besluit["status"], besluit["approved_by"], besluit["sent_by"]) == (
        "sent",
        world.ids["officer_b"],
        world.ids["officer_a"],
    )
    sent_on = date.fromisoformat(besluit["sent_on"])
    assert besluit["deadlines"] == [
        {"kind": "bezwaar_term", "due_on": calendar.term_end(sent_on, weeks=6).isoformat(), "resolved": False}
    ]
    assert [h["status"] for h in current["history"]] == ["open", "warned", "voornemen", "besluit"]
    assert all(v["fined"] for v in current["violations"] if v["violation_id"] in besluit["violation_ids"])
    # Sent is final: sending again is refused, and the database refuses any change of its content.
    assert_problem(await act(client, world, current, besluit["id"], "send"), 409, "already_sent")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE enforcement_step SET amount_cents = 1 WHERE id = $1::uuid", besluit["id"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("DELETE FROM enforcement_step WHERE id = $1::uuid", besluit["id"])
    actions = [
        r["action"]
        for r in await db.fetch("SELECT action FROM audit_event WHERE object_id = $1 ORDER BY seq", current["id"])
    ]
    assert actions.count("enforcement_case.step_sent") == 3 and "enforcement_case.step_approved" in actions


async def test_a_bezwaar_is_registered_with_its_term_and_decision_deadline(client, db, world):
    current = await fined(client, world)
    besluit = last_step(current)
    received = today()
    current = await drafted(
        client,
        world,
        current,
        {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": received.isoformat()},
    )
    bezwaar = last_step(current)
    term_end = calendar.term_end(date.fromisoformat(besluit["sent_on"]), weeks=6)
    assert (bezwaar["status"], bezwaar["late"], bezwaar["related_step_id"]) == ("registered", False, besluit["id"])
    assert bezwaar["deadlines"] == [
        {"kind": "bezwaar_decision", "resolved": False, "due_on": calendar.term_end(term_end, weeks=6).isoformat()}
    ]
    assert current["status"] == "bezwaar"
    assert next(s for s in current["steps"] if s["id"] == besluit["id"])["deadlines"][0]["resolved"]
    again = await step(
        client,
        world,
        current,
        {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": received.isoformat()},
    )
    assert_problem(again, 409, "bezwaar_exists")
    current = await done(client, world, current, bezwaar["id"], "outcome", body={"result": "ongegrond"})
    assert last_step(current)["outcome"] == "ongegrond" and last_step(current)["deadlines"][0]["resolved"]


async def test_a_last_onder_dwangsom_plans_the_hercontrole_and_forfeiture_stays_under_the_maximum(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    sent_on = date.fromisoformat(current["steps"][1]["sent_on"])
    end = calendar.term_end(sent_on, days=14)
    assert (hercontrole["type"], hercontrole["status"], hercontrole["due_on"]) == (
        "hercontrole",
        "planned",
        end.isoformat(),
    )
    assert hercontrole["deadlines"] == [{"kind": "begunstigingstermijn", "due_on": end.isoformat(), "resolved": False}]
    assignment = await db.fetchrow("SELECT * FROM assignment WHERE id = $1::uuid", hercontrole["assignment_id"])
    assert (assignment["reason"], assignment["team_id"], assignment["planned_from"]) == (
        "hercontrole",
        "team-a",
        end + timedelta(days=1),
    )
    assert str(assignment["establishment_id"]) == current["object_id"] and assignment["regimes"] == ["alcohol"]
    assert current["status"] == "hercontrole"
    # No forfeiture inside the term.
    inside = await act(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "forfeited_cents": 50_000},
    )
    assert_problem(inside, 409, "begunstigingstermijn_running")
    # The term ended (arranged: the hercontrole step is not sent, so its due date may be moved in the database).
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], today() - timedelta(days=2)
    )
    before = await table_counts(db)
    above = await act(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "forfeited_cents": 150_001},
    )
    assert_problem(above, 422, "above_maximum")
    assert await table_counts(db) == before
    assert (
        await db.fetchval("SELECT status FROM enforcement_step WHERE id = $1::uuid", hercontrole["id"])
    ) == "planned"
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "violations_observed": 2},
    )
    forfeited = last_step(current)
    assert (forfeited["status"], forfeited["forfeited_cents"]) == ("forfeited", 100_000)
    kinds = {d["kind"]: d for d in forfeited["deadlines"]}
    assert kinds["begunstigingstermijn"]["resolved"]
    assert kinds["payment"]["due_on"] == calendar.term_end(today(), weeks=6).isoformat()
    assert kinds["invordering_limit"]["due_on"] == today().replace(year=today().year + 1).isoformat()
    # Collection: an invordering of at most the sum forfeited, approved by a second officer, then sent.
    collect = {"type": "invordering", "decision": None, "related_step_id": forfeited["id"]}
    assert collect in current["next_steps"]  # the case offers it, as drafting accepts it
    too_much = await step(
        client, world, current, {"type": "invordering", "related_step_id": forfeited["id"], "amount_cents": 100_001}
    )
    assert_problem(too_much, 422, "above_forfeited")
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": forfeited["id"]})
    invordering = last_step(current)
    assert invordering["amount_cents"] == 100_000
    assert collect not in current["next_steps"]  # collected once
    current = await done(client, world, current, invordering["id"], "approve", who="officer_b")
    current = await done(client, world, current, invordering["id"], "send")
    limits = {d["kind"]: d for d in next(s for s in current["steps"] if s["id"] == forfeited["id"])["deadlines"]}
    assert limits["invordering_limit"]["resolved"] and current["status"] == "invordering"


async def test_collection_after_the_one_year_limit_is_refused(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], today() - timedelta(days=2)
    )
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "forfeited_cents": 50_000},
    )
    await db.execute(
        "UPDATE enforcement_deadline SET due_on = $2 WHERE step_id = $1::uuid AND kind = 'invordering_limit'",
        hercontrole["id"],
        today() - timedelta(days=1),
    )
    current = await case(client, world, current["id"])
    assert all(offer["type"] != "invordering" for offer in current["next_steps"])  # nor offered any more
    before = await table_counts(db)
    late = await step(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    assert_problem(late, 409, "collection_time_barred")
    assert await table_counts(db) == before


async def test_a_complied_hercontrole_forfeits_nothing(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], today() - timedelta(days=1)
    )
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "complied", "observed_on": today().isoformat()},
    )
    assert last_step(current)["status"] == "complied" and last_step(current)["forfeited_cents"] is None
    assert [d["kind"] for d in last_step(current)["deadlines"]] == ["begunstigingstermijn"]


# --- deadlines ------------------------------------------------------------------------------------------------------


async def test_the_deadlines_view_shows_what_expires_this_week_and_what_is_overdue(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(
        client,
        world,
        current,
        {
            "type": "voornemen",
            "decision": "boete",
            "amount_cents": 102_000,
            "zienswijze_weeks": 1,
            "deviation_reason": "Calculerend",
        },
    )
    current = await done(client, world, current, last_step(current)["id"], "send")
    voornemen = last_step(current)
    due = date.fromisoformat(voornemen["deadlines"][0]["due_on"])
    response = await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params={"until": due.isoformat()})
    assert response.status_code == 200, response.text
    view = response.json()
    assert [(d["kind"], d["step_id"], d["due_on"]) for d in view["expiring"]] == [
        ("zienswijze", voornemen["id"], due.isoformat())
    ]
    assert view["overdue"] == []
    # Not within a period that ends before it; nor for another regime's officer.
    earlier = await client.get(
        f"{BASE}/deadlines", headers=world.h["officer_a"], params={"until": (due - timedelta(days=1)).isoformat()}
    )
    assert earlier.json()["expiring"] == []
    other = await client.get(f"{BASE}/deadlines", headers=world.h["enforcer_coffee"], params={"until": due.isoformat()})
    assert other.json()["expiring"] == []
    # The term passes without a zienswijze recorded: overdue, until it is recorded.
    await db.execute(
        "UPDATE enforcement_deadline SET due_on = $2 WHERE step_id = $1::uuid",
        voornemen["id"],
        today() - timedelta(days=1),
    )
    view = (await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"])).json()
    assert [(d["kind"], d["overdue"]) for d in view["overdue"]] == [("zienswijze", True)]
    current = await done(client, world, current, voornemen["id"], "zienswijze", body={"received": False})
    assert last_step(current)["zienswijze"] == "not_received"
    view = (await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"])).json()
    assert view["overdue"] == [] and view["expiring"] == []
    assert_problem(
        await client.get(
            f"{BASE}/deadlines",
            headers=world.h["officer_a"],
            params={"until": (today() - timedelta(days=1)).isoformat()},
        ),
        400,
        "invalid_date_range",
    )


async def close(client, world: World, current: dict) -> dict:
    response = await client.post(
        f"{CASES}/{current['id']}/close",
        json={"result": "no_action", "reason": "Gestopt"},
        headers=with_version(world, "officer_a", current["version"]),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_closing_a_case_ends_its_own_terms_but_not_the_bezwaar_term(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(
        client,
        world,
        current,
        {
            "type": "voornemen",
            "decision": "boete",
            "amount_cents": 102_000,
            "zienswijze_weeks": 1,
            "deviation_reason": "Calculerend",
        },
    )
    current = await done(client, world, current, last_step(current)["id"], "send")
    until = {"until": last_step(current)["deadlines"][0]["due_on"]}
    assert [
        d["kind"]
        for d in (await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params=until)).json()["expiring"]
    ] == ["zienswijze"]
    await close(client, world, current)
    assert (await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params=until)).json()["expiring"] == []


async def test_a_sent_decision_keeps_its_bezwaar_term_after_the_case_closes(client, db, world):
    current = await fined(client, world)
    besluit = last_step(current)
    until = {"until": besluit["deadlines"][0]["due_on"]}
    await close(client, world, current)
    view = (await client.get(f"{BASE}/deadlines", headers=world.h["officer_a"], params=until)).json()
    assert [(d["kind"], d["step_id"]) for d in view["expiring"]] == [("bezwaar_term", besluit["id"])]


async def test_authority_set_terms_follow_the_atw_calendar_by_a_setting(database_url, data_dir, auth, db):
    async with app_client(make_settings(database_url, data_dir, atw_authority_terms=[])) as client:
        world = await enforcement_world(client, auth, db)
        await reviewed(client, world, NO_MANAGER)
        current = await only_case(client, world)
        current = await drafted(
            client,
            world,
            current,
            {
                "type": "voornemen",
                "decision": "boete",
                "amount_cents": 102_000,
                "zienswijze_weeks": 1,
                "deviation_reason": "Calculerend",
            },
        )
        current = await done(client, world, current, last_step(current)["id"], "send")
        # Off: the plain date, even on a weekend; on (the default) it would be calendar.term_end(..., atw=True).
        sent_on = date.fromisoformat(last_step(current)["sent_on"])
        assert last_step(current)["deadlines"][0]["due_on"] == (sent_on + timedelta(weeks=1)).isoformat()


# --- bad input: a clear error and nothing changed --------------------------------------------------------------------


async def test_a_decision_is_not_sent_without_approval(client, db, world):
    current = await warned_once(client, world)
    current = await voornemen_answered(client, world, current, "boete", amount_cents=102_000)
    current = await drafted(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": 102_000},
    )
    draft = last_step(current)
    before = await table_counts(db)
    assert_problem(await act(client, world, current, draft["id"], "send"), 409, "not_approved")
    assert await table_counts(db) == before
    assert (await db.fetchval("SELECT status FROM enforcement_step WHERE id = $1::uuid", draft["id"])) == "draft"
    assert (await case(client, world, current["id"]))["version"] == current["version"]


async def test_the_drafter_does_not_approve_their_own_decision(client, db, world):
    current = await warned_once(client, world)
    current = await voornemen_answered(client, world, current, "boete", amount_cents=102_000)
    current = await drafted(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": 102_000},
    )
    before = await table_counts(db)
    problem = assert_problem(await act(client, world, current, last_step(current)["id"], "approve"), 403, "four_eyes")
    assert "drafted" in problem["detail"]
    assert await table_counts(db) == before
    assert (
        await db.fetchval("SELECT approved_by FROM enforcement_step WHERE id = $1::uuid", last_step(current)["id"])
    ) is None


async def test_an_inspector_of_the_violation_does_not_approve_the_decision(client, db, world):
    # insp_enforcer_b inspected (team-b, reviewed by coord_b) and is an enforcement officer as well.
    await reviewed(client, world, NO_MANAGER, who="insp_enforcer_b", reviewer="coord_b")
    current = await only_case(client, world)
    current = await voornemen_answered(
        client, world, current, "boete", amount_cents=102_000, deviation_reason="Calculerend"
    )
    current = await drafted(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": 102_000},
    )
    assert last_step(current)["deviation_reason"] == "Calculerend"  # carried over from the voornemen
    before = await table_counts(db)
    problem = assert_problem(
        await act(client, world, current, last_step(current)["id"], "approve", who="insp_enforcer_b"), 403, "four_eyes"
    )
    assert "inspected" in problem["detail"]
    assert await table_counts(db) == before


async def test_a_second_fine_for_the_same_violation_is_refused(client, db, world):
    current = await fined(client, world)
    boete = last_step(current)
    # The first voornemen was used by its besluit: a second besluit would need a voornemen of its own first.
    current = await voornemen_answered(
        client,
        world,
        current,
        "boete",
        amount_cents=50_000,
        violation_ids=boete["violation_ids"],
        deviation_reason="Nogmaals",
    )
    before = await table_counts(db)
    again = await step(
        client,
        world,
        current,
        {
            "type": "besluit",
            "decision": "boete",
            "document_text": MOTIVERING,
            "amount_cents": 50_000,
            "violation_ids": boete["violation_ids"],
            "deviation_reason": "Nogmaals",
        },
    )
    assert_problem(again, 409, "already_fined")
    assert await table_counts(db) == before


BAD_FIELDS = [
    ({"type": "voornemen", "decision": "schorsing", "weeks": 13}, "/weeks"),
    ({"type": "besluit", "decision": "schorsing", "weeks": 13}, "/weeks"),
    ({"type": "voornemen", "decision": "ontzegging_19a", "weeks": 13}, "/weeks"),
    ({"type": "besluit", "decision": "ontzegging_19a", "weeks": 13}, "/weeks"),
    ({"type": "voornemen", "decision": "ontzegging_19a", "weeks": 0}, "/weeks"),
    (
        {
            "type": "besluit",
            "decision": "last_onder_dwangsom",
            "order_text": "x",
            "begunstiging_days": 7,
            "dwangsom_cents": 10_000,
            "dwangsom_unit": "per_day",
            "dwangsom_max_cents": 5_000,
        },
        "/dwangsom_max_cents",
    ),
    ({"type": "besluit", "decision": "schorsing"}, "/weeks"),
    ({"type": "besluit", "decision": "boete"}, "/amount_cents"),
    ({"type": "warning", "amount_cents": 100}, "/amount_cents"),
    ({"type": "voornemen"}, "/decision"),
    ({"type": "warning", "violation_ids": ["00000000-0000-4000-8000-000000000000"]}, "/violation_ids/0"),
]


async def test_out_of_range_or_misplaced_fields_are_refused(client, db, world):
    """A schorsing over 12 weeks, a 19a ban outside 1-12 weeks, a maximum below the dwangsom, missing or
    misplaced fields: 422 naming the field, nothing stored."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    before = await table_counts(db)
    for body, pointer in BAD_FIELDS:
        response = await step(client, world, current, {**body, "deviation_reason": "Ernstig"})
        problem = assert_problem(response, 422, "validation_failed")
        assert pointer in [error.get("pointer") for error in problem["errors"]], (body, problem)
    assert await table_counts(db) == before


async def test_a_besluit_before_its_voornemen_is_out_of_order(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    before = await table_counts(db)
    early = await step(
        client,
        world,
        current,
        {
            "type": "besluit",
            "decision": "boete",
            "document_text": MOTIVERING,
            "amount_cents": 102_000,
            "deviation_reason": "Direct beboeten",
        },
    )
    assert_problem(early, 409, "voornemen_required")
    assert await table_counts(db) == before
    # A voornemen sent but its zienswijze term still running: still too early.
    current = await drafted(
        client,
        world,
        current,
        {"type": "voornemen", "decision": "boete", "amount_cents": 102_000, "deviation_reason": "Calculerend"},
    )
    current = await done(client, world, current, last_step(current)["id"], "send")
    before = await table_counts(db)
    running = await step(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": 102_000},
    )
    assert_problem(running, 409, "zienswijze_term_running")
    not_yet = await act(client, world, current, last_step(current)["id"], "zienswijze", body={"received": False})
    assert_problem(not_yet, 409, "zienswijze_term_running")
    assert await table_counts(db) == before


async def test_a_stale_if_match_is_412_and_changes_nothing(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    await reviewed(client, world, NO_MANAGER)  # the case moved on since it was read
    before = await table_counts(db)
    refused = await step(client, world, current, {"type": "warning"})
    assert_problem(refused, 412, "stale_version")
    assert await table_counts(db) == before
    missing = await client.post(
        f"{CASES}/{current['id']}/steps", json={"type": "warning"}, headers=world.h["officer_a"]
    )
    assert_problem(missing, 428, "precondition_required")


async def test_a_drafted_step_answers_with_the_case_location_and_etag_also_on_a_replay(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    headers = with_version(world, "officer_a", current["version"], **{"Idempotency-Key": "warn-1"})
    first = await client.post(f"{CASES}/{current['id']}/steps", json={"type": "warning"}, headers=headers)
    assert first.status_code == 201
    assert first.headers["location"] == f"{CASES}/{current['id']}"
    assert first.headers["etag"] == f'"{first.json()["version"]}"'
    replay = await client.post(f"{CASES}/{current['id']}/steps", json={"type": "warning"}, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert (replay.headers["location"], replay.headers["etag"]) == (first.headers["location"], first.headers["etag"])
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == 1


async def test_two_officers_issuing_the_same_step_at_once_one_succeeds(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    responses = await asyncio.gather(
        step(client, world, current, {"type": "warning"}, who="officer_a"),
        step(client, world, current, {"type": "warning"}, who="officer_b"),
    )
    assert sorted(r.status_code for r in responses) == [201, 412]
    assert_problem(next(r for r in responses if r.status_code == 412), 412, "stale_version")
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == 1


async def test_a_closed_case_takes_no_steps(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    response = await client.post(
        f"{CASES}/{current['id']}/close",
        json={"result": "no_action", "reason": "Opgelost"},
        headers=with_version(world, "officer_a", current["version"]),
    )
    closed = response.json()
    before = await table_counts(db)
    assert_problem(await step(client, world, closed, {"type": "warning"}), 409, "case_closed")
    assert await table_counts(db) == before
