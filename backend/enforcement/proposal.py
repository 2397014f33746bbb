"""The proposed next step for a case, with its reasons: which rule, which earlier violations of the same
article in the last twelve months (the ladder position), recidive (+50% when a boete for the same article
was sent in the window), the three-strikes count for art. 20 lid 1, the employee class and the amount.

Counting reads enforcement_case_violation by (target, article, date) through its indexes, so an object
with hundreds of earlier violations costs about the same as one with none (tests/bench/bench_enforcement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

import asyncpg

from backend.enforcement import queries
from backend.enforcement.models import (
    EarlierViolation,
    EmployeeClassSource,
    FineExplanation,
    NextAction,
    Proposal,
    ProposalItem,
    StrikeCount,
)
from backend.enforcement.records import CaseRecord, StepRecord, ViolationRecord
from backend.enforcement.rules import LadderStep, RuleBook
from backend.letters.models import DECISIONS
from backend.registry.models import EmployeeClass
from backend.users.models import Regime

# Decisions that need a voornemen with a zienswijze term first (Awb 4:8; for boetes above EUR 340 also 5:53).
VOORNEMEN_REQUIRED = frozenset(DECISIONS)  # every decision kind
# How heavy an intervention is: the heaviest of a case's items is proposed first.
WEIGHT = {
    "warning": 0,
    "last_onder_dwangsom": 1,
    "boete": 2,
    "last_onder_bestuursdwang": 3,
    "schorsing": 4,
    "ontzegging_19a": 5,
    "sluiting_13b": 5,
    "intrekking": 6,
}
DEFAULT_WINDOW_MONTHS = 12
_NO_RULE = LadderStep("warning", note="No sanction rule for this code: the officer decides (LHSO).")


@dataclass
class Target:
    column: str  # 'establishment_id' or 'location_id'
    id: UUID


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


async def build(
    conn: asyncpg.Connection,
    book: RuleBook,
    *,
    case: CaseRecord,
    violations: list[ViolationRecord],
    steps: list[StepRecord],
    employee_class: str,
    class_source: str,
) -> Proposal:
    target = (
        Target("establishment_id", case.object_id)
        if case.object_id is not None
        else Target("location_id", case.target_id)
    )
    open_ = [v for v in violations if v.violation_id not in dealt_with(steps)]
    by_code: dict[str, list[ViolationRecord]] = {}
    for violation in open_:
        by_code.setdefault(violation.code, []).append(violation)
    items = [
        await _item(conn, book, case.regime, code, group, target, _class_of(group, employee_class, class_source))
        for code, group in sorted(by_code.items())
    ]
    return Proposal(
        case_id=case.id,
        regime=cast(Regime, case.regime),
        employee_class=cast(EmployeeClass, employee_class),
        employee_class_source=cast(EmployeeClassSource, class_source),
        employee_class_assumed=class_source == "assumed",
        items=items,
        next=_next(items, steps),
    )


def _class_of(group: list[ViolationRecord], fallback: str, fallback_source: str) -> tuple[str, str]:
    """The fine column of a group of violations: the class recorded with its newest violation (the inspection's
    answer or the registry on that day), else the case's."""
    recorded = [v for v in group if v.employee_class]
    if not recorded:
        return fallback, fallback_source
    newest = max(recorded, key=lambda v: (v.observed_on, v.added_at))
    assert newest.employee_class is not None
    return newest.employee_class, newest.employee_class_source or "registry"


def dealt_with(steps: list[StepRecord]) -> set[UUID]:
    """Violations a sent warning or a besluit (in any state) covers: the proposal is about the others."""
    return {
        violation_id
        for step in steps
        if (step.type == "warning" and step.status == "sent") or step.type == "besluit"
        for violation_id in step.violation_ids
    }


