"""API shapes for enforcement: cases, their violations, status history and steps; proposals; deadlines.

Money is in integer euro cents; legal dates are dates (Europe/Amsterdam).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.letters import models as letters
from backend.letters.models import Addressee
from backend.registry.models import EmployeeClass, RegimeFilter, WijkFilter
from backend.users.models import Regime

CaseStatus = Annotated[
    Literal["open", "warned", "voornemen", "besluit", "hercontrole", "invordering", "bezwaar", "closed"],
    Meta(description="Follows the steps sent; closed ends the case with a result"),
]
CaseResult = Literal["complied", "sanctioned", "no_action", "merged", "withdrawn"]
StepType = Literal["warning", "voornemen", "besluit", "hercontrole", "invordering", "bezwaar"]
Decision = Annotated[letters.Decision, Meta(description="What a voornemen or besluit is about")]
Intervention = Literal["warning", letters.Decision]  # what a proposal can advise: a warning or a decision
StepStatus = Literal[
    "draft", "approved", "sent", "planned", "complied", "forfeited", "registered", "decided", "called_off"
]
DwangsomUnit = Annotated[
    Literal["per_violation", "per_day", "per_week", "ineens"],
    Meta(description="per day or week after the begunstigingstermijn, per violation observed, or at once (ineens)"),
]
Behaviour = Annotated[
    Literal["goedwillend", "onverschillig", "calculerend", "crimineel"],
    Meta(description="LHSO interventiematrix: the offender's behaviour"),
]
DeadlineKind = Literal[
    "zienswijze", "begunstigingstermijn", "bezwaar_term", "bezwaar_decision", "payment", "invordering_limit"
]
EmployeeClassSource = Annotated[
    Literal["inspection", "registry", "assumed"],
    Meta(
        description="Where the fine column comes from: the inspector's answer on the day (BB-01), the registry's "
        "history on the day of the violation, or assumed (< 50) for a location without an object"
    ),
]
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
        "object_id": "10000000-0000-4000-8000-000000000001",
        "regime": "alcohol",
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
    `received_on`, and for one sent by post `posted_on`. A step other than the proposal's needs `deviation_reason`."""

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
    posted_on: Annotated[date | None, Meta(description="bezwaar by post: the day it was posted (Awb 6:9)")] = None
    deviation_reason: Reason | None = None
    behaviour: Behaviour | None = None
    addressee: Annotated[
        Addressee | None,
        Meta(
            description="Who receives the letter, for a location without a registered establishment (default: the "
            "establishment's addressee in the registry)"
        ),
    ] = None


class ZienswijzeRecord(msgspec.Struct, forbid_unknown_fields=True):
    received: Annotated[bool, Meta(description="false: the term passed without a response")]
    summary: ShortText | None = None


BezwaarChangeKind = Annotated[
    Literal["lateness_excused", "advisory_committee", "extension", "postponement"],
    Meta(
        description="lateness_excused: Awb 6:11; advisory_committee: decision term 12 weeks (7:10 lid 1); "
        "extension: once, by the configured weeks (7:10 lid 3); postponement: further, with the "
        "objector's consent (7:10 lid 4)"
    ),
]


class BezwaarChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A recorded change of a registered bezwaar's lateness or decision term, with its reason."""

    change: BezwaarChangeKind
    reason: Reason
    weeks: Annotated[int, Meta(ge=1, le=52, description="postponement only: by how many weeks")] | None = None
    consent: Annotated[bool, Meta(description="postponement only: the objector consented (must be true)")] | None = None


class StepSend(msgspec.Struct, forbid_unknown_fields=True):
    """The day the letter went out (bekendmaking, Awb 3:41): not before the approval (or the drafting of a step
    that needs none), not after today. Every term the step starts counts from it."""

    sent_on: Annotated[date | None, Meta(description="Default: today (Europe/Amsterdam)")] = None


class StepPosted(msgspec.Struct, forbid_unknown_fields=True):
    """The back office printed a letter marked for post and posted it: recorded once, with the day."""

    posted_on: Annotated[
        date | None,
        Meta(description="Default: today (Europe/Amsterdam); not before the day of sending, not after today"),
    ] = None


class StepWithdraw(msgspec.Struct, forbid_unknown_fields=True):
    """Withdraw a sent decision (intrekking door het bestuursorgaan); it stays on record as sent."""

    reason: Reason


