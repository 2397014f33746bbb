"""Enforcement against the law as a jurist reads it: three strikes measured per violation (Alcoholwet art. 19a),
recidive only from fines that stand, violation dates never after the day of receipt, the real date of sending,
a voornemen before a fine above EUR 340 (Awb 5:53), one offence history per law, the employee class of the day,
plans an inspector can carry out, bezwaar lateness and decision terms (Awb 6:9, 6:11, 7:10), dwangsom
arithmetic (5:32b, 5:33, 5:35) and the hercontrole's outcome from the follow-up inspection."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core import calendar
from backend.core.calendar import AMSTERDAM, today
from backend.enforcement.dwangsom import forfeiture
from backend.enforcement.procedure import ProcedureInvalid, awb, load_awb
from backend.enforcement.proposal import months_before
from backend.enforcement.records import StepRecord
from tests.enforcement_helpers import (
    AGE_NOT_ESTABLISHED,
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
    proposal,
    reviewed,
    step,
    step_in,
    table_counts,
    voornemen_answered,
    warned_once,
    with_dwangsom,
    with_version,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import HORECA_OK, World, checklist_file, put
from tests.registry_helpers import create_object, object_body

_houses = itertools.count(200)


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def http_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def on_day(day: date) -> tuple[str, str]:
    """started_at and finished_at of a visit at noon (Amsterdam) on `day`."""
    noon = datetime.combine(day, time(12), AMSTERDAM)
    return (noon - timedelta(minutes=40)).isoformat(), noon.isoformat()


async def reviewed_on(
    client, world: World, object_id: str, day: date, answers=AGE_NOT_ESTABLISHED, checklist: str = "alcohol-horeca"
) -> dict:
    """An inspection of `object_id` done on `day`, sent today by a phone whose clock is right (it was offline
    since), and reviewed."""
    started, finished = on_day(day)
    body = world.body(
        object_id=object_id,
        started_at=started,
        finished_at=finished,
        checklists=[{"checklist_version_id": world.ids[checklist], "answers": dict(answers)}],
    )
    return await reviewed(client, world, {}, body=body, headers={"Date": http_date(datetime.now(UTC))})


async def cases_of(client, world: World, object_id: str) -> list[dict]:
    response = await client.get(CASES, headers=world.h["officer_a"], params={"object_id": object_id, "open": "true"})
    assert response.status_code == 200, response.text
    return [await case(client, world, item["id"]) for item in response.json()["items"]]


async def close(client, world: World, current: dict) -> None:
    response = await client.post(
        f"{CASES}/{current['id']}/close",
        json={"result": "no_action", "reason": "Afgedaan"},
        headers=with_version(world, "officer_a", current["version"]),
    )
    assert response.status_code == 200, response.text


def strikes_by_law(days: list[date]) -> int:
    """The most occasions any of these violations has in the twelve months before its date, its own included."""
    return max(sum(1 for other in days if months_before(day, 12) < other <= day) for day in days)


async def new_cafe(client, world: World) -> str:
    return (await create_object(client, world.h["admin"], name="Café De Toets", house_number=next(_houses)))["id"]


# --- three strikes counts the twelve months before the violation ------------------------------------------------------


async def test_three_strikes_ignores_open_violations_older_than_twelve_months(client, world):
    cafe = await new_cafe(client, world)
    now = today()
    for age in (900, 500, 5):  # three in one case, no two of them within a year of each other
        await reviewed_on(client, world, cafe, now - timedelta(days=age))
    [current] = await cases_of(client, world, cafe)
    [item] = (await proposal(client, world, current["id"]))["items"]
    strikes = item["three_strikes"]
    assert (strikes["count"], strikes["triggered"]) == (1, False)
    assert item["step"] != "ontzegging_19a"


days_back = st.lists(st.integers(min_value=0, max_value=800), min_size=1, max_size=5)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ages=days_back, seed=st.integers(min_value=0, max_value=1000))
async def test_three_strikes_is_the_same_handled_together_or_one_at_a_time(client, world, ages, seed):
    """For any dates: all violations open in one case (reviewed in any order) propose the same art. 19a count as
    handling each on arrival, in a case of its own."""
    days = [today() - timedelta(days=age) for age in ages]
    together = await new_cafe(client, world)
    for day in random.Random(seed).sample(days, len(days)):
        await reviewed_on(client, world, together, day)
    [current] = await cases_of(client, world, together)
    [item] = (await proposal(client, world, current["id"]))["items"]
    one_at_a_time = await new_cafe(client, world)
    counts = []
    for day in sorted(days):
        await reviewed_on(client, world, one_at_a_time, day)
        [alone] = await cases_of(client, world, one_at_a_time)
        [single] = (await proposal(client, world, alone["id"]))["items"]
        counts.append(single["three_strikes"]["count"])
        await close(client, world, alone)
    expected = strikes_by_law(days)
    assert item["three_strikes"]["count"] == max(counts) == expected
    assert item["three_strikes"]["triggered"] == (expected >= 3) == any(count >= 3 for count in counts)
    assert (item["step"] == "ontzegging_19a") == (expected >= 3)


# --- only fines that stand count as recidive --------------------------------------------------------------------------


async def test_a_boete_annulled_on_bezwaar_does_not_count_as_recidive(client, world):
    current = await fined(client, world)
    boete = last_step(current)
    current = await drafted(
        client, world, current, {"type": "bezwaar", "related_step_id": boete["id"], "received_on": today().isoformat()}
    )
    await reviewed(client, world, NO_MANAGER)
    current = await case(client, world, current["id"])
    [item] = (await proposal(client, world, current["id"]))["items"]
    assert item["fine"]["recidive"]  # while the bezwaar runs the fine stands
    current = await done(client, world, current, last_step(current)["id"], "outcome", body={"result": "gegrond"})
    [item] = (await proposal(client, world, current["id"]))["items"]
    assert (item["fine"]["recidive"], item["fine"]["recidive_fine_step_ids"]) == (False, [])
    assert item["fine"]["amount_cents"] == 102_000


async def test_a_withdrawn_boete_does_not_count_as_recidive(client, db, world):
    current = await fined(client, world)
    boete = last_step(current)
    before = await table_counts(db)
    refused = await act(client, world, current, boete["id"], "withdraw", body={"reason": ""})
    assert assert_problem(refused, 422, "validation_failed")["errors"][0]["pointer"] == "/reason"
    assert await table_counts(db) == before
    current = await done(
        client,
        world,
        current,
        boete["id"],
        "withdraw",
        body={"reason": "Overtreding niet bewezen: getuige trok verklaring in"},
    )
    withdrawn = next(s for s in current["steps"] if s["id"] == boete["id"])
    assert withdrawn["withdrawn_on"] == today().isoformat() and withdrawn["status"] == "sent"
    assert all(d["resolved"] for d in withdrawn["deadlines"])
    assert_problem(
        await act(client, world, current, boete["id"], "withdraw", body={"reason": "Nogmaals"}),
        409,
        "already_withdrawn",
    )
    await reviewed(client, world, NO_MANAGER)
    [item] = (await proposal(client, world, current["id"]))["items"]
    assert not item["fine"]["recidive"] and item["fine"]["amount_cents"] == 102_000
    event = await db.fetchrow("SELECT reason FROM audit_event WHERE action = 'enforcement_case.step_withdrawn'")
    assert event["reason"].startswith("Overtreding niet bewezen")


# --- no violation date after the day of receipt -----------------------------------------------------------------------


@pytest.mark.parametrize("phone_behind", [timedelta(days=20), timedelta(days=1)])
async def test_a_clock_correction_that_dates_the_inspection_after_its_receipt_is_refused(
    client, db, world, phone_behind
):
    """The Date header says the phone runs behind; correcting its finish time by that skew would date the
    inspection (and its violations) after the day it arrived."""
    finished = datetime.now(UTC) - timedelta(minutes=10)
    body = world.body(
        started_at=(finished - timedelta(minutes=30)).isoformat(),
        finished_at=finished.isoformat(),
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": NO_MANAGER}],
    )
    before = await db.fetchval("SELECT count(*) FROM inspection")
    response = await put(client, world, body, headers={"Date": http_date(datetime.now(UTC) - phone_behind)})
    problem = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/finished_at"]
    assert "after the day it was received" in problem["errors"][0]["detail"]
    assert await db.fetchval("SELECT count(*) FROM inspection") == before
    assert await db.fetchval("SELECT count(*) FROM violation") == 0


# --- the day of sending -----------------------------------------------------------------------------------------------


async def approved_boete(client, db, world: World, approved_days_ago: int) -> dict:
    """A boete decision approved `approved_days_ago` days ago (arranged: the step is not sent yet), not sent."""
    current = await warned_once(client, world)
    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    current = await voornemen_answered(client, world, current, "boete", amount_cents=amount)
    current = await drafted(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": amount},
    )
    current = await done(client, world, current, last_step(current)["id"], "approve", who="officer_b")
    await db.execute(
        "UPDATE enforcement_step SET approved_at = now() - make_interval(days => $2), "
        "created_at = now() - make_interval(days => $2) WHERE id = $1::uuid",
        last_step(current)["id"],
        approved_days_ago,
    )
    return current


async def test_a_decision_is_sent_on_the_day_given_and_its_bezwaar_term_counts_from_it(client, db, world):
    current = await approved_boete(client, db, world, approved_days_ago=5)
    besluit = last_step(current)
    sent_on = today() - timedelta(days=3)  # approved and signed on one day, posted later
    current = await done(client, world, current, besluit["id"], "send", body={"sent_on": sent_on.isoformat()})
    sent = last_step(current)
    assert sent["sent_on"] == sent_on.isoformat()
    assert sent["deadlines"] == [
        {"kind": "bezwaar_term", "resolved": False, "due_on": calendar.term_end(sent_on, weeks=6).isoformat()}
    ]


@pytest.mark.parametrize("days", [1, -6])  # tomorrow; the day before the approval
async def test_a_sending_day_in_the_future_or_before_the_approval_is_refused(client, db, world, days):
    current = await approved_boete(client, db, world, approved_days_ago=5)
    besluit = last_step(current)
    before = await table_counts(db)
    day = today() + timedelta(days=days)
    refused = await act(client, world, current, besluit["id"], "send", body={"sent_on": day.isoformat()})
    problem = assert_problem(refused, 422, "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/sent_on"]
    assert await table_counts(db) == before
    assert await db.fetchval("SELECT sent_on FROM enforcement_step WHERE id = $1::uuid", besluit["id"]) is None


async def test_without_a_day_a_step_is_sent_today_and_a_voornemen_term_counts_from_the_day_given(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    [current] = await cases_of(client, world, world.ids["cafe"])
    current = await drafted(client, world, current, {"type": "warning"})
    current = await done(client, world, current, last_step(current)["id"], "send")
    assert last_step(current)["sent_on"] == today().isoformat()
    await reviewed(client, world, NO_MANAGER)
    current = await case(client, world, current["id"])
    current = await drafted(client, world, current, {"type": "voornemen", "decision": "boete", "amount_cents": 102_000})
    voornemen = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET created_at = now() - interval '4 days' WHERE id = $1::uuid", voornemen["id"]
    )
    sent_on = today() - timedelta(days=2)
    current = await done(client, world, current, voornemen["id"], "send", body={"sent_on": sent_on.isoformat()})
    assert last_step(current)["deadlines"][0]["due_on"] == calendar.term_end(sent_on, weeks=2).isoformat()


async def test_the_begunstigingstermijn_counts_from_the_day_of_sending(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    await db.execute(
        "UPDATE enforcement_step SET approved_at = now() - interval '6 days' WHERE id = $1::uuid", besluit["id"]
    )
    sent_on = today() - timedelta(days=4)
    current = await done(client, world, current, besluit["id"], "send", body={"sent_on": sent_on.isoformat()})
    hercontrole = last_step(current)
    assert hercontrole["due_on"] == calendar.term_end(sent_on, days=14).isoformat()


# --- a boete above EUR 340 needs a voornemen on the same violations (Awb 5:53) ----------------------------------------


async def test_a_boete_above_340_euro_on_violations_no_voornemen_named_is_refused(client, db, world):
    current = await warned_once(client, world)
    current = await voornemen_answered(client, world, current, "boete", amount_cents=102_000)
    heard = last_step(current)["violation_ids"]
    await reviewed(client, world, NO_MANAGER)  # a new violation, after the voornemen
    current = await case(client, world, current["id"])
    unheard = [
        v["violation_id"]
        for v in current["violations"]
        if v["violation_id"] not in heard and v["violation_id"] not in current["steps"][0]["violation_ids"]
    ]
    before = await table_counts(db)
    for violation_ids in (heard + unheard, unheard):
        refused = await step(
            client,
            world,
            current,
            {
                "type": "besluit",
                "decision": "boete",
                "document_text": MOTIVERING,
                "amount_cents": 102_000 * len(violation_ids),
                "violation_ids": violation_ids,
                "deviation_reason": "Beide overtredingen in een besluit",
            },
        )
        problem = assert_problem(refused, 409, "voornemen_required")
        assert "5:53" in problem["detail"] and unheard[0] in problem["detail"]
    assert await table_counts(db) == before
    # At most EUR 340 too: every besluit follows a voornemen (proposal.VOORNEMEN_REQUIRED), and rests only on the
    # violations it named, on which the offender was heard (Awb 4:8).
    low = {
        "type": "besluit",
        "decision": "boete",
        "document_text": MOTIVERING,
        "amount_cents": 34_000,
        "deviation_reason": "Lage boete",
    }
    problem = assert_problem(
        await step(client, world, current, {**low, "violation_ids": heard + unheard}), 409, "voornemen_required"
    )
    assert "4:8" in problem["detail"] and unheard[0] in problem["detail"]
    assert await table_counts(db) == before
    current = await drafted(client, world, current, {**low, "violation_ids": heard})
    assert last_step(current)["amount_cents"] == 34_000


async def test_a_boete_on_the_violations_of_the_voornemen_is_drafted(client, db, world):
    current = await warned_once(client, world)
    current = await voornemen_answered(client, world, current, "boete", amount_cents=102_000)
    heard = last_step(current)["violation_ids"]
    current = await drafted(
        client,
        world,
        current,
        {
            "type": "besluit",
            "decision": "boete",
            "document_text": MOTIVERING,
            "amount_cents": 102_000,
            "violation_ids": heard,
        },
    )
    assert last_step(current)["violation_ids"] == heard


def test_the_awb_values_are_data_and_a_broken_file_is_an_error(tmp_path):
    assert awb()["boete_voornemen_above_cents"] == 34_000 and awb()["bezwaar_term_weeks"] == 6
    broken = tmp_path / "awb.json"
    broken.write_text('{"values": {"bezwaar_term_weeks": {"value": 0}}}', encoding="utf-8")
    with pytest.raises(ProcedureInvalid):
        load_awb(broken)


# --- one offence history per law --------------------------------------------------------------------------------------


async def test_one_visit_with_an_alcohol_and_a_nix18_form_opens_one_alcoholwet_case(client, db, world):
    body = nix18_body(world)
    body["checklists"].insert(0, {"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(NO_MANAGER)})
    body["photos"][0]["checklist"] = 1
    await reviewed(client, world, {}, body=body)
    [current] = await cases_of(client, world, world.ids["cafe"])
    assert current["regime"] == "alcohol"
    assert sorted(v["code"] for v in current["violations"]) == [
        "AW-20-1-AGE-NOT-ESTABLISHED",
        "AW-24-1-NO-MANAGER-PRESENT",
    ]
    # A NIX18 sale and two alcohol inspections: the third strike under one law, in that one case.
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    await reviewed(client, world, AGE_NOT_ESTABLISHED)
    advice = await proposal(client, world, current["id"])
    age = next(item for item in advice["items"] if item["article"] == "Alcoholwet art. 20 lid 1")
    assert (age["three_strikes"]["count"], age["three_strikes"]["triggered"]) == (3, True)


async def test_a_case_opened_by_hand_under_nix18_is_the_alcoholwet_case(client, db, world):
    response = await client.post(
        CASES,
        json={"object_id": world.ids["cafe"], "regime": "nix18", "reason": "Melding verkoop aan minderjarige"},
        headers=world.h["officer_a"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["regime"] == "alcohol"
    await reviewed(client, world, {}, body=nix18_body(world))
    [current] = await cases_of(client, world, world.ids["cafe"])
    assert current["id"] == response.json()["id"] and len(current["violations"]) == 1


async def test_an_earlier_nix18_case_merges_into_the_alcoholwet_case(client, db, world):
    await reviewed(client, world, NO_MANAGER)
    [target] = await cases_of(client, world, world.ids["cafe"])
    # A nix18 case of the object opened when cases were kept per checklist (arranged as stored data).
    source_id = await db.fetchval(
        "INSERT INTO enforcement_case (id, establishment_id, regime, wijk) "
        "SELECT gen_random_uuid(), id, 'nix18', wijk FROM establishment WHERE id = $1::uuid RETURNING id",
        world.ids["cafe"],
    )
    response = await client.post(
        f"{CASES}/{target['id']}/merge",
        json={"source_case_id": str(source_id), "source_version": 1, "reason": "Eén wet"},
        headers=with_version(world, "officer_a", target["version"]),
    )
    assert response.status_code == 200, response.text
    assert (await case(client, world, str(source_id)))["merged_into"] == target["id"]


# --- the employee class of the day of the violation -------------------------------------------------------------------


async def test_the_fine_column_is_the_registry_class_on_the_violation_date(client, db, world):
    big = await create_object(
        client, world.h["admin"], name="Grand Café", house_number=next(_houses), employee_class="50_or_more"
    )
    # Registered a year ago (arranged: the history's first period starts then).
    await db.execute(
        "UPDATE establishment_employee_class SET valid_from = $2 WHERE establishment_id = $1::uuid",
        big["id"],
        today() - timedelta(days=365),
    )
    # The business shrank today; the registry is updated before the review of last month's visit.
    response = await client.put(
        f"/api/v1/objects/{big['id']}",
        json=object_body(name="Grand Café", house_number=big["house_number"], employee_class="under_50"),
        headers={**world.h["admin"], "If-Match": f'"{big["version"]}"'},
    )
    assert response.status_code == 200, response.text
    await reviewed_on(client, world, big["id"], today() - timedelta(days=30), answers=NO_MANAGER)
    [current] = await cases_of(client, world, big["id"])
    advice = await proposal(client, world, current["id"])
    assert (advice["employee_class"], advice["employee_class_source"]) == ("50_or_more", "registry")
    fine = advice["items"][0]["fine"]
    assert (fine["employee_class"], fine["employee_class_source"], fine["amount_cents"]) == (
        "50_or_more",
        "registry",
        204_000,
    )
    # A violation of today takes today's class.
    await reviewed_on(client, world, big["id"], today(), answers=NO_MANAGER)
    advice = await proposal(client, world, current["id"])
    assert (advice["employee_class"], advice["items"][0]["fine"]["employee_class"]) == ("under_50", "under_50")


async def test_the_inspectors_answer_on_the_day_wins_over_the_registry(client, db, world):
    await reviewed(client, world, {**NO_MANAGER, "BB-01": "ge50"})  # the café is registered with fewer than 50
    [current] = await cases_of(client, world, world.ids["cafe"])
    advice = await proposal(client, world, current["id"])
    fine = advice["items"][0]["fine"]
    assert (fine["employee_class"], fine["employee_class_source"], fine["amount_cents"]) == (
        "50_or_more",
        "inspection",
        204_000,
    )
    assert advice["employee_class_source"] == "inspection"


async def test_an_unknown_answer_leaves_the_registry_class(client, db, world):
    await reviewed(client, world, {**NO_MANAGER, "BB-01": "unknown"})
    [current] = await cases_of(client, world, world.ids["cafe"])
    fine = (await proposal(client, world, current["id"]))["items"][0]["fine"]
    assert (fine["employee_class"], fine["employee_class_source"]) == ("under_50", "registry")


# --- plans that can be carried out ------------------------------------------------------------------------------------


def assignment(world: World, **overrides) -> dict:
    start = today() + timedelta(days=1)
    return {
        "object_id": world.ids["cafe"],
        "team_id": "team-a",
        "regimes": ["alcohol"],
        "checklist_version_ids": [world.ids["alcohol-horeca"]],
        "planned_from": start.isoformat(),
        "planned_to": (start + timedelta(days=5)).isoformat(),
        "inspector_ids": [world.ids["insp_a1"]],
        "reason": "regular_cycle",
        **overrides,
    }


async def test_a_checklist_for_another_kind_of_object_or_a_regime_without_its_checklist_is_refused(client, db, world):
    shop = await client.post("/api/v1/checklists", headers=world.h["admin"], json=checklist_file("alcohol-shop"))
    assert shop.status_code == 201, shop.text
    refused = [
        # A café (horeca) planned with the shop checklist.
        (assignment(world, checklist_version_ids=[shop.json()["id"]]), "/checklist_version_ids/0", "kind"),
        # The nix18 regime planned without a NIX18 form.
        (assignment(world, regimes=["alcohol", "nix18"]), "/checklist_version_ids", "nix18"),
    ]
    for body, pointer, word in refused:
        response = await client.post("/api/v1/assignments", headers=world.h["coord_a"], json=body)
        problem = assert_problem(response, 422, "validation_failed")
        assert [(e["pointer"], word in e["detail"]) for e in problem["errors"]] == [(pointer, True)]
    assert await db.fetchval("SELECT count(*) FROM assignment") == 0
    fitting = assignment(
        world,
        regimes=["alcohol", "nix18"],
        checklist_version_ids=[world.ids["alcohol-horeca"], world.ids["nix18-purchase-attempt"]],
    )
    response = await client.post("/api/v1/assignments", headers=world.h["coord_a"], json=fitting)
    assert response.status_code == 201, response.text


# --- bezwaar: lateness (Awb 6:9, 6:11) and the decision term (7:10) ---------------------------------------------------


async def sent_long_ago(client, db, world: World, days_ago: int = 60) -> tuple[dict, dict]:
    """A boete sent `days_ago` days ago (approved earlier still), so its bezwaar term has ended."""
    current = await approved_boete(client, db, world, approved_days_ago=days_ago + 1)
    sent_on = today() - timedelta(days=days_ago)
    current = await done(
        client, world, current, last_step(current)["id"], "send", body={"sent_on": sent_on.isoformat()}
    )
    return current, last_step(current)


@pytest.mark.parametrize(
    ("posted", "received", "late"),
    [
        (0, 3, False),  # posted on the last day, received three days later: on time (6:9)
        (None, 3, True),  # handed in three days after the term
        (1, 3, True),  # posted after the term
        (0, 8, True),  # posted in time but received more than a week after the term
        (None, 0, False),  # received on the last day
    ],
)
async def test_a_bezwaar_by_post_is_on_time_when_posted_within_the_term(client, db, world, posted, received, late):
    current, besluit = await sent_long_ago(client, db, world)
    term_end = calendar.term_end(date.fromisoformat(besluit["sent_on"]), weeks=6)
    body = {
        "type": "bezwaar",
        "related_step_id": besluit["id"],
        "received_on": (term_end + timedelta(days=received)).isoformat(),
    }
    if posted is not None:
        body["posted_on"] = (term_end + timedelta(days=posted)).isoformat()
    current = await drafted(client, world, current, body)
    assert (last_step(current)["late"], last_step(current)["posted_on"]) == (late, body.get("posted_on"))


async def test_a_decision_posted_after_its_day_of_sending_has_its_bezwaar_term_from_the_posting(client, db, world):
    """Made known when it left the authority (Awb 3:41): a besluit recorded as sent 60 days ago but posted four days
    later has its bezwaar term from the posting, so a bezwaar received two days after the sending's term is on time."""
    current, besluit = await sent_long_ago(client, db, world)
    sent_on = date.fromisoformat(besluit["sent_on"])
    assert besluit["dispatch"]["by"] == "post"  # a sending recorded for an earlier day went on paper
    posted_on = sent_on + timedelta(days=4)
    current = await done(client, world, current, besluit["id"], "posted", body={"posted_on": posted_on.isoformat()})
    from_posting = calendar.term_end(posted_on, weeks=6)
    assert step_in(current, besluit["id"])["deadlines"] == [
        {"kind": "bezwaar_term", "resolved": False, "due_on": from_posting.isoformat()}
    ]
    received_on = calendar.term_end(sent_on, weeks=6) + timedelta(days=2)
    assert received_on <= from_posting
    body = {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": received_on.isoformat()}
    current = await drafted(client, world, current, body)
    assert last_step(current)["late"] is False


def sent_decision(sent_on: date, posted_on: date | None = None) -> StepRecord:
    """A sent besluit as the enforcement service holds it; only its days matter here."""
    required = {"id": uuid4(), "case_id": uuid4(), "seq": 1, "type": "besluit", "status": "sent"}
    fields = dict.fromkeys(StepRecord.__struct_fields__) | required
    moments = {"drafted_by": uuid4(), "created_at": datetime.now(UTC), "violation_ids": []}
    return msgspec.convert({**fields, **moments, "sent_on": sent_on, "letter_posted_on": posted_on}, StepRecord)


@pytest.mark.parametrize(
    ("posted", "emailed", "made_known"),
    [
        (None, None, 0),  # the day of sending
        (3, None, 3),  # posted three days later (a letter for post, or one whose e-mail failed)
        (None, 1, 1),  # the mail server took the e-mail the next day, after retries (Awb 2:17)
        (None, 0, 0),  # e-mailed the same day
    ],
)
def test_a_decision_is_made_known_on_the_day_it_left_the_authority(posted, emailed, made_known):
    sent_on = date(2026, 3, 3)
    after = {None: None} | {n: sent_on + timedelta(days=n) for n in range(4)}
    decision = sent_decision(sent_on, after[posted])
    assert decision.made_known_on(after[emailed]) == sent_on + timedelta(days=made_known)


async def bezwaar_change(client, world: World, current: dict, body: dict):
    return await act(client, world, current, last_step(current)["id"], "bezwaar-changes", body=body)


async def test_lateness_is_excused_with_a_reason_once(client, db, world):
    current, besluit = await sent_long_ago(client, db, world)
    term_end = calendar.term_end(date.fromisoformat(besluit["sent_on"]), weeks=6)
    current = await drafted(
        client,
        world,
        current,
        {
            "type": "bezwaar",
            "related_step_id": besluit["id"],
            "received_on": (term_end + timedelta(days=4)).isoformat(),
        },
    )
    assert last_step(current)["late"] and last_step(current)["late_excused"] is None
    reason = "Bezwaarmaker lag in het ziekenhuis (6:11)"
    response = await bezwaar_change(client, world, current, {"change": "lateness_excused", "reason": reason})
    assert response.status_code == 200, response.text
    current = response.json()
    bezwaar = last_step(current)
    assert bezwaar["late_excused"] is True
    assert [(c["change"], c["reason"]) for c in bezwaar["bezwaar_changes"]] == [("lateness_excused", reason)]
    assert_problem(
        await bezwaar_change(client, world, current, {"change": "lateness_excused", "reason": "Nogmaals"}),
        409,
        "not_late",
    )


async def registered_bezwaar(client, world: World) -> tuple[dict, date]:
    current = await fined(client, world)
    besluit = last_step(current)
    current = await drafted(
        client,
        world,
        current,
        {"type": "bezwaar", "related_step_id": besluit["id"], "received_on": today().isoformat()},
    )
    return current, calendar.term_end(date.fromisoformat(besluit["sent_on"]), weeks=6)


async def due_in_deadlines_view(client, world: World, step_id: str, until: date) -> list[str]:
    response = await client.get(
        "/api/v1/enforcement/deadlines", headers=world.h["officer_a"], params={"until": until.isoformat()}
    )
    assert response.status_code == 200, response.text
    return [d["due_on"] for d in response.json()["expiring"] if d["step_id"] == step_id]


async def test_the_decision_term_with_a_committee_an_extension_and_a_postponement(client, db, world):
    current, term_end = await registered_bezwaar(client, world)
    bezwaar_id = last_step(current)["id"]
    six = calendar.term_end(term_end, weeks=6)
    assert last_step(current)["deadlines"][0]["due_on"] == six.isoformat()
    current = (
        await bezwaar_change(
            client, world, current, {"change": "advisory_committee", "reason": "Adviescommissie bezwaarschriften"}
        )
    ).json()
    twelve = calendar.term_end(term_end, weeks=12)
    extended = calendar.term_end(twelve, weeks=6)
    response = await bezwaar_change(client, world, current, {"change": "extension", "reason": "Hoorzitting later"})
    assert response.status_code == 200, response.text
    current = response.json()
    refused = await bezwaar_change(client, world, current, {"change": "extension", "reason": "Nog eens"})
    assert_problem(refused, 409, "already_extended")
    no_consent = await bezwaar_change(
        client, world, current, {"change": "postponement", "reason": "Overleg", "weeks": 4, "consent": False}
    )
    assert assert_problem(no_consent, 422, "validation_failed")["errors"][0]["pointer"] == "/consent"
    response = await bezwaar_change(
        client, world, current, {"change": "postponement", "reason": "Mediation loopt", "weeks": 4, "consent": True}
    )
    assert response.status_code == 200, response.text
    bezwaar = last_step(response.json())
    postponed = calendar.term_end(extended, weeks=4)
    assert [(c["change"], c["due_before"], c["due_after"]) for c in bezwaar["bezwaar_changes"]] == [
        ("advisory_committee", six.isoformat(), twelve.isoformat()),
        ("extension", twelve.isoformat(), extended.isoformat()),
        ("postponement", extended.isoformat(), postponed.isoformat()),
    ]
    assert bezwaar["deadlines"][0]["due_on"] == postponed.isoformat()
    # The deadlines list shows the current date, not the first one.
    assert await due_in_deadlines_view(client, world, bezwaar_id, postponed) == [postponed.isoformat()]
    events = await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'enforcement_case.bezwaar_changed'")
    assert events == 3


# --- dwangsom arithmetic (Awb 5:32b, 5:33, 5:35) ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    unit=st.sampled_from(["per_day", "per_week", "per_violation", "ineens"]),
    sum_cents=st.integers(min_value=1, max_value=10**7),
    extra=st.integers(min_value=0, max_value=10**8),
    so_far=st.integers(min_value=0, max_value=10**8),
    days=st.integers(min_value=1, max_value=800),
    later=st.integers(min_value=0, max_value=100),
    violations=st.integers(min_value=1, max_value=50),
)
def test_forfeiture_is_units_times_the_sum_capped_at_the_maximum(
    unit, sum_cents, extra, so_far, days, later, violations
):
    maximum = sum_cents + extra
    last_day = date(2026, 3, 31)
    found = forfeiture(
        unit=unit,
        sum_cents=sum_cents,
        max_cents=maximum,
        so_far_cents=so_far,
        term_last_day=last_day,
        observed_on=last_day + timedelta(days=days),
        violations_observed=violations,
    )
    expected_units = {"per_day": days, "per_week": (days + 6) // 7, "per_violation": violations, "ineens": 1}[unit]
    assert found.units == expected_units
    assert found.cents == min(expected_units * sum_cents, max(maximum - so_far, 0))
    assert so_far + found.cents <= max(maximum, so_far)
    assert found.forfeited_on == (
        last_day + timedelta(days=days) if unit == "per_violation" else last_day + timedelta(days=1)
    )
    # Observed later, never less forfeited (the sum does not shrink while the violation continues).
    later_found = forfeiture(
        unit=unit,
        sum_cents=sum_cents,
        max_cents=maximum,
        so_far_cents=so_far,
        term_last_day=last_day,
        observed_on=last_day + timedelta(days=days + later),
        violations_observed=violations,
    )
    assert later_found.cents >= found.cents


async def hercontrole_ended(client, db, world: World, days_ago: int, **dwangsom_fields) -> tuple[dict, dict]:
    """A sent last onder dwangsom whose begunstigingstermijn ended `days_ago` days ago (arranged on the
    hercontrole, which is not a sent step)."""
    current, besluit = await with_dwangsom(client, world, **dwangsom_fields)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await db.execute(
        "UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid",
        hercontrole["id"],
        today() - timedelta(days=days_ago),
    )
    return current, hercontrole


@pytest.mark.parametrize(
    ("fields", "days_ago", "units", "cents"),
    [
        ({"dwangsom_unit": "per_day", "dwangsom_cents": 10_000, "dwangsom_max_cents": 150_000}, 5, 5, 50_000),
        ({"dwangsom_unit": "per_day", "dwangsom_cents": 10_000, "dwangsom_max_cents": 30_000}, 5, 5, 30_000),
        ({"dwangsom_unit": "per_week", "dwangsom_cents": 25_000, "dwangsom_max_cents": 150_000}, 9, 2, 50_000),
        ({"dwangsom_unit": "ineens", "dwangsom_cents": 80_000, "dwangsom_max_cents": 80_000}, 3, 1, 80_000),
    ],
)
async def test_the_forfeited_sum_and_its_terms_follow_from_the_decision(
    client, db, world, fields, days_ago, units, cents
):
    current, hercontrole = await hercontrole_ended(client, db, world, days_ago, **fields)
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat()},
    )
    forfeited = last_step(current)
    assert (forfeited["forfeited_units"], forfeited["forfeited_cents"]) == (units, cents)
    first_day = today() - timedelta(days=days_ago - 1)  # the day after the term
    assert forfeited["forfeited_on"] == first_day.isoformat()
    kinds = {d["kind"]: d["due_on"] for d in forfeited["deadlines"]}
    assert kinds["payment"] == calendar.term_end(first_day, weeks=6).isoformat()
    assert kinds["invordering_limit"] == first_day.replace(year=first_day.year + 1).isoformat()


