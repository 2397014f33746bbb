"""API shapes for enforcement: cases, their violations, status history and steps; proposals; deadlines.

Money is in integer euro cents; legal dates are dates (Europe/Amsterdam).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.users.models import Regime

CaseStatus = Annotated[
    Literal["open", "warned", "voornemen", "besluit", "hercontrole", "invordering", "bezwaar", "closed"],
    Meta(description="Follows the steps sent; closed ends the case with a result"),
]
CaseResult = Literal["complied", "sanctioned", "no_action", "merged", "withdrawn"]
StepType = Literal["warning", "voornemen", "besluit", "hercontrole", "invordering", "bezwaar"]
Decision = Annotated[
    Literal["boete", "last_onder_dwangsom", "last_onder_bestuursdwang", "schorsing", "intrekking", "ontzegging_19a",
            "sluiting_13b"],
    Meta(description="What a voornemen or besluit is about"),
]
Intervention = Literal["warning", "boete", "last_onder_dwangsom", "last_onder_bestuursdwang", "schorsing",
                       "intrekking", "ontzegging_19a", "sluiting_13b"]
StepStatus = Literal["draft", "approved", "sent", "planned", "complied", "forfeited", "registered", "decided"]
DwangsomUnit = Literal["per_violation", "per_day", "per_week"]
Behaviour = Annotated[
    Literal["goedwillend", "onverschillig", "calculerend", "crimineel"],
    Meta(description="LHSO interventiematrix: the offender's behaviour"),
]
DeadlineKind = Literal["zienswijze", "begunstigingstermijn", "bezwaar_term", "bezwaar_decision", "payment",
                       "invordering_limit"]
Reason = Annotated[str, Meta(min_length=3, max_length=2000, pattern="^[^\x00]*\\S[^\x00]*$")]
Text = Annotated[str, Meta(max_length=20_000, pattern="^[^\x00]*$")]
ShortText = Annotated[str, Meta(max_length=4000, pattern="^[^\x00]*$")]
Cents = Annotated[int, Meta(ge=1, le=100_000_000_000, description="Euro cents")]
ViolationIds = Annotated[list[UUID], Meta(max_length=200)]


# --- requests ---------------------------------------------------------------------------------------------


class CaseOpen(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Open a case by hand (e.g. after a complaint). Give exactly one of object_id and location_id."""

    object_id: UUID | None = None
    location_id: UUID | None = None
    regime: Regime
    reason: Reason

    example: ClassVar[dict[str, Any]] = {
        "object_id": "10000000-0000-4000-8000-000000000001", "regime": "alcohol",
        "reason": "Melding politie: verkoop aan minderjarigen geconstateerd",
    }


class CaseClose(msgspec.Struct, forbid_unknown_fields=True):
    result: Literal["complied", "sanctioned", "no_action", "withdrawn"]
    reason: Reason


class CaseMerge(msgspec.Struct, forbid_unknown_fields=True):
    """Move the open source case's violations into this case and close the source (result merged)."""

    source_case_id: UUID
    source_version: Annotated[int, Meta(ge=1, le=2**31 - 1, description="The source case's ETag value")]
    reason: Reason


class StepCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Draft a step. Which fields apply depends on `type` and `decision`; the others must be left out.

    warning, voornemen, besluit: the violations it rests on (default: those no step has dealt with yet).
    voornemen: `zienswijze_weeks` (default 2). besluit boete: `amount_cents`; last onder dwangsom:
    `order_text`, `begunstiging_days`, `dwangsom_cents`, `dwangsom_unit`, `dwangsom_max_cents`; schorsing and
    ontzegging_19a: `weeks` (1-12); sluiting_13b: `months`. invordering: `related_step_id` (a forfeited
    hercontrole), `amount_cents` (default: the sum forfeited). bezwaar: `related_step_id` (a sent decision),
    `received_on`. A step other than the proposal's needs `deviation_reason`."""

    type: Literal["warning", "voornemen", "besluit", "invordering", "bezwaar"]
    decision: Decision | None = None
    violation_ids: ViolationIds = []
    document_text: Text | None = None
    amount_cents: Cents | None = None
    weeks: Annotated[int, Meta(ge=1, le=104)] | None = None
    months: Annotated[int, Meta(ge=1, le=60)] | None = None
    order_text: ShortText | None = None
    begunstiging_days: Annotated[int, Meta(ge=1, le=365)] | None = None
    dwangsom_cents: Cents | None = None
    dwangsom_unit: DwangsomUnit | None = None
    dwangsom_max_cents: Cents | None = None
    zienswijze_weeks: Annotated[int, Meta(ge=1, le=12)] | None = None
    related_step_id: UUID | None = None
    received_on: date | None = None
    deviation_reason: Reason | None = None
    behaviour: Behaviour | None = None


class ZienswijzeRecord(msgspec.Struct, forbid_unknown_fields=True):
    received: Annotated[bool, Meta(description="false: the term passed without a response")]
    summary: ShortText | None = None


