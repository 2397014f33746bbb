"""What follows a step: the zienswijze on a sent voornemen, the outcome of a hercontrole or the decision on a
bezwaar, the withdrawal of a sent decision. Each first checks the action against steps.KINDS. A last onder dwangsom
withdrawn, or annulled on bezwaar (gegrond), calls off the hercontrole its sending planned (hercontrole.call_off).
A withdrawal is announced as `step.withdrawn`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict
from backend.enforcement import bezwaar, hercontrole, queries, reading, records, steps
from backend.enforcement.models import Case, StepOutcome, StepWithdraw, ZienswijzeRecord
from backend.enforcement.records import StepRecord

# Who records the outcome of each kind that has one (steps.KINDS: "record_outcome").
_OUTCOMES: dict[str, Callable[[asyncpg.Connection, StepRecord, StepOutcome], Awaitable[None]]] = {
    "hercontrole": hercontrole.record_outcome,
    "bezwaar": bezwaar.decide,
}


def _called_off(hercontroles: list[UUID]) -> dict[str, list[str]]:
    """The audit's record of the hercontroles a decision's end called off (none: nothing to record)."""
    return {"hercontroles_called_off": [str(step_id) for step_id in hercontroles]} if hercontroles else {}


async def withdraw_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepWithdraw,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """The authority withdraws a sent decision: it stays on record, and a withdrawn boete no longer counts for
    recidive; a withdrawn last onder dwangsom no longer has its hercontrole."""
    case, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.allows(step.type, step.status, "withdraw")
    if step.withdrawn_on is not None:
        raise Conflict(f"The decision was withdrawn on {step.withdrawn_on}.", code="already_withdrawn")
    reason = data.reason.strip()
    await tx.execute(queries.WITHDRAW, step_id, calendar.today(), reason)
    await tx.execute(queries.RESOLVE_STEP_DEADLINES, step_id)
    called_off = await hercontrole.call_off(tx, principal, case, step, "withdrawn", request_id)
    await records.audit(
        tx,
        principal,
        case_id,
        "step_withdrawn",
        request_id,
        reason=reason,
        after={
            "step_id": str(step_id),
            "withdrawn_on": calendar.today().isoformat(),
            **_called_off(called_off),
        },
    )
    await records.announce_step(tx, principal, "withdrawn", case, step_id, request_id)
    return await reading.view(tx, principal, case_id)


async def record_zienswijze(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: ZienswijzeRecord,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    _, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.allows(step.type, step.status, "record_zienswijze")
    if step.zienswijze != "pending":
        raise Conflict(f"The zienswijze was recorded already ({step.zienswijze}).", code="zienswijze_recorded")
    term = await tx.fetchrow(queries.DEADLINE_OF, step_id, "zienswijze")
    if not data.received and term is not None and term["due_on"] >= calendar.today():
        raise Conflict(
            f"The zienswijze term runs until {term['due_on']}; 'not received' is recorded after it.",
            code="zienswijze_term_running",
        )
    outcome = "received" if data.received else "not_received"
    await tx.execute(queries.RECORD_ZIENSWIJZE, step_id, outcome, data.summary)
    await tx.execute(queries.RESOLVE_DEADLINE, step_id, "zienswijze")
    await records.audit(
        tx,
        principal,
        case_id,
        "zienswijze_recorded",
        request_id,
        after={"step_id": str(step_id), "zienswijze": outcome},
    )
    return await reading.view(tx, principal, case_id)


async def record_outcome(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepOutcome,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """A hercontrole's outcome or a bezwaar's decision: the request's fields are checked for the kind first,
    then the step's status (steps.TRANSITIONS via steps.status_allows). A bezwaar decided gegrond annuls the
    decision: a last onder dwangsom annulled has its hercontrole called off."""
    case, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.kind_allows(step.type, "record_outcome")
    await _OUTCOMES[step.type](tx, step, data)
    called_off: list[UUID] = []
    if step.type == "bezwaar" and data.result == "gegrond":
        assert step.related_step_id is not None  # a bezwaar names the decision objected to
        decision = await records.step(tx, case_id, step.related_step_id)
        # Annulled, the decision sets no term running any more (a begunstigingstermijn), as when withdrawn.
        await tx.execute(queries.RESOLVE_STEP_DEADLINES, decision.id)
        called_off = await hercontrole.call_off(tx, principal, case, decision, "annulled", request_id)
    await records.audit(
        tx,
        principal,
        case_id,
        "outcome_recorded",
        request_id,
        reason=data.reason,
        after={
            "step_id": str(step_id),
            "result": data.result,
            "forfeited_cents": data.forfeited_cents,
            **_called_off(called_off),
        },
    )
    return await reading.view(tx, principal, case_id)