async def test_another_sum_than_the_law_forfeits_needs_a_reason(client, db, world):
    current, hercontrole = await hercontrole_ended(client, db, world, 2)  # 50_000 per violation
    before = await table_counts(db)
    refused = await act(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "forfeited_cents": 40_000},
    )
    assert assert_problem(refused, 422, "reason_required")["errors"][0]["pointer"] == "/forfeited_cents"
    assert await table_counts(db) == before
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={
            "result": "forfeited",
            "observed_on": today().isoformat(),
            "forfeited_cents": 40_000,
            "reason": "Overtreding duurde slechts een deel van de dag",
        },
    )
    assert (last_step(current)["forfeited_cents"], last_step(current)["outcome_source"]) == (40_000, "officer")


async def test_an_invordering_is_not_sent_after_the_collection_limit(client, db, world):
    current, hercontrole = await hercontrole_ended(client, db, world, 2)
    current = await done(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat()},
    )
    current = await drafted(client, world, current, {"type": "invordering", "related_step_id": hercontrole["id"]})
    invordering = last_step(current)
    current = await done(client, world, current, invordering["id"], "approve", who="officer_b")
    # Drafted and approved in time, but the year runs out before it goes out (arranged on the deadline row).
    await db.execute(
        "UPDATE enforcement_deadline SET due_on = $2 WHERE step_id = $1::uuid AND kind = 'invordering_limit'",
        hercontrole["id"],
        today() - timedelta(days=1),
    )
    before = await table_counts(db)
    assert_problem(await act(client, world, current, invordering["id"], "send"), 409, "collection_time_barred")
    assert await table_counts(db) == before
    assert await db.fetchval("SELECT sent_on FROM enforcement_step WHERE id = $1::uuid", invordering["id"]) is None