class StepOutcome(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """hercontrole: complied or forfeited (with the sum forfeited); bezwaar: the decision on it."""

    result: Literal["complied", "forfeited", "gegrond", "ongegrond", "niet_ontvankelijk"]
    observed_on: Annotated[date | None, Meta(description="hercontrole: the day of the follow-up inspection")] = None
    forfeited_cents: Cents | None = None


# --- responses --------------------------------------------------------------------------------------------


class Deadline(msgspec.Struct, frozen=True):
    kind: DeadlineKind
    due_on: date
    resolved: bool


class Step(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    seq: int
    type: StepType
    decision: Decision | None
    status: StepStatus
    related_step_id: UUID | None
    violation_ids: list[UUID]
    document_text: str | None
    amount_cents: int | None
    weeks: int | None
    months: int | None
    order_text: str | None
    begunstiging_days: int | None
    dwangsom_cents: int | None
    dwangsom_unit: DwangsomUnit | None
    dwangsom_max_cents: int | None
    zienswijze_weeks: int | None
    zienswijze: Literal["pending", "received", "not_received"] | None
    zienswijze_summary: str | None
    proposal: Annotated[dict[str, Any] | None, Meta(description="The proposal when it was drafted")]
    deviation_reason: str | None
    behaviour: Behaviour | None
    assignment_id: Annotated[UUID | None, Meta(description="hercontrole: the planned inspection")]
    due_on: Annotated[date | None, Meta(description="hercontrole: end of the begunstigingstermijn")]
    observed_on: date | None
    forfeited_cents: int | None
    received_on: date | None
    late: bool | None
    outcome: Literal["gegrond", "ongegrond", "niet_ontvankelijk"] | None
    drafted_by: UUID
    approved_by: UUID | None
    approved_at: datetime | None
    sent_by: UUID | None
    sent_on: date | None
    created_at: datetime
    updated_at: datetime
    deadlines: list[Deadline]


class CaseViolation(msgspec.Struct, frozen=True, kw_only=True):
    violation_id: UUID
    inspection_id: UUID
    object_id: UUID | None
    location_id: UUID | None
    code: str
    article_key: str
    observed_on: date
    fined: Annotated[bool, Meta(description="A boete decision (draft or sent) rests on it")]
    added_at: datetime


class StatusEntry(msgspec.Struct, frozen=True):
    seq: int
    status: CaseStatus
    result: CaseResult | None
    reason: str | None
    actor_id: UUID | None
    occurred_at: datetime


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    object_id: UUID | None
    location_id: UUID | None
    regime: Regime
    wijk: str
    status: CaseStatus
    result: CaseResult | None
    merged_into: UUID | None
    opened_by: UUID | None
    opened_at: datetime
    closed_at: datetime | None
    violation_count: int
    version: int
    updated_at: datetime


class Case(CaseSummary, frozen=True, kw_only=True):
    violations: list[CaseViolation]
    steps: list[Step]
    history: list[StatusEntry]


class CasePage(msgspec.Struct, frozen=True):
    items: list[CaseSummary]
    next_cursor: str | None


# --- proposal ---------------------------------------------------------------------------------------------


class EarlierViolation(msgspec.Struct, frozen=True):
    violation_id: UUID
    inspection_id: UUID
    code: str
    observed_on: date


class FineExplanation(msgspec.Struct, frozen=True, kw_only=True):
    table: str
    table_title: str
    table_valid_from: date
    source: str
    category: str
    employee_class: Literal["under_50", "50_or_more"]
    base_cents: int
    recidive: Annotated[bool, Meta(description="A boete for the same article was sent in the window before")]
    recidive_fine_step_ids: list[UUID]
    surcharge_percent: int
    amount_per_violation_cents: int
    amount_cents: Annotated[int, Meta(description="For all violations of this item")]


class StrikeCount(msgspec.Struct, frozen=True, kw_only=True):
    article: str
    count: Annotated[int, Meta(description="Occasions (inspections) with a violation of the article in the window, "
                                           "this one included")]
    strikes: int
    window_months: int
    triggered: bool
    weeks_min: int
    weeks_max: int


class ProposalItem(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules say for one code of the case's violations not dealt with yet."""

    code: str
    article: str
    rule_found: bool
    rules_version: str | None
    violation_ids: list[UUID]
    observed_on: date
    earlier_occasions: Annotated[int, Meta(description="Other inspections with a violation of the same article at "
                                                       "this target in the last 12 months")]
    earlier_violations: Annotated[list[EarlierViolation], Meta(description="The most recent of them (at most 20)")]
    ladder_position: int
    step: Intervention
    weeks: int | None
    months: int | None
    also: list[Intervention]
    note: str | None
    verify: list[str]
    fine: FineExplanation | None
    three_strikes: StrikeCount | None


class NextAction(msgspec.Struct, frozen=True, kw_only=True):
    type: Literal["warning", "voornemen", "besluit", "none"]
    decision: Decision | None
    violation_ids: list[UUID]
    amount_cents: int | None
    weeks: int | None
    months: int | None
    explanation: str


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID
    regime: Regime
    employee_class: Literal["under_50", "50_or_more"]
    employee_class_assumed: Annotated[bool, Meta(description="No registered object: kolom I (< 50) assumed")]
    items: list[ProposalItem]
    next: NextAction


# --- deadlines ----------------------------------------------------------------------------------------------


class DeadlineItem(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID
    step_id: UUID
    regime: Regime
    object_id: UUID | None
    location_id: UUID | None
    kind: DeadlineKind
    due_on: date
    overdue: bool


class DeadlineView(msgspec.Struct, frozen=True):
    today: date
    until: date
    expiring: Annotated[list[DeadlineItem], Meta(description="Due from today up to and including `until`")]
    overdue: Annotated[list[DeadlineItem], Meta(description="Due before today and still open (not bezwaar terms)")]
