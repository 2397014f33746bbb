"""Drafting a step (warning, voornemen, besluit, invordering) or registering a bezwaar.

Which request fields apply to a kind and which it must state is steps.KINDS; the checks here are the law's:
the violations it rests on (default: those no step has dealt with yet), a besluit after a voornemen no besluit
followed yet, on violations it named, and after its zienswijze term (Awb 4:8), no heavier than that voornemen
announced, a boete above the Awb threshold only on violations the voornemen named (5:53), one boete per violation,
no boete above the Alcoholwet's table (a lower one with a reason), the proposal followed or a written reason for
another step (LHSO), an invordering of a forfeited sum within the collection limit (5:35). The drafted letter is
rendered as a preview: what it lacks is a 422 and nothing is kept.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from uuid import UUID

import asyncpg
import msgspec

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, FieldProblems, invalid
from backend.core.ids import new_id
from backend.enforcement import (
    bezwaar,
    letter,
    next_steps,
    proposal,
    proposing,
    queries,
    reading,
    records,
    rules,
    steps,
)
from backend.enforcement.models import Case, Proposal, StepCreate
from backend.enforcement.procedure import awb
from backend.enforcement.records import CaseRecord, NewStep, StepRecord, ViolationRecord
from backend.letters.service import Letters

DEFAULT_ZIENSWIJZE_WEEKS = 2
SCHORSING_MAX_WEEKS = 12  # Alcoholwet art. 32
# What any kind of step may state; the other request fields apply to some kinds only (steps.KINDS), and are
# checked in their order in StepCreate.
_ANY_KIND = frozenset({"type", "document_text", "deviation_reason", "behaviour", "addressee"})
_KIND_FIELDS = tuple(name for name in StepCreate.__struct_fields__ if name not in _ANY_KIND)
# The request fields the new step takes over as given (the others follow from the checks).
_TAKEN_OVER = tuple(
    name
    for name in StepCreate.__struct_fields__
    if name in NewStep.__struct_fields__ and name not in ("type", "violation_ids", "related_step_id")
)


def _field_problems(data: StepCreate, problems: FieldProblems) -> None:
    """The fields the kind of step (steps.KINDS) and its decision take, and those it must state."""
    kind = steps.KINDS[data.type]
    if kind.names_decision and data.decision is None:
        problems.add("/decision", f"a {data.type} names its decision")
    decision_fields = ("decision", *steps.DECISION_FIELDS.get(data.decision or "", ())) if kind.names_decision else ()
    allowed = {*kind.fields, *decision_fields}
    what = f"{data.type} {data.decision}" if data.decision else data.type
    for name in _KIND_FIELDS:
        if getattr(data, name) not in (None, []) and name not in allowed:
            problems.add(f"/{name}", f"does not apply to a {what}")
    if kind.decision_required:
        for name in steps.REQUIRED_IN_BESLUIT.get(data.decision or "", ()):
            if getattr(data, name) is None:
                problems.add(f"/{name}", f"a {data.type} {data.decision} states it")
    if kind.letter is None and data.addressee is not None:
        problems.add("/addressee", f"a {data.type} has no letter of its own here")
    if data.addressee is not None:
        data.addressee.problems(problems, "/addressee")
    for name, why in kind.required.items():
        if getattr(data, name) is None:
            problems.add(f"/{name}", why)


def _range_problems(data: StepCreate, book: rules.RuleBook, problems: FieldProblems) -> None:
    """Legal bounds: schorsing at most 12 weeks (art. 32), an art. 19a ban 1-12 weeks, a maximum not below
    the dwangsom."""
    if data.decision == "schorsing" and data.weeks is not None and data.weeks > SCHORSING_MAX_WEEKS:
        problems.add("/weeks", f"a schorsing lasts at most {SCHORSING_MAX_WEEKS} weeks (Alcoholwet art. 32)")
    low, high = book.ban_weeks()
    if data.decision == "ontzegging_19a" and data.weeks is not None and not low <= data.weeks <= high:
        problems.add("/weeks", f"an art. 19a ban lasts {low} to {high} weeks")
    if (
        data.dwangsom_cents is not None
        and data.dwangsom_max_cents is not None
        and data.dwangsom_max_cents < data.dwangsom_cents
    ):
        problems.add("/dwangsom_max_cents", "the maximum is below the dwangsom itself")
    if data.received_on is not None and data.received_on > calendar.today():
        problems.add("/received_on", "is in the future")
    if data.posted_on is not None and data.received_on is not None and data.posted_on > data.received_on:
        problems.add("/posted_on", "is after the day it was received")


def _chosen_violations(
    data: StepCreate,
    violations: list[ViolationRecord],
    case_steps: list[StepRecord],
    voornemen: StepRecord | None,
) -> list[UUID]:
    known = {v.violation_id for v in violations}
    unknown = FieldProblems()
    for index, violation_id in enumerate(data.violation_ids):
        if violation_id not in known:
            unknown.add(f"/violation_ids/{index}", "is not a violation of this case")
    unknown.raise_if_any()
    if len(set(data.violation_ids)) != len(data.violation_ids):
        raise invalid("/violation_ids", "a violation is listed twice")
    if data.violation_ids:
        return list(data.violation_ids)
    if voornemen is not None and voornemen.violation_ids:
        return list(voornemen.violation_ids)
    chosen = next_steps.open_violations(violations, case_steps)
    if not chosen:
        raise invalid("/violation_ids", "the case has no violation left that this step could rest on")
    return chosen


async def _voornemen_for(tx: asyncpg.Connection, data: StepCreate, case_steps: list[StepRecord]) -> StepRecord | None:
    """The sent voornemen a besluit follows; refuses a besluit before it or before its zienswijze term ended."""
    if data.type != "besluit" or data.decision not in proposal.VOORNEMEN_REQUIRED:
        return None
    voornemen = next_steps.sent_voornemen(case_steps, data.decision, set(data.violation_ids))
    if voornemen is None:
        raise Conflict(_no_voornemen(data, case_steps), code="voornemen_required")
    running_until = await next_steps.zienswijze_running_until(tx, voornemen)
    if running_until is not None:
        raise Conflict(
            f"The zienswijze term of the voornemen runs until {running_until}; record the zienswijze "
            "or wait for the term to end.",
            code="zienswijze_term_running",
        )
    return voornemen


def _no_voornemen(data: StepCreate, case_steps: list[StepRecord]) -> str:
    """Why a besluit has no voornemen to follow: none left that no besluit followed, or none naming its violations."""
    law = "Awb 4:8"
    if data.decision == "boete" and (data.amount_cents or 0) > awb()["boete_voornemen_above_cents"]:
        law += " and 5:53"
    pending = next_steps.sent_voornemen(case_steps, data.decision, set())
    if pending is None:
        return (
            f"A besluit {data.decision} needs a sent voornemen {data.decision} that no besluit followed yet "
            f"({law}): a voornemen is followed by one besluit only."
        )
    unheard = sorted(set(data.violation_ids) - set(pending.violation_ids))
    return (
        f"The offender was not heard on violation(s) {', '.join(map(str, unheard))}: no voornemen "
        f"{data.decision} names them ({law}); send one first."
    )


def _heard_on_these(data: StepCreate, voornemen: StepRecord | None, chosen: list[UUID]) -> None:
    """Awb 5:53: a boete above the threshold rests on a voornemen on the same violations, whose zienswijze term
    ended or was answered (_voornemen_for checks the term)."""
    threshold = awb()["boete_voornemen_above_cents"]
    if data.type != "besluit" or data.decision != "boete" or (data.amount_cents or 0) <= threshold:
        return
    unheard = sorted(set(chosen) - set(voornemen.violation_ids if voornemen else ()))
    if unheard:
        raise Conflict(
            f"A boete above {threshold // 100} euro needs a voornemen on the same violations first "
            f"(Awb 5:53); not in it: {', '.join(map(str, unheard))}.",
            code="voornemen_required",
        )


def _beyond_the_law(data: StepCreate, advice: Proposal, violation_ids: list[UUID], problems: FieldProblems) -> None:
    """Alcoholwet art. 44a and the Alcoholbesluit fix a boete's amount (its table, +50% for recidive): the
    authority may set a lower one with a reason (evenredigheid, _deviation asks for it), never a higher one."""
    if data.decision != "boete" or data.amount_cents is None:
        return
    table = proposal.proposed_fine_cents(advice, violation_ids)
    if table is not None and data.amount_cents > table:
        problems.add(
            "/amount_cents",
            f"is above the {table} cents the rules give for these violations "
            "(Alcoholwet: a fine may be lowered, not raised)",
            code="above_fine_table",
        )


# A besluit's terms that may not be heavier than its voornemen's: field -> (heavier when besluit <op> voornemen,
# what the voornemen announced). A shorter begunstigingstermijn is heavier: less time to comply.
_HEAVIER: dict[str, tuple[Callable[[int, int], bool], str]] = {
    "amount_cents": (operator.gt, "a fine of {} cents"),
    "weeks": (operator.gt, "{} weeks"),
    "months": (operator.gt, "{} months"),
    "dwangsom_cents": (operator.gt, "a dwangsom of {} cents"),
    "dwangsom_max_cents": (operator.gt, "a maximum of {} cents"),
    "begunstiging_days": (operator.lt, "a begunstigingstermijn of {} days"),
}


def _beyond_the_voornemen(data: StepCreate, voornemen: StepRecord | None, problems: FieldProblems) -> None:
    """A besluit goes no further than its voornemen announced: the offender was heard on that (Awb 4:8). What the
    voornemen left open binds nothing; a dwangsom per another unit is bounded by the maximum only."""
    if data.type != "besluit" or voornemen is None:
        return
    for name, (heavier, announced) in _HEAVIER.items():
        value, before = getattr(data, name), getattr(voornemen, name)
        if name == "dwangsom_cents" and data.dwangsom_unit != voornemen.dwangsom_unit:
            continue
        if value is not None and before is not None and heavier(value, before):
            problems.add(
                f"/{name}",
                f"goes beyond the voornemen, which announced {announced.format(before)}: the offender was heard on "
                "that (Awb 4:8); send a new voornemen for more",
                code="beyond_voornemen",
            )


def _deviation(data: StepCreate, advice: Proposal, violation_ids: list[UUID]) -> str | None:
    """Why the chosen step differs from the proposal (None when it follows it)."""
    nxt = advice.next
    if (data.type, data.decision) != (nxt.type, nxt.decision):
        proposed = f"{nxt.type} {nxt.decision or ''}".strip()
        return f"the proposal is {proposed}, not {data.type} {data.decision or ''}".strip()
    if data.decision == "boete" and data.amount_cents is not None:
        expected = proposal.proposed_fine_cents(advice, violation_ids)
        if expected is not None and expected != data.amount_cents:
            return f"the rules give {expected} cents for these violations, not {data.amount_cents}"
    return None


async def create_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    data: StepCreate,
    *,
    version: int,
    letters: Letters,
    request_id: str | None,
) -> Case:
    problems = FieldProblems()
    _field_problems(data, problems)
    _range_problems(data, rules.rulebook(), problems)
    problems.raise_if_any()
    case = await reading.case(tx, principal, case_id)
    await records.bump(tx, case, version)
    violations, case_steps = await records.violations(tx, case_id), await records.steps(tx, case_id)
    new = NewStep(
        id=new_id(),
        case_id=case_id,
        type=data.type,
        status=steps.KINDS[data.type].starts,
        drafted_by=principal.user_id,
        **{name: getattr(data, name) for name in _TAKEN_OVER},
    )
    if data.type == "invordering":
        await _prepare_invordering(tx, data, case_steps, new)
    elif data.type == "bezwaar":
        await bezwaar.prepare(tx, data, case_steps, new)
    else:
        await _prepare_sanction(tx, principal, case, data, violations, case_steps, new)
    step_id = await records.insert_step(tx, new)
    if data.type == "besluit" and data.decision == "boete":
        await tx.execute(queries.FINE_VIOLATIONS, new.violation_ids, step_id)
    if data.addressee is not None:
        await tx.execute(queries.SET_ADDRESSEE, step_id, msgspec.to_builtins(data.addressee))
    await _draft_letter(tx, principal, letters, case, step_id, violations)
    if data.type == "bezwaar":
        await bezwaar.registered(tx, principal, case, new)
    await records.audit(
        tx,
        principal,
        case_id,
        "step_drafted" if data.type != "bezwaar" else "bezwaar_registered",
        request_id,
        reason=data.deviation_reason,
        after={
            "step_id": str(step_id),
            "type": data.type,
            "decision": data.decision,
            "amount_cents": new.amount_cents,
            "violation_ids": [str(v) for v in new.violation_ids],
        },
    )
    return await reading.view(tx, principal, case_id)


async def _draft_letter(
    tx: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case: CaseRecord,
    step_id: UUID,
    violations: list[ViolationRecord],
) -> None:
    """Render the drafted step's letter (dated today, as a preview): what it lacks is a 422 and nothing is kept."""
    step = await records.step(tx, case.id, step_id)
    rendered = await letter.render(tx, principal, letters, case, step, violations, calendar.today())
    if rendered is not None:
        await tx.execute(queries.SET_LETTER, step_id, rendered.sha256, rendered.template_version_id)


