"""API shapes for complaints (klachtmeldingen): intake, the complaint as shown, state changes, planning an
inspection from a complaint, deadline lists and hot spots.

Text fields are plain text: HTML or script in them is stored and returned as the characters sent (a JSON
string), never interpreted or rewritten. PostgreSQL text cannot hold NUL, so NUL is refused with a pointer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.complaints import reference
from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.planning.models import Assignment, InspectorIds, Notes, Partner
from backend.registry.models import NO_NUL, NOT_BLANK, WIJK_CODES, RegimeFilter, WijkFilter
from backend.users.models import Regime, TeamId

DESCRIPTION_MAX = 5000
ANSWER_MAX = 5000

State = Annotated[
    Literal["received", "in_progress", "inspection_planned", "resolved", "reopened", "rejected"],
    Meta(
        description="received -> in_progress -> inspection_planned -> resolved -> reopened -> ...; rejected: not "
        "ours, forwarded to a named partner"
    ),
]
Channel = Annotated[
    Literal["phone", "email", "counter", "web_form", "api"],
    Meta(description="How the complaint came in; api: an external intake system"),
]
Outcome = Annotated[
    Literal["violation_found", "no_violation_found", "nuisance_stopped", "not_established", "other"],
    Meta(description="What the follow-up established"),
]
Deadline = Literal["resolution", "acknowledgement"]
WijkSource = Annotated[
    Literal["object", "postcode", "override"],
    Meta(
        description="Where the wijk came from: the object's, the postcode area's (schemas/complaints/wijk-pc4.json), "
        "or the handler's explicit choice"
    ),
]

CATEGORY_KEYS = list(reference.categories())
_CATEGORY_DESCRIPTION = "A complaint category (schemas/complaints/categories.json; GET /api/v1/complaints/categories)"
CategoryKey = Annotated[
    str, Meta(min_length=1, max_length=64, description=_CATEGORY_DESCRIPTION, extra_json_schema={"enum": CATEGORY_KEYS})
]
CategoryFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=64, description=_CATEGORY_DESCRIPTION, schema_extra={"enum": CATEGORY_KEYS}
    ),
]

# --- what the lists take ------------------------------------------------------------------------------------------

StateFilter = Annotated[State | None, QueryParameter(name="state")]
ObjectFilter = Annotated[UUID | None, QueryParameter(description="Complaints about this object")]
PostcodeFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[1-9][0-9]{3} ?[A-Za-z]{2}$", description="Complaints at this postcode (1234 AB)"),
]
HouseNumberFilter = Annotated[int | None, QueryParameter(ge=1, le=99999, description="With postcode: the address")]
HandlerFilter = Annotated[UUID | None, QueryParameter(description="Complaints assigned to this handler")]


class ComplaintFilters(QueryGroup, frozen=True):
    """ListComplaints' filters."""

    state_: StateFilter = None
    category: CategoryFilter = None
    wijk: WijkFilter = None
    object_id: ObjectFilter = None
    postcode: PostcodeFilter = None
    house_number: HouseNumberFilter = None
    handler: HandlerFilter = None
    regime: RegimeFilter = None


class WorklistFilters(QueryGroup, frozen=True):
    """The filters of the handlers' worklists: deadlines and reporters to inform."""

    category: CategoryFilter = None
    wijk: WijkFilter = None
    handler: HandlerFilter = None
    regime: RegimeFilter = None


class DueQuery(QueryGroup, frozen=True):
    """Which due dates ListComplaintDeadlines lists."""

    deadline: Annotated[
        Deadline, QueryParameter(description="resolution (open complaints) or acknowledgement (still received)")
    ] = "resolution"
    overdue: Annotated[
        bool | None,
        QueryParameter(
            description="true: due before today (Europe/Amsterdam); false: due today or later; leave out: both"
        ),
    ] = None
    due_by: Annotated[date | None, QueryParameter(description="Only those due on or before this day")] = None


class HotSpotQuery(QueryGroup, frozen=True):
    """The window, place and threshold of ListComplaintHotSpots."""

    days: Annotated[int | None, QueryParameter(ge=1, le=3660, description="The window (default: the setting, 90)")] = (
        None
    )
    wijk: WijkFilter = None
    object_id: Annotated[UUID | None, QueryParameter(description="One object's count")] = None
    min_count: Annotated[int, QueryParameter(ge=1, le=10_000, description="At least this many complaints")] = 1
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20