async def _item(
    conn: asyncpg.Connection,
    book: RuleBook,
    regime: str,
    code: str,
    group: list[ViolationRecord],
    target: Target,
    employee_class: tuple[str, str],
) -> ProposalItem:
    rule = book.rule(regime, code)
    article = rule.article if rule else group[0].article_key
    reference = max(v.observed_on for v in group)
    inspections = sorted({v.inspection_id for v in group})
    window_start = months_before(reference, DEFAULT_WINDOW_MONTHS)
    args = (target.id, article, window_start, reference, inspections)
    earlier_rows = await conn.fetch(queries.earlier_violations(target.column), *args)
    occasions = await conn.fetchval(queries.earlier_occasions(target.column), *args)
    strikes = await _strikes(conn, book, article, target, group)
    ladder = rule.ladder if rule else (_NO_RULE,)
    position = min(occasions, len(ladder) - 1)
    chosen = ladder[position]
    step, weeks, months = chosen.step, chosen.weeks, chosen.months
    if strikes is not None and strikes.triggered:
        step, weeks, months = "ontzegging_19a", book.strikes[article].weeks_proposed, None
    fine = await _fine(conn, book, rule, target, article, reference, employee_class, len(group)) if rule else None
    verify = [text for text in (rule.verify if rule else None,) if text]
    if fine is not None and rule is not None and rule.fine_table is not None:
        table = book.table(rule.fine_table, reference)
        verify += [text for text in (table.verify, table.category_verify.get(fine.category)) if text]
    return ProposalItem(
        code=code,
        article=article,
        rule_found=rule is not None,
        rules_version=f"{rule.regime} v{rule.file_version}" if rule else None,
        violation_ids=[v.violation_id for v in group],
        observed_on=reference,
        earlier_occasions=occasions,
        earlier_violations=[
            EarlierViolation(r["violation_id"], r["inspection_id"], r["code"], r["observed_on"]) for r in earlier_rows
        ],
        ladder_position=position,
        step=step,
        weeks=weeks,
        months=months,
        also=list(chosen.also),
        note=chosen.note,
        verify=verify,
        fine=fine,
        three_strikes=strikes,
    )


async def _strikes(
    conn: asyncpg.Connection,
    book: RuleBook,
    article: str,
    target: Target,
    group: list[ViolationRecord],
) -> StrikeCount | None:
    """Art. 19a counts, for a violation being sanctioned, the occasions with a violation of the article in the
    window before its date (that day included). Each open violation is measured against its own window, so the
    count does not depend on which violations are handled together; the item shows the one with the most."""
    rule = book.strikes.get(article)
    if rule is None:
        return None
    counted: list[tuple[int, date, UUID]] = []
    for day in sorted({v.observed_on for v in group}):
        count = await conn.fetchval(
            queries.occasions_in_window(target.column), target.id, article, months_before(day, rule.window_months), day
        )
        violation_id = min(v.violation_id for v in group if v.observed_on == day)
        counted.append((count, day, violation_id))
    count, day, violation_id = max(counted)
    return StrikeCount(
        article=article,
        count=count,
        strikes=rule.strikes,
        window_months=rule.window_months,
        triggered=count >= rule.strikes,
        weeks_min=rule.weeks_min,
        weeks_max=rule.weeks_max,
        violation_id=violation_id,
        observed_on=day,
    )


async def _fine(
    conn: asyncpg.Connection,
    book: RuleBook,
    rule: Any,
    target: Target,
    article: str,
    reference: date,
    employee_class: tuple[str, str],
    violations: int,
) -> FineExplanation | None:
    if rule.fine_table is None or rule.fine_category is None:
        return None
    table = book.table(rule.fine_table, reference)
    column, column_source = employee_class
    base = table.amounts[rule.fine_category][column]
    fines = await conn.fetch(
        queries.earlier_fines(target.column),
        target.id,
        article,
        months_before(reference, table.window_months),
        reference,
    )
    recidive = bool(fines)
    per_violation = base * (100 + table.surcharge_percent) // 100 if recidive else base
    return FineExplanation(
        table=table.key,
        table_title=table.title,
        table_valid_from=table.valid_from,
        source=table.source,
        category=rule.fine_category,
        employee_class=cast(EmployeeClass, column),
        employee_class_source=cast(EmployeeClassSource, column_source),
        base_cents=base,
        recidive=recidive,
        recidive_fine_step_ids=sorted(row["id"] for row in fines),
        surcharge_percent=table.surcharge_percent,
        amount_per_violation_cents=per_violation,
        amount_cents=per_violation * violations,
    )


