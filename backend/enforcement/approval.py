"""Approval of a decision by a second officer (vier-ogenprincipe): neither its drafter nor an inspector of the
violations it rests on. The approval is of the letter as it reads that day: its SHA-256 is recorded, and a
letter that changes since (the addressee, the template) is approved again before it is sent."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden
from backend.enforcement import letter, queries, reading, records, steps
from backend.enforcement.models import Case
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
    """Vier-ogen: a second officer, neither the drafter nor an inspector of the violations it rests on, approves
    the letter as it reads today; its SHA-256 is the approval. An approved step whose letter changed since (the
    addressee, the template) is approved again."""
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