class ObjectMatch(QueryGroup, frozen=True):
    """What SuggestComplaintObjects matches: a name and/or an address."""

    q: Annotated[str | None, QueryParameter(min_length=1, max_length=100, description="Part of the name")] = None
    postcode: Annotated[
        str | None,
        QueryParameter(pattern=r"^[1-9][0-9]{3}( ?[A-Za-z]{2})?$", description="A postcode or its four digits"),
    ] = None
    street: Annotated[str | None, QueryParameter(min_length=1, max_length=200, description="Start of the street")] = (
        None
    )
    house_number: Annotated[int | None, QueryParameter(ge=1, le=99999)] = None
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10


WijkOverride = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="Override of the wijk (the handler's choice)",
        extra_json_schema={"enum": WIJK_CODES},
    ),
]
Description = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=DESCRIPTION_MAX,
        pattern=NOT_BLANK,
        description=f"Plain text, at most {DESCRIPTION_MAX} characters",
    ),
]
Answer = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=ANSWER_MAX,
        pattern=NOT_BLANK,
        description="The answer sent to the reporter (plain text)",
    ),
]
Reason = Annotated[str, Meta(min_length=3, max_length=1000, pattern=NOT_BLANK)]
Line = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]


class Address(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    street: Line
    house_number: Annotated[int, Meta(ge=1, le=99999)]
    house_number_addition: Annotated[str, Meta(min_length=1, max_length=10, pattern=NOT_BLANK)] | None = None
    postcode: Annotated[str, Meta(pattern=r"^[1-9][0-9]{3} ?[A-Za-z]{2}$", description="1234 AB")]
    city: Annotated[str, Meta(min_length=1, max_length=100, pattern=NOT_BLANK)] = "Utrecht"


class Coordinates(msgspec.Struct, forbid_unknown_fields=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]


class ReporterContact(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Optional; leave it out for an anonymous complaint. Feedback needs an e-mail address or phone number."""

    name: Line | None = None
    email: Annotated[str, Meta(max_length=254, pattern=NO_NUL, description="name@example.nl")] | None = None
    phone: (
        Annotated[
            str,
            Meta(
                max_length=32,
                pattern=NO_NUL,
                description="Dutch (06 12345678, 030-1234567) or international (+31 6 12345678)",
            ),
        ]
        | None
    ) = None


class ComplaintCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A complaint as a handler or an external intake system registers it. Give an address and/or
    coordinates, or the object it concerns (its address is then used). The wijk comes from the object, else
    from the address's postcode area; `wijk` overrides both (and is needed for coordinates alone)."""

    category: CategoryKey
    description: Description
    channel: Channel
    incident_at: Annotated[datetime, Meta(tz=True, description="When it happened, as reported")] | None = None
    received_at: (
        Annotated[
            datetime,
            Meta(
                tz=True, description="When the municipality received it (default: now); deadlines count from this day"
            ),
        ]
        | None
    ) = None
    external_reference: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=100,
                pattern=NOT_BLANK,
                description=(
                    "The intake system's own id: a second complaint with the same channel and reference is"
                    " refused (409)"
                ),
            ),
        ]
        | None
    ) = None
    address: Address | None = None
    coordinates: Coordinates | None = None
    wijk: WijkOverride | None = None
    object_id: Annotated[UUID, Meta(description="The object it concerns, if known (see object-suggestions)")] | None = (
        None
    )
    reporter: ReporterContact | None = None
    wants_feedback: Annotated[bool, Meta(description="Whether the reporter wants to hear the outcome")] = False

    example: ClassVar[dict[str, Any]] = {
        "category": "geluidsoverlast_horeca",
        "description": "Harde muziek tot na sluitingstijd, elk weekend.",
        "channel": "phone",
        "incident_at": "2025-05-31T01:30:00+02:00",
        "address": {"street": "Oudegracht", "house_number": 245, "postcode": "3511 NK"},
        "reporter": {"name": "M. Jansen", "email": "m.jansen@example.nl"},
        "wants_feedback": True,
    }


# --- state changes ------------------------------------------------------------------------------------------


class StartHandling(msgspec.Struct, forbid_unknown_fields=True, tag_field="to", tag="in_progress"):
    """Take the complaint up (acknowledges it), or go back to handling after a planned inspection."""

    reason: Reason | None = None


class Resolve(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="to", tag="resolved"):
    """The outcome, and the answer sent to the reporter: required when they want feedback, refused when not."""

    outcome: Outcome
    answer: Answer | None = None
    reason: Reason | None = None