class StepOutcome(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """hercontrole: complied or forfeited (the sum follows from the decision: units passed times the dwangsom, capped
    at the maximum; `violations_observed` for a dwangsom per violation); bezwaar: the decision on it."""

    result: Literal["complied", "forfeited", "gegrond", "ongegrond", "niet_ontvankelijk"]
    observed_on: Annotated[date | None, Meta(description="hercontrole: the day of the follow-up inspection")] = None
    forfeited_cents: Annotated[
        Cents | None, Meta(description="hercontrole: default the sum the law forfeits; another sum needs `reason`")
    ] = None
    violations_observed: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    reason: Annotated[
        Reason | None,
        Meta(
            description="hercontrole: why the sum differs from the law's, or why an outcome already recorded (from the "
            "follow-up inspection) is corrected"
        ),
    ] = None


# --- responses --------------------------------------------------------------------------------------------


class Deadline(msgspec.Struct, frozen=True):
    kind: DeadlineKind
    due_on: date
    resolved: bool


class BezwaarChangeEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    change: BezwaarChangeKind
    reason: str
    due_before: Annotated[date | None, Meta(description="The decision deadline before the change")]
    due_after: Annotated[date | None, Meta(description="The decision deadline after it")]
    actor_id: UUID
    occurred_at: datetime


Dispatch = Literal["email", "post"]
MailState = Literal["pending", "sent", "failed", "cancelled"]


class LetterDispatch(msgspec.Struct, frozen=True, kw_only=True):
    """How a sent letter went out: e-mailed to the addressee's address on record (its delivery state below), or
    marked for post, when no address is on record or no mail server is configured: the back office prints and
    posts it."""

    by: Dispatch
    state: Annotated[
        MailState | None,
        Meta(
            description="E-mail only: pending (being delivered, retried), sent (the mail server took it), failed "
            "(retries exhausted: post it, or an admin replays the outbox message), cancelled (the decision was "
            "withdrawn before the e-mail went)"
        ),
    ] = None
    outbox_message_id: Annotated[UUID | None, Meta(description="E-mail only: the outbox message")] = None
    attempts: int | None = None
    last_error: str | None = None
    sent_at: Annotated[datetime | None, Meta(description="E-mail only: when the mail server took it")] = None
    posted_on: Annotated[
        date | None, Meta(description="For post, or after a failed e-mail: the day the back office posted it")
    ] = None
    posted_by: Annotated[UUID | None, Meta(description="Who recorded posting it")] = None


class StepFields(msgspec.Struct, frozen=True, kw_only=True):
    """What a step is and the terms it sets: the fields the API answers (Step) and the rules read (records.StepRecord)
    alike, first in both."""

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


class Step(StepFields, frozen=True, kw_only=True):
    proposal: Annotated[dict[str, Any] | None, Meta(description="The proposal when it was drafted")]
    deviation_reason: str | None
    behaviour: Behaviour | None
    assignment_id: Annotated[UUID | None, Meta(description="hercontrole: the planned inspection")]
    due_on: Annotated[date | None, Meta(description="hercontrole: end of the begunstigingstermijn")]
    observed_on: date | None
    forfeited_cents: int | None
    forfeited_units: int | None
    forfeited_on: Annotated[date | None, Meta(description="The day of forfeiture: 5:33 and 5:35 count from it")]
    outcome_source: Literal["inspection", "officer"] | None
    outcome_reason: str | None
    outcome_inspection_id: UUID | None
    received_on: date | None
    posted_on: date | None
    late: Annotated[bool | None, Meta(description="bezwaar: after the term (Awb 6:7-6:9)")]
    late_excused: Annotated[bool | None, Meta(description="bezwaar: lateness excused (Awb 6:11)")]
    bezwaar_changes: list[BezwaarChangeEntry]
    outcome: Literal["gegrond", "ongegrond", "niet_ontvankelijk"] | None
    letter_sha256: Annotated[
        str | None,
        Meta(description="SHA-256 of the step's letter: the draft's as last rendered, the stored document once sent"),
    ]
    approved_sha256: Annotated[str | None, Meta(description="SHA-256 of the letter the second officer approved")]
    drafted_by: UUID
    approved_by: UUID | None
    approved_at: datetime | None
    sent_by: UUID | None
    sent_on: date | None
    withdrawn_on: Annotated[date | None, Meta(description="A sent decision withdrawn by the authority")]
    withdrawn_reason: str | None
    dispatch: Annotated[
        LetterDispatch | None,
        Meta(description="A sent letter: by e-mail (with its delivery) or for post; null before it is sent"),
    ]
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
    description: Annotated[
        str | None, Meta(description="Dutch, from the current checklists (as in the letters); null for a code none has")
    ]
    article: Annotated[str, Meta(description="The article as the current checklists state it, else `article_key`")]
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
    kenmerk: Annotated[
        str,
        Meta(
            description="The case's reference (ons kenmerk, e.g. HH-2026-00042), unique and never changed: printed on "
            "every letter of the case and in the subject of its e-mail, and what the offender quotes when paying a "
            "fine or lodging a bezwaar"
        ),
    ]
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


class NextStep(msgspec.Struct, frozen=True, kw_only=True):
    type: Literal["warning", "voornemen", "besluit", "invordering", "bezwaar"]
    decision: Decision | None = None
    related_step_id: Annotated[
        UUID | None,
        Meta(
            description="bezwaar: the sent decision it is lodged against; invordering: the forfeited hercontrole "
            "whose sum it collects"
        ),
    ] = None


class Case(CaseSummary, frozen=True, kw_only=True):
    violations: list[CaseViolation]
    steps: list[Step]
    history: list[StatusEntry]
    next_steps: Annotated[
        list[NextStep],
        Meta(
            description="What may be drafted now (POST .../steps without `violation_ids`): a warning or voornemen "
            "while violations are open, a besluit after its voornemen and zienswijze term, a bezwaar per sent decision"
        ),
    ]


class CasePage(Page[CaseSummary], frozen=True):
    pass


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
    employee_class: EmployeeClass
    employee_class_source: EmployeeClassSource
    base_cents: int
    recidive: Annotated[bool, Meta(description="A boete for the same article was sent in the window before")]
    recidive_fine_step_ids: list[UUID]
    surcharge_percent: int
    amount_per_violation_cents: int
    amount_cents: Annotated[int, Meta(description="For all violations of this item")]


class StrikeCount(msgspec.Struct, frozen=True, kw_only=True):
    article: str
    count: Annotated[
        int,
        Meta(
            description="Occasions (inspections) with a violation of the article in the window "
            "before the violation measured, its own included"
        ),
    ]
    violation_id: Annotated[
        UUID,
        Meta(description="The open violation measured: the one with the most occasions in the window before its date"),
    ]
    observed_on: date
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
    earlier_occasions: Annotated[
        int,
        Meta(description="Other inspections with a violation of the same article at this target in the last 12 months"),
    ]
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
    employee_class: Annotated[
        EmployeeClass,
        Meta(description="The column of the case's newest violation; each item's fine names its own"),
    ]
    employee_class_source: EmployeeClassSource
    employee_class_assumed: Annotated[bool, Meta(description="No registered object: kolom I (< 50) assumed")]
    items: list[ProposalItem]
    next: NextAction


# --- deadlines ----------------------------------------------------------------------------------------------


class DeadlineItem(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID
    step_id: UUID
    regime: Regime
    wijk: str
    object_id: UUID | None
    location_id: UUID | None
    kind: DeadlineKind
    due_on: date
    overdue: bool


EXPIRING = Meta(description="Due from today up to and including `until`")
OVERDUE = Meta(description="Due before today and still open (not bezwaar terms)")


class DeadlineView(msgspec.Struct, frozen=True):
    today: date
    until: date
    expiring: Annotated[list[DeadlineItem], EXPIRING]
    overdue: Annotated[list[DeadlineItem], OVERDUE]


# --- worklists: what a screen shows of each item, one request per page ----------------------------------------

ObjectName = Annotated[
    str | None,
    Meta(description="The establishment's name; null for a location without one, or one you may not see"),
]
AddressLine = Annotated[
    str | None,
    Meta(description="The establishment's or location's address on one line; null when you may not see it"),
]


class CaseListItem(CaseSummary, frozen=True, kw_only=True):
    """A case as a worklist shows it: the summary with its target's name and address and who opened it."""

    object_name: ObjectName
    address: AddressLine
    opened_by_name: Annotated[str | None, Meta(description="null: opened by a review, or no name on record")]


class CaseListPage(Page[CaseListItem], frozen=True):
    pass


class DeadlineEntry(DeadlineItem, frozen=True, kw_only=True):
    """A deadline as a worklist shows it: with its case's target's name and address."""

    object_name: ObjectName
    address: AddressLine


class DeadlineWorklist(msgspec.Struct, frozen=True):
    today: date
    until: date
    expiring: Annotated[list[DeadlineEntry], EXPIRING]
    overdue: Annotated[list[DeadlineEntry], OVERDUE]


class _DraftedStep(msgspec.Struct, frozen=True, kw_only=True):
    """A drafted step as a worklist shows it: its case (`case_version` is the If-Match of what the list is for),
    its target and who drafted it when."""

    case_id: UUID
    case_version: int
    step_id: UUID
    decision: Decision | None
    amount_cents: int | None
    regime: Regime
    wijk: str
    object_id: UUID | None
    location_id: UUID | None
    object_name: ObjectName
    address: AddressLine
    drafted_by: UUID
    drafted_by_name: str | None
    drafted_at: datetime


class ApprovalItem(_DraftedStep, frozen=True, kw_only=True):
    """A drafted decision (besluit or invordering) waiting for a second officer's approval that you may give: not
    drafted by you, not resting on a violation you found. `case_version` is the If-Match the approval needs."""

    type: Literal["besluit", "invordering"]


class ApprovalPage(Page[ApprovalItem], frozen=True):
    pass


class ReadyToSendItem(_DraftedStep, frozen=True, kw_only=True):
    """A step of an open case that may be sent now: a drafted warning or voornemen, or a decision a second officer
    approved. It stays here until it is sent (`send`, If-Match: `case_version`)."""

    type: StepType
    status: Annotated[StepStatus, Meta(description="draft (needs no approval) or approved")]


class ReadyToSendPage(Page[ReadyToSendItem], frozen=True):
    pass


class LetterToPost(msgspec.Struct, frozen=True, kw_only=True):
    """A sent letter marked for post, or whose e-mail failed for good, that nobody recorded as posted yet: print
    its stored document (the step's document), post it, and record that (`posted`, If-Match: `case_version`). Its
    terms count from `sent_on`."""

    case_id: UUID
    case_version: int
    step_id: UUID
    seq: int
    type: StepType
    decision: Decision | None
    sent_on: date
    regime: Regime
    wijk: str
    object_id: UUID | None
    location_id: UUID | None
    object_name: ObjectName
    address: AddressLine


class LetterToPostPage(Page[LetterToPost], frozen=True):
    pass


# --- what the lists take ------------------------------------------------------------------------------------------


class CaseFilters(QueryGroup, frozen=True):
    """ListEnforcementCases' filters."""

    regime: RegimeFilter = None
    status: Annotated[CaseStatus | None, QueryParameter()] = None
    open_: Annotated[bool | None, QueryParameter(name="open", description="true: cases not closed; false: closed")] = (
        None
    )
    object_id: Annotated[UUID | None, QueryParameter(description="Cases of this establishment")] = None
    location_id: Annotated[UUID | None, QueryParameter(description="Cases of this location")] = None
    wijk: WijkFilter = None
    kenmerk: Annotated[
        str | None,
        QueryParameter(min_length=1, max_length=64, description="The case with this kenmerk (exact)"),
    ] = None


class StepFilters(QueryGroup, frozen=True):
    """The filters of the officers' step worklists: approvals and ready to send."""

    case_id: Annotated[UUID | None, QueryParameter(description="Only the steps of this case")] = None
    regime: RegimeFilter = None


class LetterFilters(QueryGroup, frozen=True):
    """The filter of the letters to post."""

    regime: RegimeFilter = None


class DeadlineQuery(QueryGroup, frozen=True):
    """The period and size of ListEnforcementDeadlines."""

    until: Annotated[
        date | None,
        QueryParameter(
            description="Last day of the period (default: seven days from today, Europe/Amsterdam; at most a year "
            "ahead)"
        ),
    ] = None
    limit: Annotated[int, QueryParameter(ge=1, le=500, description="At most this many deadlines (1-500)")] = 200
