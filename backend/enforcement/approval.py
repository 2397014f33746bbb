"""Approval of a decision by a second officer (vier-ogenprincipe): neither its drafter nor an inspector of the
violations it rests on, nor, for an invorderingsbeschikking, an inspector of the hercontrole that found the sum
forfeited (read through the inspections feature's service). The approval is of the letter as it reads that day: its
SHA-256 is recorded, and a letter that changes since (the addressee, the template) is approved again before it is
sent."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.enforcement import letter, queries, reading, records, steps
from backend.enforcement.models import Case
from backend.enforcement.records import StepRecord
from backend.inspections import service as inspections
from backend.letters.service import Letters


async def approve_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    *,
    version: int,
    letters: Letters,
    request_id: str | None,
) -> Case:
    """Vier-ogen: a second officer, neither the drafter nor an inspector of the violations it rests on (nor, for an
    invordering, of the hercontrole that found the sum forfeited), approves the letter as it reads today; its SHA-256
    is the approval. An approved step whose letter changed since (the addressee, the template) is approved again."""
    case, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.allows(step.type, step.status, "approve")
    today = calendar.today()
    rendered = await letter.render(tx, principal, letters, case, step, await records.violations(tx, case_id), today)
    assert rendered is not None  # a decision always has a letter
    if step.status == "approved" and rendered.sha256 == step.approved_sha256:
        raise Conflict("The step is approved and its letter has not changed since.", code="not_a_draft")
    if step.drafted_by == principal.user_id:
        raise Forbidden(
            "You drafted this decision; a second officer approves it (vier-ogenprincipe).", code="four_eyes"
        )
    if principal.user_id in {user for v in await records.rests_on(tx, case_id, step) for user in v.inspector_ids}:
        raise Forbidden(
            "You inspected a violation this decision rests on; another officer approves it.", code="four_eyes"
        )
    if step.type == "invordering" and principal.user_id in await _hercontrole_inspectors(tx, principal, step):
        raise Forbidden(
            "You inspected at the hercontrole that found the sum forfeited; another officer approves the invordering.",
            code="four_eyes",
        )
    await tx.execute(queries.APPROVE, step_id, principal.user_id, rendered.sha256, rendered.template_version_id, today)
    await records.audit(
        tx,
        principal,
        case_id,
        "step_approved",
        request_id,
        before={"step_id": str(step_id), "status": step.status},
        after={"step_id": str(step_id), "status": "approved", "letter_sha256": rendered.sha256},
    )
    return await reading.view(tx, principal, case_id)


async def _hercontrole_inspectors(conn: asyncpg.Connection, principal: Principal, invordering: StepRecord) -> set[UUID]:
    """Who inspected at the hercontrole whose forfeited sum the invordering collects: the inspectors present at its
    follow-up inspection and its submitter, as the inspections feature shows them to the approver. That inspection
    is the one that set the outcome, and the latest of the hercontrole's assignment (an outcome an officer corrected
    no longer names its inspection). Who recorded an outcome by hand the step does not keep."""
    assert invordering.related_step_id is not None  # an invordering names the hercontrole whose sum it collects
    hercontrole = await records.step(conn, invordering.case_id, invordering.related_step_id)
    found = {hercontrole.outcome_inspection_id} if hercontrole.outcome_inspection_id else set()
    if hercontrole.assignment_id is not None:
        latest = await inspections.outcomes_of_assignments(conn, principal, [hercontrole.assignment_id])
        found |= {outcome.inspection_id for outcome in latest.values()}
    present: set[UUID] = set()
    for inspection_id in sorted(found):
        try:
            inspection = await inspections.get_inspection(conn, principal, inspection_id)
        except NotFound:  # outside the approver's regimes: the inspections feature does not show it to them
            continue
        present |= {*inspection.inspector_ids, inspection.submitted_by}
    return present