class Reopen(msgspec.Struct, forbid_unknown_fields=True, tag_field="to", tag="reopened"):
    """The reporter is not satisfied, or there are new facts."""

    reason: Reason


RejectionAnswer = Annotated[
    Answer,
    Meta(
        description="What the reporter is told, sent by e-mail when they left an address (plain text): to whom the "
        "complaint was forwarded, or why the municipality does not handle it. Required when the reporter wants "
        "feedback, refused when they do not"
    ),
]


class Reject(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="to", tag="rejected"):
    """Not ours: forwarded to a named partner (e.g. politie, omgevingsdienst), with the answer for the reporter:
    required when they want feedback, refused when they do not (as on resolving)."""

    forwarded_to: Annotated[str, Meta(min_length=2, max_length=200, pattern=NOT_BLANK)]
    reason: Reason
    answer: RejectionAnswer | None = None


Transition = StartHandling | Resolve | Reopen | Reject


class AssignHandler(msgspec.Struct, forbid_unknown_fields=True):
    handler_id: Annotated[UUID, Meta(description="An active complaint handler (or admin) who may see the complaint")]


InformedHow = Annotated[
    Literal["phone", "letter", "visit"],
    Meta(description="How the reporter was informed: by phone, by letter, or in person (a visit)"),
]


class InformReporter(msgspec.Struct, forbid_unknown_fields=True):
    """The reporter was informed another way after an e-mail to them failed for good."""

    how: InformedHow


class PlanInspection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An assignment (reason complaint) of the complaint's object; without one, of `location_id`, or of a
    location made from the complaint's address. Regimes default to the complaint's."""

    team_id: TeamId
    checklist_version_ids: Annotated[list[UUID], Meta(min_length=1, max_length=10)]
    planned_from: date
    planned_to: date
    inspector_ids: InspectorIds
    regimes: Annotated[list[Regime], Meta(min_length=1, max_length=5)] | None = None
    location_id: UUID | None = None
    partners: Annotated[list[Partner], Meta(max_length=7)] = []
    notes: Notes | None = None


# --- responses ------------------------------------------------------------------------------------------------


class ComplaintLocation(msgspec.Struct, frozen=True, kw_only=True):
    """Where the complaint is about, and where its wijk came from."""

    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    wijk: str
    wijk_source: WijkSource


class Reporter(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None
    email: str | None
    phone: str | None


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    from_state: State | None
    to_state: State
    actor_id: UUID
    occurred_at: datetime
    reason: str | None
    outcome: Outcome | None
    answer: Annotated[str | None, Meta(description="Complaint handlers and admins only")]
    forwarded_to: str | None
    assignment_id: UUID | None


class FeedbackEmail(msgspec.Struct, frozen=True, kw_only=True):
    """An e-mail to the reporter and whether our mail server took it. One that failed for good means the reporter
    did not hear from us: the handler contacts them another way (by phone, when they left a number)."""

    kind: Annotated[
        Literal["acknowledgement", "answer"], Meta(description="The acknowledgement of receipt, or the answer")
    ]
    state: Annotated[
        Literal["pending", "sent", "failed", "cancelled"],
        Meta(
            description="pending (being delivered, retried), sent (the mail server took it), failed (retries "
            "exhausted: contact the reporter another way, or an admin replays the outbox message), cancelled"
        ),
    ]
    attempts: int
    last_error: Annotated[str | None, Meta(description="The last attempt's error code, e.g. recipient_refused")]
    sent_at: datetime | None
    failed_at: Annotated[datetime | None, Meta(description="When it failed for good (state failed)")] = None
    outbox_message_id: UUID


class ReporterInformed(msgspec.Struct, frozen=True, kw_only=True):
    """The last time a handler recorded informing the reporter another way (after a failed e-mail)."""

    at: datetime
    by: UUID
    how: InformedHow


class InspectionFollowUp(msgspec.Struct, frozen=True, kw_only=True):
    """An inspection planned from the complaint, and its outcome once the inspection is reviewed."""

    assignment_id: UUID
    assignment_status: Literal["planned", "cancelled", "done"]
    team_id: str
    planned_from: date
    planned_to: date
    inspection_id: UUID | None
    inspection_state: Literal["submitted", "complete", "returned", "corrected", "reviewed"] | None
    reviewed: bool
    violations_found: Annotated[bool | None, Meta(description="null until the inspection is reviewed")]
    violation_codes: list[str]


class ComplaintRef(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    category: str
    state: State
    received_at: datetime


class ComplaintSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A complaint in lists: never the reporter's identity or contact details."""

    id: UUID
    category: str
    regime: Annotated[Regime | None, Meta(description="Decides who may see it; null: complaint handlers and admins")]
    channel: Channel
    description: str
    state: State
    location: ComplaintLocation
    object_id: UUID | None
    handler_id: UUID | None
    wants_feedback: bool
    received_at: datetime
    acknowledgement_due_on: date
    resolution_due_on: date
    acknowledgement_overdue: Annotated[bool, Meta(description="Still received after its acknowledgement date")]
    overdue: Annotated[bool, Meta(description="Open after its resolution date (Europe/Amsterdam)")]
    version: int


