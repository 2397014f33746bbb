"""Bezwaar against a sent decision: registered with its lateness (Awb 6:7-6:9) and decision deadline (7:10),
changed with a reason (lateness excused, 6:11; the advisory committee's term, the one extension, a postponement
with consent, 7:10), decided (gegrond, ongegrond, niet ontvankelijk). A boete annulled on bezwaar (gegrond) no
longer counts for recidive (queries.earlier_fines).
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, invalid
from backend.enforcement import next_steps, queries, reading, records, steps
from backend.enforcement.models import BezwaarChange, Case, StepCreate, StepOutcome
from backend.enforcement.procedure import awb
from backend.enforcement.records import CaseRecord, NewStep, StepRecord


def late(term_end: date, received_on: date, posted_on: date | None) -> bool:
    """Received after the term: late, unless posted within it and received no later than a week after it
    (Awb 6:9 lid 2)."""
    if received_on <= term_end:
        return False
    grace = timedelta(days=awb()["bezwaar_post_grace_days"])
    return not (posted_on is not None and posted_on <= term_end and received_on <= term_end + grace)


async def _term_end(conn: asyncpg.Connection, decision: StepRecord) -> date:
    """The last day of the bezwaar term against a sent decision: 6 weeks from the day it was made known (the day of
    sending, or the later day it was posted or its e-mail went; Awb 6:7, 6:8)."""
    emailed_on = await reading.emailed_on(conn, decision.id) if decision.dispatch == "email" else None
    made_known_on = decision.made_known_on(emailed_on)
    assert made_known_on is not None
    return bezwaar_term_end(made_known_on)


async def made_known_later(conn: asyncpg.Connection, decision: StepRecord, made_known_on: date) -> None:
    """A sent decision made known on a later day than its records said so far (posted after the day of sending, or
    its e-mail taken by the mail server only on a later day): the listed bezwaar term counts from that day. Any
    decision: a besluit or an invorderingsbeschikking."""
    if decision.type in steps.DECISIONS and made_known_on != decision.made_known_on():
        await conn.execute(queries.MOVE_DEADLINE, decision.id, "bezwaar_term", bezwaar_term_end(made_known_on))


def bezwaar_term_end(made_known_on: date) -> date:
    """The last day of the bezwaar term against a decision made known on that day (Awb 6:7, 6:8, Atw)."""
    return calendar.term_end(made_known_on, weeks=awb()["bezwaar_term_weeks"])


async def prepare(tx: asyncpg.Connection, data: StepCreate, case_steps: list[StepRecord], new: NewStep) -> None:
    """A bezwaar is lodged against a sent decision of this case, once; its lateness follows from the days."""
    decision = next((s for s in case_steps if s.id == data.related_step_id), None)
    if decision is None or decision.type not in steps.DECISIONS or decision.status != "sent":
        raise Conflict("A bezwaar is made against a sent decision of this case.", code="not_a_sent_decision")
    if next_steps.has_bezwaar(case_steps, decision.id):
        raise Conflict("A bezwaar against this decision is registered already.", code="bezwaar_exists")
    assert data.received_on is not None  # a bezwaar states it (steps.KINDS)
    new.related_step_id = decision.id
    new.violation_ids = decision.violation_ids
    new.late = late(await _term_end(tx, decision), data.received_on, data.posted_on)


async def registered(tx: asyncpg.Connection, principal: Principal, case: CaseRecord, new: NewStep) -> None:
    """The decision deadline starts, the decision's bezwaar term has done its work, the case is in bezwaar."""
    assert new.related_step_id is not None
    decision = await records.step(tx, case.id, new.related_step_id)
    decide_by = calendar.term_end(await _term_end(tx, decision), weeks=awb()["bezwaar_decision_weeks"])
    await tx.execute(queries.INSERT_DEADLINE, case.id, new.id, "bezwaar_decision", decide_by)
    await tx.execute(queries.RESOLVE_DEADLINE, decision.id, "bezwaar_term")
    status = steps.KINDS["bezwaar"].case_status
    await tx.execute(queries.SET_STATUS, case.id, status)
    assert status is not None
    await records.history(
        tx,
        case.id,
        status,
        principal,
        reason=f"bezwaar against step {decision.seq}" + (" (received after the term)" if new.late else ""),
    )