def _next(items: list[ProposalItem], steps: list[StepRecord]) -> NextAction:
    if not items:
        return NextAction(
            type="none",
            decision=None,
            violation_ids=[],
            amount_cents=None,
            weeks=None,
            months=None,
            explanation="Every violation of the case has been dealt with by a warning or a decision.",
        )
    heaviest = max(items, key=lambda item: WEIGHT[item.step])
    chosen = [item for item in items if item.step == heaviest.step]
    violation_ids = [v for item in chosen for v in item.violation_ids]
    why = "; ".join(
        f"{item.code} ({item.article}): {item.earlier_occasions} earlier occasion(s) in 12 months -> "
        f"ladder step {item.ladder_position + 1}: {item.step}"
        + (" (three strikes)" if item.three_strikes and item.three_strikes.triggered else "")
        for item in chosen
    )
    if heaviest.step == "warning":
        return NextAction(
            type="warning",
            decision=None,
            violation_ids=violation_ids,
            amount_cents=None,
            weeks=None,
            months=None,
            explanation=why,
        )
    amount = sum(item.fine.amount_cents for item in chosen if item.fine) if heaviest.step == "boete" else None
    heard = pending_voornemen(steps, heaviest.step, set(violation_ids)) is not None
    needs_voornemen = heaviest.step in VOORNEMEN_REQUIRED and not heard
    return NextAction(
        type="voornemen" if needs_voornemen else "besluit",
        decision=heaviest.step,
        violation_ids=violation_ids,
        amount_cents=amount,
        weeks=heaviest.weeks,
        months=heaviest.months,
        explanation=why + ("; a voornemen with a zienswijze term comes first (Awb 4:8)" if needs_voornemen else ""),
    )


def used_voornemens(steps: list[StepRecord]) -> set[UUID]:
    """The voornemens a besluit followed already: each is heard once and carried out once (Awb 4:8). A besluit
    records the voornemen it followed (related_step_id); one that records none used up every voornemen of its
    decision drafted before it. A withdrawn besluit used its voornemen up too: the offender was heard on the
    sanction then, and imposing it again on the same facts asks for a fresh voornemen and a fresh hearing."""
    used: set[UUID] = set()
    for index, step in enumerate(steps):  # in the case's order (seq)
        if step.type != "besluit":
            continue
        if step.related_step_id is not None:
            used.add(step.related_step_id)
        else:
            used |= {s.id for s in steps[:index] if s.type == "voornemen" and s.decision == step.decision}
    return used


def pending_voornemen(steps: list[StepRecord], decision: str | None, wanted: set[UUID]) -> StepRecord | None:
    """The sent voornemen a besluit `decision` on the `wanted` violations follows: the latest one no besluit
    followed yet that names all of them (any such when none is named); None when there is none."""
    used = used_voornemens(steps)
    return next(
        (
            s
            for s in reversed(steps)
            if s.type == "voornemen"
            and s.decision == decision
            and s.status == "sent"
            and s.id not in used
            and wanted <= set(s.violation_ids)
        ),
        None,
    )


def proposed_fine_cents(proposal: Proposal, violation_ids: list[UUID]) -> int | None:
    """The amount the rules give for fining exactly these violations: the most the Alcoholwet allows (art. 44a,
    the Alcoholbesluit's table with its recidive surcharge). None when a code has no fine, or a violation is in no
    item (dealt with already), so the rules do not say."""
    chosen = set(violation_ids)
    total = 0
    for item in proposal.items:
        count = len(chosen & set(item.violation_ids))
        if count:
            if item.fine is None:
                return None
            total += item.fine.amount_per_violation_cents * count
            chosen -= set(item.violation_ids)
    return None if chosen else total