class Complaint(ComplaintSummary, frozen=True, kw_only=True):
    """One complaint. `reporter` only for complaint handlers and admins on GET (each such read is audited)."""

    incident_at: datetime | None
    external_reference: str | None
    anonymous: Annotated[bool, Meta(description="No identity or contact details were given")]
    reporter: Reporter | None
    acknowledged_at: datetime | None
    outcome: Outcome | None
    answer: Annotated[str | None, Meta(description="Complaint handlers and admins only")]
    answered_at: datetime | None
    forwarded_to: str | None
    closed_at: datetime | None
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]
    feedback_emails: Annotated[
        list[FeedbackEmail],
        Meta(
            description="Complaint handlers and admins only: the e-mails to the reporter and how each went, "
            "oldest first"
        ),
    ]
    reporter_informed: Annotated[
        ReporterInformed | None,
        Meta(description="Complaint handlers and admins only: the last record of informing the reporter another way"),
    ] = None
    reporter_to_inform: Annotated[
        bool,
        Meta(
            description="Complaint handlers and admins only: the reporter did not hear from us since they were last "
            "informed another way: an e-mail to them failed for good, or they want feedback, left no e-mail address "
            "and the complaint was answered (resolved or rejected); inform them (by phone when they left a number) "
            "and record it (POST .../reporter-informed)"
        ),
    ] = False
    inspections: list[InspectionFollowUp]
    related: Annotated[
        list[ComplaintRef],
        Meta(description="Other complaints (you may see) about the same object or address, newest first, at most 20"),
    ]
    allowed_transitions: Annotated[
        list[State],
        Meta(description="The states POST .../transitions may move it to now (planning an inspection is its own call)"),
    ] = []


class ComplaintPage(Page[ComplaintSummary], frozen=True):
    pass


ToInformBecause = Annotated[
    Literal["email_failed", "no_email_address"],
    Meta(
        description="email_failed: an e-mail to the reporter (acknowledgement or answer) failed for good; "
        "no_email_address: the reporter wants feedback but left no e-mail address, so the answer reaches them only "
        "through the handler"
    ),
]


class ReporterToInform(ComplaintSummary, frozen=True, kw_only=True):
    """A complaint whose reporter did not hear from us: an e-mail to them failed for good, or they want feedback,
    left no e-mail address and the complaint was answered (resolved or rejected)."""

    to_inform_since: Annotated[
        datetime,
        Meta(
            description="When the reporter became someone to inform: the last e-mail failure, or the answer for a "
            "reporter without an e-mail address; the list's order, oldest first"
        ),
    ]
    to_inform_because: ToInformBecause
    email_failed_at: Annotated[
        datetime | None,
        Meta(
            description="When the last e-mail to the reporter failed for good; null when no e-mail failed (the "
            "reporter left no e-mail address)"
        ),
    ]


class ReporterToInformPage(Page[ReporterToInform], frozen=True):
    pass


class PlannedInspection(msgspec.Struct, frozen=True):
    complaint: Complaint
    assignment: Assignment


class HotSpot(msgspec.Struct, frozen=True, kw_only=True):
    object_id: UUID
    name: str
    street: str
    house_number: int
    house_number_addition: str | None
    postcode: str
    wijk: str
    complaints: Annotated[int, Meta(description="Complaints you may see about it received in the window")]
    last_received_at: datetime


class HotSpotList(msgspec.Struct, frozen=True):
    since: Annotated[datetime, Meta(description="Start of the window (now minus `days`)")]
    days: int
    items: list[HotSpot]


class CategoryView(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    name: str
    regime: Regime | None
    acknowledgement_working_days: int
    handling_working_days: int


class CategoryList(msgspec.Struct, frozen=True):
    items: list[CategoryView]
