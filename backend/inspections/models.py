"""API shapes for inspections: what a phone submits, what the API answers, and violations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.checklists.models import LegalRef, Severity
from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.planning.models import Partner
from backend.registry.models import RegimeFilter, WijkFilter
from backend.users.models import Regime, TeamId

InspectionState = Annotated[
    Literal["submitted", "complete", "returned", "corrected", "reviewed"],
    Meta(description="submitted (photos still expected) -> complete -> reviewed, or returned -> corrected -> reviewed"),
]
DeviceTime = Annotated[datetime, Meta(tz=True, description="The phone's clock, RFC 3339 with an offset")]
QuestionKey = Annotated[str, Meta(min_length=1, max_length=64)]
Sha256Hex = Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description="SHA-256 of the photo bytes, lowercase hex")]
PhotoSize = Annotated[int, Meta(ge=1, le=26_214_400, description="Bytes, at most 25 MiB")]
# PostgreSQL text cannot hold NUL; refusing it here gives a pointer instead of a database error.
Observations = Annotated[str, Meta(max_length=10_000, pattern="^[^\x00]*$")]
Reason = Annotated[str, Meta(min_length=3, max_length=1000, pattern="^[^\x00]*\\S[^\x00]*$")]


class ChecklistEntry(msgspec.Struct, forbid_unknown_fields=True):
    """One filled-in checklist: a NIX18 control has one entry of nix18-purchase-attempt per attempt."""

    checklist_version_id: UUID
    answers: Annotated[dict[QuestionKey, Any], Meta(max_length=300, description="Answers keyed by question key")]


class Position(msgspec.Struct, forbid_unknown_fields=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)] | None = None


class PhotoManifestEntry(msgspec.Struct, forbid_unknown_fields=True):
    """A photo the phone will upload: its id, hash and size, and the answer it is evidence for."""

    id: UUID
    sha256: Sha256Hex
    size: PhotoSize
    checklist: Annotated[int, Meta(ge=0, le=49, description="Index into `checklists`")]
    question: (
        Annotated[
            str, Meta(min_length=1, max_length=64, description="The question it is evidence for; null: a general photo")
        ]
        | None
    ) = None


class InspectionSubmission(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """PUT to the phone's own inspection id. Give exactly one of object_id and location_id. Sending the same
    body again is safe. A correction of a returned inspection sends `base_revision` (the revision it
    corrects)."""

    assignment_id: Annotated[
        UUID | None, Meta(description="The planned assignment; null for an unplanned inspection")
    ] = None
    object_id: UUID | None = None
    location_id: UUID | None = None
    team_id: Annotated[
        TeamId | None,
        Meta(
            description="Planned: the assignment's team. Unplanned: one of your teams (may be left out if you have one)"
        ),
    ] = None
    checklists: Annotated[list[ChecklistEntry], Meta(min_length=1, max_length=50)]
    started_at: DeviceTime
    finished_at: DeviceTime
    position: Position | None = None
    inspector_ids: Annotated[
        list[UUID], Meta(min_length=1, max_length=6, description="Inspectors present, you included")
    ]
    partners: Annotated[list[Partner], Meta(max_length=7, description="Partners present")] = []
    observations: Observations | None = None
    photos: Annotated[list[PhotoManifestEntry], Meta(max_length=200)] = []
    base_revision: (
        Annotated[int, Meta(ge=1, le=1_000_000, description="Corrections only: the revision corrected")] | None
    ) = None

    example: ClassVar[dict[str, Any]] = {
        "assignment_id": "40000000-0000-4000-8000-000000000001",
        "object_id": "10000000-0000-4000-8000-000000000001",
        "team_id": "team-centrum",
        "checklists": [
            {
                "checklist_version_id": "20000000-0000-4000-8000-000000000001",
                "answers": {"AW-01": "yes", "AW-03": "no", "AW-06": "no"},
            }
        ],
        "started_at": "2025-06-03T21:10:00+02:00",
        "finished_at": "2025-06-03T21:45:00+02:00",
        "position": {"latitude": 52.0907, "longitude": 5.1214, "accuracy_m": 8.5},
        "inspector_ids": ["30000000-0000-4000-8000-000000000001"],
        "partners": ["politie"],
        "observations": "Geen leidinggevende aanwezig; leeftijdsgrens niet zichtbaar aangegeven.",
        "photos": [
            {
                "id": "50000000-0000-4000-8000-000000000001",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "size": 2480213,
                "checklist": 0,
                "question": "AW-06",
            }
        ],
    }


class ReturnRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


# --- responses --------------------------------------------------------------------------------------------


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """A violation an inspection's answers establish: first-class, listed per object with its history."""

    id: UUID
    inspection_id: UUID
    revision: Annotated[int, Meta(description="The inspection revision that established it")]
    object_id: UUID | None
    location_id: UUID | None
    checklist_version_id: UUID
    checklist: Annotated[int, Meta(description="Index of the checklist entry in the inspection")]
    question: str
    code: str
    article: LegalRef
    severity: Severity
    observed_on: Annotated[date, Meta(description="The inspection date (Europe/Amsterdam)")]
    evidence_photo_ids: list[UUID]
    withdrawn_at: Annotated[datetime | None, Meta(description="Set when a correction no longer establishes it")]
    created_at: datetime


