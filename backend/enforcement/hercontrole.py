"""The hercontrole of a last onder dwangsom: planned when the decision is sent, at the end of its
begunstigingstermijn; its outcome (compliance, or forfeiture of the sum the decision gives: dwangsom.py) set by
the reviewed follow-up inspection or by an officer, who may correct the inspection's outcome with a reason. The
payment term (Awb 5:33) and the collection limit (5:35) count from the day of forfeiture.

Nothing is forfeited without a last in force: a last withdrawn by the authority or annulled on bezwaar (gegrond)
calls off its planned hercontrole (`call_off`: the step `called_off`, the planning assignment cancelled, the
begunstigingstermijn resolved), and an outcome is no longer recorded for it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, invalid
from backend.core.ids import new_id
from backend.enforcement import dwangsom, queries, records, steps
from backend.enforcement.models import StepOutcome
from backend.enforcement.procedure import awb
from backend.enforcement.records import CaseRecord, NewStep, StepRecord
from backend.planning import service as planning

HERCONTROLE_WINDOW_DAYS = 14
MAX_HERCONTROLE_INSPECTORS = 4  # an assignment takes 1-4 inspectors
# How a last that no longer binds ended (queries.LAST_ENDED): in the API's refusal, and in Dutch in the planning
# note that calls its hercontrole off.
ENDED = {"withdrawn": "withdrawn", "annulled": "annulled on bezwaar (gegrond)"}
ENDED_IN_DUTCH = {"withdrawn": "ingetrokken", "annulled": "herroepen na gegrond bezwaar"}


async def plan(
    tx: asyncpg.Connection,
    principal: Principal,
    case: CaseRecord,
    besluit: StepRecord,
    sent_on: date,
    atw_terms: tuple[str, ...],
    request_id: str | None,
) -> None:
    """A last onder dwangsom was sent: a follow-up inspection is planned for the day after its
    begunstigingstermijn ends, by the team and inspectors of the inspections it rests on."""
    assert besluit.begunstiging_days is not None  # a besluit last onder dwangsom states it
    assert case.team_id is not None  # set by the review of the inspections whose violations the decision rests on
    end = calendar.term_end(sent_on, days=besluit.begunstiging_days, atw="begunstigingstermijn" in atw_terms)
    rests_on = await records.rests_on(tx, case.id, besluit)
    inspectors = sorted({user for v in rests_on for user in v.inspector_ids})[:MAX_HERCONTROLE_INSPECTORS]
    checklists = sorted({v.checklist_version_id for v in rests_on})[:10]
    assignment = await planning.plan_hercontrole(
        tx,
        principal,
        object_id=case.object_id,
        location_id=case.location_id,
        team_id=case.team_id,
        wijk=case.wijk,
        regimes=[case.regime],
        checklist_version_ids=checklists,
        inspector_ids=inspectors,
        planned_from=end + timedelta(days=1),
        planned_to=end + timedelta(days=HERCONTROLE_WINDOW_DAYS),
        notes=f"Hercontrole last onder dwangsom (zaak {case.id}); begunstigingstermijn tot en met {end}.",
        request_id=request_id,
    )
    step_id = await records.insert_step(
        tx,
        NewStep(
            id=new_id(),
            case_id=case.id,
            type="hercontrole",
            status=steps.KINDS["hercontrole"].starts,
            drafted_by=principal.user_id,
            related_step_id=besluit.id,
            violation_ids=besluit.violation_ids,
            assignment_id=assignment.id,
            due_on=end,
        ),
    )
    await tx.execute(queries.INSERT_DEADLINE, case.id, step_id, "begunstigingstermijn", end)


async def last_not_in_force(conn: asyncpg.Connection, hercontrole: StepRecord) -> Conflict | None:
    """Why nothing is forfeited or collected under this hercontrole's last onder dwangsom: it was withdrawn, or
    annulled on bezwaar (409 last_not_in_force); None while it stands. Recording an outcome, drafting an invordering
    and sending one all ask this."""
    assert hercontrole.related_step_id is not None  # a hercontrole follows its last onder dwangsom
    ended: str | None = await conn.fetchval(queries.LAST_ENDED, hercontrole.related_step_id)
    if ended is None:
        return None
    return Conflict(
        f"The last onder dwangsom was {ENDED[ended]}; without a last in force nothing is forfeited or collected "
        "under it.",
        code="last_not_in_force",
    )


async def call_off(
    tx: asyncpg.Connection,
    principal: Principal,
    case: CaseRecord,
    decision: StepRecord,
    ended: str,
    request_id: str | None,
) -> list[UUID]:
    """The decision no longer binds (`ended`: withdrawn, or annulled on bezwaar). When it is a last onder dwangsom,
    what its sending set going stops: its planned hercontroles are not held (their planning assignments cancelled,
    their begunstigingstermijn resolved) and the terms of a sum forfeited under it end. Returns the hercontroles
    called off."""
    if decision.type != "besluit" or decision.decision != "last_onder_dwangsom":
        return []
    planned = await tx.fetch(queries.PLANNED_UNDER, decision.id)
    note = f"De last onder dwangsom (zaak {case.id}) is {ENDED_IN_DUTCH[ended]}; de hercontrole vervalt."
    for hercontrole in planned:
        if hercontrole["assignment_id"] is not None:
            await planning.call_off_hercontrole(
                tx, principal, hercontrole["assignment_id"], reason=note, request_id=request_id
            )
    called_off = [hercontrole["id"] for hercontrole in planned]
    await tx.execute(queries.CALL_OFF, called_off)
    await tx.execute(queries.END_TERMS_UNDER, decision.id)
    return called_off


async def inspected(tx: asyncpg.Connection, principal: Principal, inspection: Any, request_id: str | None) -> None:
    """The follow-up inspection after the begunstigingstermijn: a violation the decision rests on found again
    (same code) means it continues and the dwangsom is forfeited; none found, it ended. An officer may correct
    the outcome with a reason (record_outcome). Inspected within the term: nothing follows, the officer decides.
    Nothing follows either when the last no longer binds (withdrawn, annulled on bezwaar) or its case was closed:
    the review itself stands."""
    row = await tx.fetchrow(queries.PLANNED_HERCONTROLE, inspection.assignment_id)
    if row is None:
        return
    step = records.step_record(row)
    if await last_not_in_force(tx, step) is not None or await _case_closed(tx, step):
        return
    observed_on = inspection.inspected_at.astimezone(calendar.AMSTERDAM).date()
    assert step.due_on is not None  # a hercontrole is planned for the end of the begunstigingstermijn
    if observed_on <= step.due_on:
        return
    codes = {v.code for v in await records.rests_on(tx, step.case_id, step)}
    continued = [v for v in inspection.violations if v.code in codes]
    result = "forfeited" if continued else "complied"
    await records.lock(tx, step.case_id)
    await _settle(
        tx,
        step,
        result=result,
        observed_on=observed_on,
        violations_observed=max(len(continued), 1),
        source="inspection",
        inspection_id=inspection.id,
    )
    await records.audit(
        tx,
        principal,
        step.case_id,
        "hercontrole_inspected",
        request_id,
        after={"step_id": str(step.id), "inspection_id": str(inspection.id), "result": result},
    )


async def record_outcome(tx: asyncpg.Connection, step: StepRecord, data: StepOutcome) -> None:
    """An officer records the outcome, or corrects the one the follow-up inspection gave, with a reason."""
    if data.result not in ("complied", "forfeited"):
        raise invalid("/result", "a hercontrole finds compliance (complied) or forfeiture (forfeited)")
    if data.observed_on is None:
        raise invalid("/observed_on", "the day of the hercontrole")
    if data.observed_on > calendar.today():
        raise invalid("/observed_on", "is in the future")
    if data.result == "complied" and data.forfeited_cents is not None:
        raise invalid("/forfeited_cents", "nothing is forfeited when the offender complied")
    if data.result == "complied" and data.violations_observed is not None:
        raise invalid("/violations_observed", "nothing is forfeited when the offender complied")
    # Before the status: a hercontrole called off when its last ended says why it has no outcome.
    if refused := await last_not_in_force(tx, step):
        raise refused
    steps.status_allows(step.type, step.status, "record_outcome")
    if step.status != "planned":
        if step.outcome_source != "inspection" or data.reason is None:
            raise Conflict(
                "The outcome of this hercontrole was recorded already; an outcome taken from the follow-up "
                "inspection is corrected with a reason.",
                code="outcome_recorded",
            )
        if await tx.fetchval(queries.INVORDERING_OF, step.id) is not None:
            raise Conflict(
                "The forfeited sum has an invordering; the outcome no longer changes.", code="already_collected"
            )
    await _settle(
        tx,
        step,
        result=data.result,
        observed_on=data.observed_on,
        violations_observed=data.violations_observed or 1,
        cents=data.forfeited_cents,
        source="officer",
        reason=data.reason,
    )


async def _case_closed(conn: asyncpg.Connection, step: StepRecord) -> bool:
    case = await conn.fetchrow(queries.CASE_OF_STEP, step.id)
    return bool(case["status"] == "closed")


async def _settle(
    tx: asyncpg.Connection,
    step: StepRecord,
    *,
    result: str,
    observed_on: date,
    violations_observed: int = 1,
    cents: int | None = None,
    source: str,
    reason: str | None = None,
    inspection_id: UUID | None = None,
) -> None:
    """Record a hercontrole's outcome. Forfeited: the law's sum (dwangsom.forfeiture) unless the officer gives
    another with a reason, never above the maximum; the payment term (5:33) and the collection limit (5:35) count
    from the day of forfeiture."""
    assert step.due_on is not None  # a hercontrole is planned for the end of the begunstigingstermijn
    if observed_on <= step.due_on:
        raise Conflict(
            f"The begunstigingstermijn runs until {step.due_on}; nothing is forfeited within it.",
            code="begunstigingstermijn_running",
        )
    units: int | None = None
    forfeited_on: date | None = None
    if result == "forfeited":
        cents, units, forfeited_on = await _forfeited(tx, step, observed_on, violations_observed, cents, reason)
        payment_due = calendar.term_end(forfeited_on, weeks=awb()["payment_weeks"])
        await tx.execute(queries.SET_DEADLINE, step.case_id, step.id, "payment", payment_due)
        collection_limit = calendar.years_after(forfeited_on, awb()["collection_limit_years"])
        await tx.execute(queries.SET_DEADLINE, step.case_id, step.id, "invordering_limit", collection_limit)
    else:
        cents = None
        for kind in ("payment", "invordering_limit"):
            await tx.execute(queries.RESOLVE_DEADLINE, step.id, kind)
    await tx.execute(
        queries.HERCONTROLE_OUTCOME,
        step.id,
        result,
        observed_on,
        cents,
        units,
        forfeited_on,
        source,
        reason,
        inspection_id,
    )
    await tx.execute(queries.RESOLVE_DEADLINE, step.id, "begunstigingstermijn")


async def _forfeited(
    tx: asyncpg.Connection,
    step: StepRecord,
    observed_on: date,
    violations_observed: int,
    cents: int | None,
    reason: str | None,
) -> tuple[int, int, date]:
    """The sum forfeited (the law's, or the officer's with a reason, within the maximum), its units and day."""
    assert step.related_step_id is not None and step.due_on is not None
    besluit = await records.step(tx, step.case_id, step.related_step_id)
    assert besluit.dwangsom_unit and besluit.dwangsom_cents and besluit.dwangsom_max_cents  # stated by the decision
    so_far: int = await tx.fetchval(queries.FORFEITED_UNDER, besluit.id, step.id)
    law = dwangsom.forfeiture(
        unit=besluit.dwangsom_unit,
        sum_cents=besluit.dwangsom_cents,
        max_cents=besluit.dwangsom_max_cents,
        so_far_cents=so_far,
        term_last_day=step.due_on,
        observed_on=observed_on,
        violations_observed=violations_observed,
    )
    if cents is not None and so_far + cents > besluit.dwangsom_max_cents:
        raise invalid(
            "/forfeited_cents",
            f"with the {so_far} cents forfeited before, above the maximum of "
            f"{besluit.dwangsom_max_cents} cents (Awb 5:32b)",
            code="above_maximum",
        )
    if cents is not None and cents != law.cents and reason is None:
        raise invalid(
            "/forfeited_cents",
            f"the decision forfeits {law.cents} cents ({law.units} x "
            f"{besluit.dwangsom_cents}, {besluit.dwangsom_unit}); give the "
            "reason for another sum",
            code="reason_required",
        )
    return (law.cents if cents is None else cents), law.units, law.forfeited_on
