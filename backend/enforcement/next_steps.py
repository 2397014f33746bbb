"""What an officer may draft on a case now, as drafting.py would accept it: the case's read model lists it
(`next_steps`), so a screen offers only those, and drafting refuses the rest with the same checks.

A warning or a voornemen rests on violations no sent warning or besluit dealt with yet; a besluit follows a
sent voornemen of the same decision that no besluit followed yet, naming the besluit's violations, whose
zienswijze term ended or was answered (Awb 4:8), and a boete rests
on no violation fined already; a boete is an Alcoholwet power only (steps.decision_fits); a bezwaar is lodged
once against each sent decision; an invordering collects the sum of a forfeited hercontrole once, while the power
to collect lasts (Awb 5:35). A reason for deviating from the proposal is asked when drafting, not here.
"""

from __future__ import annotations

from datetime import date
from typing import cast
from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.errors import Conflict
from backend.enforcement import proposal, queries, steps
from backend.enforcement.hercontrole import last_not_in_force
from backend.enforcement.models import Decision, NextStep
from backend.enforcement.records import CaseRecord, StepRecord, ViolationRecord


def open_violations(violations: list[ViolationRecord], case_steps: list[StepRecord]) -> list[UUID]:
    """The violations a new warning or voornemen rests on by default: those no step has dealt with yet."""
    dealt_with = proposal.dealt_with(case_steps)
    return [v.violation_id for v in violations if v.violation_id not in dealt_with]


def sent_voornemen(case_steps: list[StepRecord], decision: str | None, wanted: set[UUID]) -> StepRecord | None:
    """The sent voornemen a besluit `decision` follows: the latest that no besluit followed yet and that names all
    the `wanted` violations (the offender was heard on those); None when there is none, so a besluit on other
    violations, or a second besluit on the same voornemen, needs a voornemen first (Awb 4:8)."""
    return proposal.pending_voornemen(case_steps, decision, wanted)


async def zienswijze_running_until(conn: asyncpg.Connection, voornemen: StepRecord) -> date | None:
    """The last day of the voornemen's zienswijze term while it runs unanswered; None once answered or over."""
    if voornemen.zienswijze != "pending":
        return None
    term = await conn.fetchrow(queries.DEADLINE_OF, voornemen.id, "zienswijze")
    due_on: date | None = None if term is None else term["due_on"]
    return due_on if due_on is not None and due_on >= calendar.today() else None


async def fined(conn: asyncpg.Connection, violation_ids: list[UUID]) -> list[UUID]:
    """Those of the violations a boete rests on already (one boete per violation)."""
    return [row["violation_id"] for row in await conn.fetch(queries.ALREADY_FINED, violation_ids)]


def has_bezwaar(case_steps: list[StepRecord], decision_id: UUID) -> bool:
    return any(s.type == "bezwaar" and s.related_step_id == decision_id for s in case_steps)


async def not_collectable(
    conn: asyncpg.Connection, hercontrole: StepRecord | None, case_steps: list[StepRecord]
) -> Conflict | None:
    """Why no invordering may collect at this step of the case (`case_steps`) now (None: it may): it must be a
    forfeited hercontrole, not collected yet, whose power to collect has not lapsed, under a last onder dwangsom that
    still stands (not withdrawn, not annulled on bezwaar: without a last in force nothing is forfeited)."""
    if hercontrole is None or hercontrole.type != "hercontrole" or hercontrole.status != "forfeited":
        return Conflict(
            "An invordering collects a sum forfeited at a hercontrole of this case.", code="nothing_forfeited"
        )
    if refused := await last_not_in_force(conn, hercontrole):
        return refused
    if any(s.type == "invordering" and s.related_step_id == hercontrole.id for s in case_steps):
        return Conflict("This forfeited sum has an invordering already.", code="already_collected")
    limit = await conn.fetchrow(queries.DEADLINE_OF, hercontrole.id, "invordering_limit")
    if limit is not None and calendar.today() > limit["due_on"]:
        return Conflict(f"The power to collect lapsed on {limit['due_on']} (Awb 5:35).", code="collection_time_barred")
    return None


async def _besluit_possible(conn: asyncpg.Connection, decision: str, case_steps: list[StepRecord]) -> bool:
    voornemen = sent_voornemen(case_steps, decision, set())
    if voornemen is None or await zienswijze_running_until(conn, voornemen) is not None:
        return False
    return decision != "boete" or not await fined(conn, voornemen.violation_ids)


async def draftable(
    conn: asyncpg.Connection, case: CaseRecord, violations: list[ViolationRecord], case_steps: list[StepRecord]
) -> list[NextStep]:
    """The steps drafting.create_step accepts now without naming violations (nothing on a closed case)."""
    if case.status == "closed":
        return []
    decisions = [cast(Decision, d) for d in steps.DECISION_FIELDS if steps.decision_fits(case.regime, d)]
    anything_open = bool(open_violations(violations, case_steps))
    found: list[NextStep] = []
    if anything_open:
        found.append(NextStep(type="warning"))
        found += [NextStep(type="voornemen", decision=d) for d in decisions]
    for decision in decisions:
        if decision not in proposal.VOORNEMEN_REQUIRED:
            possible = anything_open
        else:
            possible = await _besluit_possible(conn, decision, case_steps)
        if possible:
            found.append(NextStep(type="besluit", decision=decision))
    found += [
        NextStep(type="bezwaar", related_step_id=s.id)
        for s in case_steps
        if s.type in steps.DECISIONS and s.status == "sent" and not has_bezwaar(case_steps, s.id)
    ]
    found += [
        NextStep(type="invordering", related_step_id=s.id)
        for s in case_steps
        if s.type == "hercontrole" and s.status == "forfeited" and await not_collectable(conn, s, case_steps) is None
    ]
    return found