class StoredChecklist(msgspec.Struct, frozen=True):
    checklist_version_id: UUID
    template_key: str
    regime: str
    answers: dict[str, Any]


MediaType = Literal["image/jpeg", "image/png", "image/webp"]


class GeoPoint(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float


class PhotoEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the server knows of a received photo, for the inspection's detail. `position` is shown only to
    enforcement officers and auditors (null for everyone else); see photos.service.evidence_of, which fills it."""

    media_type: MediaType
    width: int
    height: int
    captured_at: Annotated[datetime | None, Meta(description="From the photo's EXIF (the phone's claim)")]
    received_at: datetime
    position: Annotated[
        GeoPoint | None, Meta(description="GPS from the photo's EXIF; enforcement officers and auditors only")
    ]


class StoredPhoto(msgspec.Struct, frozen=True, omit_defaults=True):
    id: UUID
    sha256: str
    size: int
    checklist: int
    question: str | None
    received: bool
    evidence: Annotated[
        PhotoEvidence | None,
        Meta(description="The received photo: type, size, capture and receipt time, position; absent until it arrives"),
    ] = None


class InspectionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An inspection as lists show it."""

    id: UUID
    revision: int
    state: InspectionState
    assignment_id: UUID | None
    object_id: UUID | None
    location_id: UUID | None
    team_id: str
    wijk: str
    regimes: list[Regime]
    submitted_by: UUID
    inspector_ids: list[UUID]
    started_at: datetime
    finished_at: datetime
    received_at: Annotated[datetime, Meta(description="When the server first received it")]
    clock_suspect: Annotated[bool, Meta(description="The device times are not trusted for deadlines")]
    inspected_at: Annotated[datetime, Meta(description="The time deadlines count from")]
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    return_reason: Annotated[
        str | None,
        Meta(description="Why a coordinator returned it (kept after the correction); null when it was never returned"),
    ]
    version: int
    updated_at: datetime


class ReturnedInspection(msgspec.Struct, frozen=True, kw_only=True):
    """An inspection a coordinator sent back to its inspectors, as their phones hear of it."""

    id: UUID
    revision: Annotated[
        int, Meta(description="The revision to correct: send the whole inspection again with `base_revision` = this")
    ]
    return_reason: str
    assignment_id: UUID | None
    object_id: UUID | None
    location_id: UUID | None
    version: int
    updated_at: datetime


class Inspection(InspectionSummary, frozen=True, kw_only=True):
    """One inspection in full: the summary plus what was observed, its answers, photos and violations."""

    partners: list[Partner]
    observations: str | None
    clock_skew_seconds: Annotated[
        int | None, Meta(description="The phone's clock minus the server's, from the Date header; null when not sent")
    ]
    position: Position | None
    created_at: datetime
    checklists: list[StoredChecklist]
    photos: list[StoredPhoto]
    expected_photos: Annotated[list[UUID], Meta(description="Photos of the manifest not received yet")]
    violations: Annotated[list[Violation], Meta(description="Current violations (not withdrawn)")]


class InspectionListItem(InspectionSummary, frozen=True, kw_only=True):
    """An inspection in a worklist: the summary with the object's name and address and who inspected (null and
    empty for an inspection of a location without an object)."""

    object_name: str | None
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    inspector_names: list[str]


class InspectionPage(Page[InspectionListItem], frozen=True):
    pass


class Revision(msgspec.Struct, frozen=True):
    revision: int
    base_revision: int | None
    body: Annotated[dict[str, Any], Meta(description="The submission as received (canonical form)")]
    body_sha256: str
    submitted_by: UUID
    received_at: datetime


class RevisionList(msgspec.Struct, frozen=True):
    items: list[Revision]


class ViolationPage(Page[Violation], frozen=True):
    pass


class ExpectedPhoto(msgspec.Struct, frozen=True):
    """A manifest entry an upload must match."""

    sha256: str
    size: int


class PhotoReceipt(msgspec.Struct, frozen=True):
    """What photo_received did: the inspection the photo belongs to and its state afterwards."""

    inspection_id: UUID
    state: InspectionState
    already_received: bool


class AssignmentOutcome(msgspec.Struct, frozen=True):
    """The latest inspection of an assignment: its state and the violation codes it (still) establishes."""

    assignment_id: UUID
    inspection_id: UUID
    state: InspectionState
    violation_codes: list[str]


class Received(msgspec.Struct, frozen=True, kw_only=True):
    """A PUT of an inspection as the server received it: the id it was put to, the submission, the body as stored
    (builtins) and the SHA-256 of its canonical JSON (sorted keys: equal bodies, equal hash), when it arrived, the
    phone's clock skew from its Date header (None without one) and the request's id."""

    inspection_id: UUID
    data: InspectionSubmission
    body: dict[str, Any]
    digest: str
    received_at: datetime
    skew: int | None
    request_id: str | None


# --- what the lists take ------------------------------------------------------------------------------------------


class InspectionFilters(QueryGroup, frozen=True):
    """ListInspections' filters."""

    object_id: Annotated[UUID | None, QueryParameter(description="Inspections of this establishment")] = None
    location_id: Annotated[UUID | None, QueryParameter(description="Inspections of this location")] = None
    assignment_id: Annotated[UUID | None, QueryParameter(description="The inspection of this assignment")] = None
    state_: Annotated[InspectionState | None, QueryParameter(name="state")] = None
    team_id: Annotated[str | None, QueryParameter(min_length=1, max_length=64)] = None
    regime: RegimeFilter = None
    wijk: WijkFilter = None
    from_: Annotated[
        date | None, QueryParameter(name="from", description="Inspected on or after this date (Europe/Amsterdam)")
    ] = None
    to: Annotated[date | None, QueryParameter(description="Inspected on or before this date (Europe/Amsterdam)")] = None
    awaiting_my_review: Annotated[
        bool, QueryParameter(description="true: complete or corrected ones you may review (you were not present)")
    ] = False


class ViolationFilters(QueryGroup, frozen=True):
    """What ListViolations lists: the violations of an object, a location or an inspection."""

    object_id: Annotated[UUID | None, QueryParameter(description="Violations at this establishment")] = None
    location_id: Annotated[UUID | None, QueryParameter(description="Violations at this location")] = None
    inspection_id: Annotated[UUID | None, QueryParameter(description="Violations of this inspection")] = None
    include_withdrawn: Annotated[bool, QueryParameter(description="Also those a correction withdrew")] = False
