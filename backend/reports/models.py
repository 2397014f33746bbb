"""API shapes for the performance indicators. Every figure carries its numerator and denominator; no shape
holds a name, an address or a user id (reports stop at team level)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.registry.models import Kind
from backend.users.models import Regime

# Object kinds of the registry, plus 'location' for inspections of an address that is not a registered object.
ObjectKind = Kind | Literal["location"]


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    numerator: int
    denominator: int
    share: float | None = msgspec.field(default=None)  # numerator / denominator, null when the denominator is 0


class Group(Figure, frozen=True, kw_only=True):
    """One row of a breakdown (a regime, wijk, object kind, sales channel or cycle rule)."""

    key: str
    label: str


class Money(Figure, frozen=True, kw_only=True):
    amount_cents: int


class ViolationFigure(Figure, frozen=True, kw_only=True):
    """Controls that found the code (numerator) among the controls done (denominator), and how many violations."""

    code: str
    article: str
    violations: int


class Period(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    regime: Regime | None = None
    wijk: str | None = None
    object_kind: ObjectKind | None = None
    team: str | None = None


class Controls(msgspec.Struct, frozen=True, kw_only=True):
    done: Figure
    vergunningcontroles: Figure
    following_complaint: Figure
    hercontroles: Figure


class Compliance(msgspec.Struct, frozen=True, kw_only=True):
    overall: Figure
    per_regime: list[Group]
    per_object_kind: list[Group]
    per_wijk: list[Group]


class Nix18(msgspec.Struct, frozen=True, kw_only=True):
    overall: Figure
    per_channel: list[Group]


class Sanctions(msgspec.Struct, frozen=True, kw_only=True):
    warnings: Figure
    fines: Money
    lasten_onder_dwangsom: Figure
    lasten_onder_bestuursdwang: Figure
    forfeited_dwangsommen: Money
    suspensions: Figure
    withdrawals: Figure
    bans_19a: Figure
    closures_13b: Figure


class Median(msgspec.Struct, frozen=True, kw_only=True):
    value: float | None
    count: int  # how many values it is the median of


class Complaints(msgspec.Struct, frozen=True, kw_only=True):
    received: Figure
    followed_by_inspection: Figure
    resolved_within_deadline: Figure
    median_handling_working_days: Median


class Objects(msgspec.Struct, frozen=True, kw_only=True):
    reference_date: date
    verscherpt: Figure
    overdue: Figure
    overdue_per_rule: list[Group]


class IndicatorReport(msgspec.Struct, frozen=True, kw_only=True):
    period: Period
    filters: Filters
    controls: Controls
    compliance: Compliance
    nix18: Nix18 | None
    violations: list[ViolationFigure]
    sanctions: Sanctions | None
    complaints: Complaints | None
    objects: Objects | None
    # Why a section is null (e.g. objects and complaints have no team), one line each.
    not_included: list[str]


class MonthFigures(msgspec.Struct, frozen=True, kw_only=True):
    month: Annotated[str, Meta(description="YYYY-MM", pattern=r"^\d{4}-\d{2}$")]
    controls: Controls
    compliance: Figure
    nix18: Figure | None
    violations: Figure  # controls with at least one violation / controls done
    sanctions: Sanctions | None
    complaints: Complaints | None


class TrendReport(msgspec.Struct, frozen=True, kw_only=True):
    period: Period
    filters: Filters
    months: list[MonthFigures]
    not_included: list[str]
