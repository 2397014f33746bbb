"""API shapes for planning: assignments (planned inspections)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.registry.models import RegimeFilter, WijkFilter
from backend.users.models import Regime, TeamId

PlanReason = Annotated[
    Literal["regular_cycle", "hercontrole", "complaint", "verscherpt_toezicht", "project"],
    Meta(
        description="Why it is planned: the regular cycle, a re-check (hercontrole), a complaint, verscherpt "
        "toezicht, or a project/action"
    ),
]
Partner = Literal["politie", "nvwa", "belastingdienst", "kansspelautoriteit", "riec", "douane", "arbeidsinspectie"]
AssignmentStatus = Annotated[
    Literal["planned", "cancelled", "done"], Meta(description="done is set when the inspection is submitted")
]
InspectorIds = Annotated[list[UUID], Meta(min_length=1, max_length=4, description="1-4 inspectors of the team")]
Notes = Annotated[str, Meta(max_length=2000)]
CancelReason = Annotated[str, Meta(min_length=3, max_length=1000, pattern=r"\S")]


class AssignmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Give exactly one of object_id and location_id; regimes must be the target's and yours."""

    object_id: UUID | None = None
    location_id: UUID | None = None
    team_id: TeamId
    regimes: Annotated[list[Regime], Meta(min_length=1, max_length=5)]
    checklist_version_ids: Annotated[list[UUID], Meta(min_length=1, max_length=10)]
    planned_from: date
    planned_to: date
    inspector_ids: InspectorIds
    reason: PlanReason
    partners: Annotated[list[Partner], Meta(max_length=7)] = []
    notes: Notes | None = None

    example: ClassVar[dict[str, Any]] = {
        "object_id": "10000000-0000-4000-8000-000000000001",
        "team_id": "team-centrum",
        "regimes": ["alcohol"],
        "checklist_version_ids": ["20000000-0000-4000-8000-000000000001"],
        "planned_from": "2025-06-02",
        "planned_to": "2025-06-06",
        "inspector_ids": ["30000000-0000-4000-8000-000000000001"],
        "reason": "regular_cycle",
    }


class Reassign(msgspec.Struct, forbid_unknown_fields=True):
    inspector_ids: InspectorIds


class Reschedule(msgspec.Struct, forbid_unknown_fields=True):
    planned_from: date
    planned_to: date


class Cancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: CancelReason


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    object_id: UUID | None
    location_id: UUID | None
    team_id: str
    wijk: str
    regimes: list[Regime]
    checklist_version_ids: list[UUID]
    planned_from: date
    planned_to: date
    inspector_ids: list[UUID]
    reason: PlanReason
    complaint_id: Annotated[
        UUID | None, Meta(description="The complaint this inspection follows up (reason complaint)")
    ]
    partners: list[Partner]
    notes: str | None
    status: AssignmentStatus
    overdue: Annotated[bool, Meta(description="Still planned and its window ended before today (Europe/Amsterdam)")]
    cancel_reason: str | None
    created_by: UUID
    version: int
    created_at: datetime
    updated_at: datetime


class AssignmentPage(Page[Assignment], frozen=True):
    pass


class AssignmentFilters(QueryGroup, frozen=True):
    """ListAssignments' filters."""

    team: Annotated[str | None, QueryParameter(min_length=1, max_length=64)] = None
    status: Annotated[AssignmentStatus | None, QueryParameter()] = None
    overdue: Annotated[
        bool | None,
        QueryParameter(
            description="true: still planned and the window ended before today (Europe/Amsterdam); false: the others"
        ),
    ] = None
    regime: RegimeFilter = None
    wijk: WijkFilter = None
    inspector: Annotated[UUID | None, QueryParameter(description="Assignments of this inspector")] = None
    from_: Annotated[date | None, QueryParameter(name="from", description="Windows ending on or after this date")] = (
        None
    )
    to: Annotated[date | None, QueryParameter(description="Windows starting on or before this date")] = None
