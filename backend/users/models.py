"""API shapes for users and the caller's own identity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.core.tokens import Regime as Regime  # the regimes features import from here
from backend.core.tokens import Role

TeamId = Annotated[str, Meta(min_length=1, max_length=64)]


class Me(msgspec.Struct, frozen=True):
    id: UUID
    subject: str
    display_name: str | None
    roles: list[Role]
    regimes: list[Regime]
    teams: list[str]


class User(msgspec.Struct, frozen=True):
    id: UUID
    issuer: str
    subject: str
    display_name: str | None
    roles: list[Role]
    regimes: list[Regime]
    teams: list[str]
    active: bool
    version: int
    created_at: datetime
    last_seen_at: datetime | None


class UserPage(Page[User], frozen=True):
    pass


class ActivationChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Why an admin (de)activates a user: recorded in the audit trail."""

    reason: Annotated[str, Meta(min_length=3, max_length=1000)]


class UserFilters(QueryGroup, frozen=True):
    """ListUsers' filters."""

    team: Annotated[str | None, QueryParameter(max_length=64, description="Only members of this team")] = None
    role: Annotated[Role | None, QueryParameter(description="Only users with this role")] = None
    active: Annotated[bool | None, QueryParameter(description="Only active (true) or deactivated (false) users")] = None