async def decide(tx: asyncpg.Connection, step: StepRecord, data: StepOutcome) -> None:
    if data.result not in ("gegrond", "ongegrond", "niet_ontvankelijk"):
        raise invalid("/result", "a bezwaar is decided gegrond, ongegrond or niet_ontvankelijk")
    if data.observed_on is not None or data.forfeited_cents is not None:
        raise invalid("/observed_on", "applies to a hercontrole only")
    if data.violations_observed is not None or data.reason is not None:
        raise invalid(
            "/violations_observed" if data.violations_observed else "/reason", "applies to a hercontrole only"
        )
    steps.status_allows(step.type, step.status, "record_outcome")
    await tx.execute(queries.BEZWAAR_OUTCOME, step.id, data.result)
    await tx.execute(queries.RESOLVE_DEADLINE, step.id, "bezwaar_decision")


async def change_bezwaar(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: BezwaarChange,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """Record a change of a registered bezwaar with its reason: lateness excused (Awb 6:11), the advisory
    committee's decision term, the one extension, or a postponement the objector consented to (7:10). The
    decision deadline moves; the change keeps what it was."""
    if data.change != "postponement" and (data.weeks is not None or data.consent is not None):
        raise invalid("/weeks" if data.weeks is not None else "/consent", "applies to a postponement only")
    if data.change == "postponement" and data.consent is not True:
        raise invalid("/consent", "a further postponement needs the objector's consent (Awb 7:10 lid 4)")
    if data.change == "postponement" and data.weeks is None:
        raise invalid("/weeks", "by how many weeks the decision is postponed")
    _, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.allows(step.type, step.status, "change_bezwaar")
    earlier = [row["change"] for row in await tx.fetch(queries.BEZWAAR_CHANGES, step_id)]
    term = await tx.fetchrow(queries.DEADLINE_OF, step_id, "bezwaar_decision")
    due_before = term["due_on"] if term is not None else None
    due_after = due_before
    if data.change == "lateness_excused":
        if not step.late or step.late_excused:
            raise Conflict("The bezwaar is not late, or its lateness was excused already.", code="not_late")
        await tx.execute(queries.EXCUSE_LATENESS, step_id)
    else:
        due_after = await _moved_decision_term(tx, step, data, earlier, due_before)
        await tx.execute(queries.MOVE_DEADLINE, step_id, "bezwaar_decision", due_after)
    reason = data.reason.strip()
    await tx.execute(
        queries.INSERT_BEZWAAR_CHANGE, step_id, data.change, reason, due_before, due_after, principal.user_id
    )
    await records.audit(
        tx,
        principal,
        case_id,
        "bezwaar_changed",
        request_id,
        reason=reason,
        before={"step_id": str(step_id), "due_on": due_before.isoformat() if due_before else None},
        after={"step_id": str(step_id), "change": data.change, "due_on": due_after.isoformat() if due_after else None},
    )
    return await reading.view(tx, principal, case_id)


async def _moved_decision_term(
    tx: asyncpg.Connection,
    step: StepRecord,
    data: BezwaarChange,
    earlier: list[str],
    due: date | None,
) -> date:
    """The decision deadline after the change (Awb 7:10): 12 weeks after the bezwaar term with an advisory
    committee (decided before any extension), one extension, then postponements with consent."""
    if due is None:
        raise Conflict("The decision term of this bezwaar has ended.", code="not_a_pending_bezwaar")
    if data.change == "advisory_committee":
        if earlier and set(earlier) != {"lateness_excused"}:
            raise Conflict(
                "The advisory committee's term is set before the term is extended or postponed.",
                code="bezwaar_term_changed",
            )
        assert step.related_step_id is not None
        decision = await records.step(tx, step.case_id, step.related_step_id)
        return calendar.term_end(await _term_end(tx, decision), weeks=awb()["bezwaar_decision_weeks_with_committee"])
    if data.change == "extension":
        if "extension" in earlier or "postponement" in earlier:
            raise Conflict(
                "The decision term is extended only once (Awb 7:10 lid 3); postpone it further with "
                "the objector's consent.",
                code="already_extended",
            )
        return calendar.term_end(due, weeks=awb()["bezwaar_extension_weeks"])
    assert data.weeks is not None
    return calendar.term_end(due, weeks=data.weeks)