# --- the hercontrole's outcome comes from the follow-up inspection ----------------------------------------------------


async def follow_up_reviewed(client, world: World, hercontrole: dict, answers: dict) -> None:
    """The planned hercontrole inspection done today by its inspector, and reviewed by the coordinator."""
    body = world.body(
        assignment_id=hercontrole["assignment_id"],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(answers)}],
    )
    await reviewed(client, world, {}, body=body)


@pytest.mark.parametrize(
    ("answers", "result", "cents"), [(NO_MANAGER, "forfeited", 50_000), (HORECA_OK, "complied", None)]
)
async def test_the_reviewed_follow_up_inspection_sets_the_hercontrole_outcome(
    client, db, world, answers, result, cents
):
    current, hercontrole = await hercontrole_ended(client, db, world, 2)
    await follow_up_reviewed(client, world, hercontrole, answers)
    current = await case(client, world, current["id"])
    settled = next(s for s in current["steps"] if s["id"] == hercontrole["id"])
    assert (settled["status"], settled["forfeited_cents"], settled["outcome_source"]) == (result, cents, "inspection")
    assert settled["observed_on"] == today().isoformat() and settled["outcome_inspection_id"]
    kinds = {d["kind"] for d in settled["deadlines"]}
    assert ("payment" in kinds) == (result == "forfeited")