async def _prepare_sanction(
    tx: asyncpg.Connection,
    principal: Principal,
    case: CaseRecord,
    data: StepCreate,
    violations: list[ViolationRecord],
    case_steps: list[StepRecord],
    new: NewStep,
) -> None:
    voornemen = await _voornemen_for(tx, data, case_steps)
    chosen = _chosen_violations(data, violations, case_steps, voornemen)
    _heard_on_these(data, voornemen, chosen)
    if data.type == "besluit" and data.decision == "boete":
        fined = await next_steps.fined(tx, chosen)
        if fined:
            raise Conflict(
                f"A boete already rests on violation(s) {', '.join(map(str, sorted(fined)))}: one fine per violation.",
                code="already_fined",
            )
    advice = await proposing.proposal_for(tx, principal, case, violations, case_steps)
    problems = FieldProblems()
    _beyond_the_law(data, advice, chosen, problems)
    _beyond_the_voornemen(data, voornemen, problems)
    problems.raise_if_any()
    deviation = _deviation(data, advice, chosen)
    if deviation is not None and data.deviation_reason is None and voornemen and voornemen.deviation_reason:
        # The besluit carries out the voornemen: the reason written for choosing it still holds.
        new.deviation_reason = voornemen.deviation_reason
    elif deviation is not None and data.deviation_reason is None:
        raise invalid(
            "/deviation_reason",
            f"{deviation}: give the reason (LHSO: the offender's behaviour and the consequences)",
            code="deviation_reason_required",
        )
    if data.type == "voornemen" and data.zienswijze_weeks is None:
        new.zienswijze_weeks = DEFAULT_ZIENSWIJZE_WEEKS
    new.violation_ids = chosen
    new.related_step_id = voornemen.id if voornemen else None
    new.proposal = msgspec.to_builtins(advice)


async def _prepare_invordering(
    tx: asyncpg.Connection, data: StepCreate, case_steps: list[StepRecord], new: NewStep
) -> None:
    hercontrole = next((s for s in case_steps if s.id == data.related_step_id), None)
    refusal = await next_steps.not_collectable(tx, hercontrole, case_steps)
    if refusal is not None:
        raise refusal
    assert hercontrole is not None  # not_collectable refuses a missing one
    forfeited = hercontrole.forfeited_cents
    assert forfeited is not None  # a forfeited hercontrole records its sum
    amount = data.amount_cents if data.amount_cents is not None else forfeited
    if amount > forfeited:
        raise invalid("/amount_cents", f"more than the {forfeited} cents forfeited", code="above_forfeited")
    new.amount_cents = amount
    new.related_step_id = hercontrole.id
    new.violation_ids = hercontrole.violation_ids