async def test_an_officer_corrects_the_inspections_outcome_only_with_a_reason(client, db, world):
    current, hercontrole = await hercontrole_ended(client, db, world, 2)
    await follow_up_reviewed(client, world, hercontrole, NO_MANAGER)
    current = await case(client, world, current["id"])
    before = await table_counts(db)
    body = {"result": "complied", "observed_on": today().isoformat()}
    assert_problem(await act(client, world, current, hercontrole["id"], "outcome", body=body), 409, "outcome_recorded")
    assert await table_counts(db) == before
    reason = "Leidinggevende was aanwezig maar even weg; camerabeelden bevestigen dat"
    current = await done(client, world, current, hercontrole["id"], "outcome", body={**body, "reason": reason})
    corrected = next(s for s in current["steps"] if s["id"] == hercontrole["id"])
    assert (
        corrected["status"],
        corrected["forfeited_cents"],
        corrected["outcome_source"],
        corrected["outcome_reason"],
    ) == ("complied", None, "officer", reason)
    assert all(d["resolved"] for d in corrected["deadlines"])
    # Corrected once by an officer, the outcome stands.
    again = await act(
        client,
        world,
        current,
        hercontrole["id"],
        "outcome",
        body={"result": "forfeited", "observed_on": today().isoformat(), "reason": "Toch niet"},
    )
    assert_problem(again, 409, "outcome_recorded")


async def test_a_follow_up_inspected_within_the_term_leaves_the_outcome_to_the_officer(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    await follow_up_reviewed(client, world, hercontrole, NO_MANAGER)
    current = await case(client, world, current["id"])
    assert next(s for s in current["steps"] if s["id"] == hercontrole["id"])["status"] == "planned"
