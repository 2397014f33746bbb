"""Performance indicators (prestatie-indicatoren) per period, regime, wijk, object kind and team.

The figures come from the reports' own read model (facts.py keeps it from domain events; queries.py sums its
per-day counts), read inside one read-only REPEATABLE READ transaction so every figure of a report comes from the
same snapshot; what the registry knows of objects and wijken comes through its service. A `Source` gives the
rows the figures are made of: `READ_MODEL` here, and tests compute the same rows directly from the features'
tables to prove both agree. Only counts and sums leave it: no names, addresses or user ids; teams are the finest
unit.

Who may read (routes.READERS): coordinators, admins, auditors and enforcement officers. Regime scope applies as
everywhere: only records of the caller's regimes count, sex-work records only for callers scoped for sex work,
and a filter on a regime outside the caller's scope is refused (403 regime_not_in_scope).

Every figure has its numerator and denominator; the README section "Performance indicators" defines each.
"""

from __future__ import annotations

import contextlib
import re
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import asyncpg

from backend.checklists import service as checklists
from backend.checklists.validator import iter_items
from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import BadRequest, FieldError, Forbidden, Unprocessable
from backend.registry import service as registry
from backend.reports import definitions as defs
from backend.reports import queries
from backend.reports.models import (
    Complaints,
    Compliance,
    Controls,
    Figure,
    Filters,
    Group,
    IndicatorReport,
    Median,
    Money,
    MonthFigures,
    Nix18,
    Objects,
    Period,
    Sanctions,
    TrendReport,
    ViolationFigure,
)

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_TREND_MONTHS = 36
REGIME_LABELS = {
    "alcohol": "Alcoholwet",
    "nix18": "NIX18 leeftijdscontrole",
    "coffeeshop": "Coffeeshops",
    "sexwork": "Seksbranche",
    "gambling": "Kansspelen",
}
_NO_TEAM = "{what}: not cut by team ({why}), so left out when a team is given"


@dataclass(frozen=True)
class Request:
    """What the caller asked: the period (inclusive dates, Europe/Amsterdam) and the filters."""

    period: Period
    filters: Filters


def share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def figure(numerator: int, denominator: int) -> Figure:
    return Figure(numerator=numerator, denominator=denominator, share=share(numerator, denominator))


def group(key: str, label: str, numerator: int, denominator: int) -> Group:
    return Group(
        key=key, label=label, numerator=numerator, denominator=denominator, share=share(numerator, denominator)
    )


# --- the request --------------------------------------------------------------------------------------------


def _bounded(day: date, name: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Unprocessable(
            "The request has invalid fields.",
            errors=[FieldError(detail=f"must be between {FIRST_DAY} and {LAST_DAY}", parameter=name)],
        )
    return day


def period_of(from_: date | None, to: date | None) -> Period:
    """The period asked; without `from` it starts on 1 January of the year of `to`, without `to` it ends on
    31 December of the year of `from`, and without both it is this year up to today."""
    if from_ is not None:
        _bounded(from_, "from")
    if to is not None:
        _bounded(to, "to")
    if from_ is None and to is None:
        to = calendar.today()
    if from_ is None:
        assert to is not None
        from_ = date(to.year, 1, 1)
    if to is None:
        to = date(from_.year, 12, 31)
    calendar.ensure_in_order(from_, to)
    return Period(from_=from_, to=to)


def year_period(year: int | None, from_: date | None, to: date | None) -> Period:
    """The trend's period: a calendar year, or from/to (at most MAX_TREND_MONTHS months)."""
    if year is not None:
        if from_ is not None or to is not None:
            raise BadRequest("Give either `year` or `from`/`to`, not both.", code="year_and_dates")
        return Period(from_=date(year, 1, 1), to=date(year, 12, 31))
    period = period_of(from_, to)
    if len(months_of(period)) > MAX_TREND_MONTHS:
        raise Unprocessable(
            "The request has invalid fields.",
            errors=[FieldError(detail=f"a trend spans at most {MAX_TREND_MONTHS} months", parameter="to")],
        )
    return period


def months_of(period: Period) -> list[date]:
    months, month = [], period.from_.replace(day=1)
    while month <= period.to:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _counted(principal: Principal, regime: str | None) -> list[str]:
    """The regimes whose records count: the one filtered on (which must be in scope), or the caller's."""
    if regime is not None:
        if not principal.sees_regime(regime):
            raise Forbidden("You are not scoped for this regime.", code="regime_not_in_scope")
        return [regime]
    return sorted(principal.regimes)


class _PatientConnection:
    """The report's connection, which waits for a statement as long as the report's statement_timeout allows
    (and a little more, so the server's own limit fires first): the pool's client-side limit
    (TOEZICHT_DB_QUERY_TIMEOUT_S) is sized for ordinary requests."""

    def __init__(self, conn: asyncpg.Connection, timeout_ms: int) -> None:
        self._conn = conn
        self._timeout_s = timeout_ms / 1000 + 5

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._conn.fetch(query, *args, timeout=self._timeout_s)
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@contextlib.asynccontextmanager
async def _snapshot(conn: asyncpg.Connection, timeout_ms: int) -> AsyncIterator[Any]:
    """One read-only snapshot for every statement of a report; yields the connection to run them on."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Plans for the period actually asked: a cached generic plan would read a month as if it were a decade.
        # One round trip for both settings: on a busy machine each one waits for the CPU.
        await conn.execute(
            f"SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL statement_timeout = {int(timeout_ms)}"
        )
        yield _PatientConnection(conn, timeout_ms)


# --- where the rows come from --------------------------------------------------------------------------------

Row = Mapping[str, Any]


class Source(Protocol):
    """The rows each group of figures is made of (queries.py documents their columns); `month` is None when not
    `by_month`."""

    async def inspection_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool, breakdowns: bool
    ) -> list[Row]: ...

    async def nix18_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]: ...

    async def violation_rows(self, conn: Any, req: Request, counted: list[str], sexwork: bool) -> list[Row]: ...

    async def sanction_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]: ...

    async def complaint_rows(
        self, conn: Any, req: Request, counted: list[str], *, by_month: bool
    ) -> tuple[list[Row], list[Row]]:
        """The figures per month, and the resolved complaints' (month, received_on, closed_on, n)."""
        ...

    async def object_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, reference: date
    ) -> list[Row]:
        """Per cycle rule (None: none applies): (rule, objects, verscherpt, overdue) as of `reference`."""
        ...

    async def wijk_names(self, conn: Any) -> dict[str, str]: ...


class ReadModel:
    """The rows from the reports' read model."""

    async def inspection_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool, breakdowns: bool
    ) -> list[Row]:
        sql, filter_args = queries.inspection_figures(_filter_values(req), by_month=by_month, breakdowns=breakdowns)
        return list(await conn.fetch(sql, *_days(req), counted, sexwork, *whole_months(req.period), *filter_args))

    async def nix18_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]:
        sql, filter_args = queries.nix18_attempts(_filter_values(req), by_month=by_month)
        return list(await conn.fetch(sql, *_days(req), counted, sexwork, *whole_months(req.period), *filter_args))

    async def violation_rows(self, conn: Any, req: Request, counted: list[str], sexwork: bool) -> list[Row]:
        sql, filter_args = queries.violations_per_code(_filter_values(req))
        return list(await conn.fetch(sql, *_days(req), counted, sexwork, *whole_months(req.period), *filter_args))

    async def sanction_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]:
        sql, filter_args = queries.sanctions(_filter_values(req), list(defs.DECISIONS), by_month=by_month)
        return list(await conn.fetch(sql, *_days(req), counted, sexwork, *filter_args))

    async def complaint_rows(
        self, conn: Any, req: Request, counted: list[str], *, by_month: bool
    ) -> tuple[list[Row], list[Row]]:
        sql, filter_args = queries.complaint_figures(_filter_values(req))
        rows = await conn.fetch(sql, *_days(req), counted, req.filters.regime is None, calendar.today(), *filter_args)
        figures: dict[date | None, dict[str, Any]] = {}
        handled: list[Row] = []
        for row in rows:
            key = row["received_on"].replace(day=1) if by_month else None
            month = figures.setdefault(key, {"month": key} | dict.fromkeys(_COMPLAINT_COUNTS, 0))
            for name in _COMPLAINT_COUNTS:
                month[name] += row[name]
            if row["handled"]:
                handled.append(
                    {
                        "month": key,
                        "received_on": row["received_on"],
                        "closed_on": row["closed_on"],
                        "n": row["handled"],
                    }
                )
        return list(figures.values()), handled

    async def object_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, reference: date
    ) -> list[Row]:
        end_of_reference = datetime.combine(reference + timedelta(days=1), time(), calendar.AMSTERDAM)
        objects, registry_args = registry.supervised_objects(
            counted, sexwork, before=end_of_reference, wijk=req.filters.wijk, kind=req.filters.object_kind
        )
        sql = queries.object_figures(objects, len(registry_args))
        return list(await conn.fetch(sql, *registry_args, reference, *defs.cycle_rule_arrays()))

    async def wijk_names(self, conn: Any) -> dict[str, str]:
        return await registry.wijk_names(conn)


READ_MODEL = ReadModel()
_COMPLAINT_COUNTS = ("all_wijken", "received", "followed", "resolved_in_time", "due")


def _days(req: Request) -> tuple[date, date]:
    return req.period.from_, req.period.to


def whole_months(period: Period) -> tuple[date, date]:
    """The first and the last day of the calendar months the period covers entirely, which the counts read per
    month; without such a month, a range that holds no month and leaves the period's days to the day counts
    (queries._counts)."""
    first = period.from_ if period.from_.day == 1 else (period.from_.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = period.to if (period.to + timedelta(days=1)).day == 1 else period.to.replace(day=1) - timedelta(days=1)
    if first > last:
        return period.to + timedelta(days=1), period.to
    return first, last


# --- the figures, per month (None: the whole period) ---------------------------------------------------------


@dataclass
class InspectionCounts:
    inspections: int = 0
    done: int = 0
    permit: int = 0
    complaint: int = 0
    hercontrole: int = 0
    compliant: int = 0

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> InspectionCounts:
        return cls(
            row["inspections"], row["done"], row["permit"], row["complaint"], row["hercontrole"], row["compliant"]
        )

    def controls(self) -> Controls:
        return Controls(
            done=figure(self.done, self.inspections),
            vergunningcontroles=figure(self.permit, self.done),
            following_complaint=figure(self.complaint, self.done),
            hercontroles=figure(self.hercontrole, self.done),
        )


async def _inspection_rows(
    source: Source,
    conn: Any,
    req: Request,
    counted: list[str],
    sexwork: bool,
    *,
    by_month: bool,
    breakdowns: bool,
) -> dict[tuple[str, str | None, date | None], InspectionCounts]:
    rows = await source.inspection_rows(conn, req, counted, sexwork, by_month=by_month, breakdowns=breakdowns)
    return {(row["dimension"], row["key"], row["month"]): InspectionCounts.of(row) for row in rows}


async def _nix18_rows(
    source: Source, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
) -> dict[date | None, dict[str, tuple[int, int]]] | None:
    """Per month: channel -> (complied, attempts); None when NIX18 is not among the counted regimes."""
    if defs.NIX18_REGIME not in counted:
        return None
    rows = await source.nix18_rows(conn, req, counted, sexwork, by_month=by_month)
    result: dict[date | None, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        result[row["month"]][row["channel"]] = (row["complied"], row["attempts"])
    return result


async def _sanction_rows(
    source: Source, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
) -> dict[date | None, Sanctions]:
    rows = await source.sanction_rows(conn, req, counted, sexwork, by_month=by_month)
    return {row["month"]: _sanctions(row) for row in rows}


def _sanctions(row: Any) -> Sanctions:
    sent = row["sent"]
    fields: dict[str, Any] = {"warnings": figure(row["warnings"], sent)}
    for decision, name in defs.DECISIONS.items():
        fields[name] = figure(row[decision], sent)
    fields["fines"] = Money(
        numerator=row["boete"], denominator=sent, share=share(row["boete"], sent), amount_cents=row["boete_cents"]
    )
    fields["forfeited_dwangsommen"] = Money(
        numerator=row["forfeited"],
        denominator=row["hercontroles"],
        share=share(row["forfeited"], row["hercontroles"]),
        amount_cents=row["forfeited_cents"],
    )
    return Sanctions(**fields)


_NO_SANCTIONS = {
    "sent": 0,
    "warnings": 0,
    "hercontroles": 0,
    "forfeited": 0,
    "forfeited_cents": 0,
    **dict.fromkeys(defs.DECISIONS, 0),
    **{f"{d}_cents": 0 for d in defs.DECISIONS},
}


async def _complaint_rows(
    source: Source, conn: Any, req: Request, counted: list[str], *, by_month: bool
) -> dict[date | None, Complaints]:
    figures, handled = await source.complaint_rows(conn, req, counted, by_month=by_month)
    rows = {row["month"]: row for row in figures}
    days: dict[date | None, list[tuple[int, int]]] = defaultdict(list)
    for row in handled:
        days[row["month"]].append((calendar.working_days_between(row["received_on"], row["closed_on"]), row["n"]))
    return {month: _complaints(rows.get(month), days.get(month, [])) for month in set(rows) | set(days)}


def _complaints(row: Any, days: list[tuple[int, int]]) -> Complaints:
    row = row or defaultdict(int)
    received = row["received"]
    return Complaints(
        received=figure(received, row["all_wijken"]),
        followed_by_inspection=figure(row["followed"], received),
        resolved_within_deadline=figure(row["resolved_in_time"], row["due"]),
        median_handling_working_days=weighted_median(days),
    )


def weighted_median(values: list[tuple[int, int]]) -> Median:
    """The median of values given as (value, how often); the mean of the middle two for an even count."""
    count = sum(n for _, n in values)
    if not count:
        return Median(value=None, count=0)
    ordered = sorted(values)
    middle = [(count - 1) // 2, count // 2]
    picked: list[int] = []
    seen = 0
    for value, n in ordered:
        picked.extend(value for position in middle if seen <= position < seen + n)
        seen += n
    return Median(value=float(statistics.fmean(picked)), count=count)


async def _objects(source: Source, conn: Any, req: Request, counted: list[str], sexwork: bool) -> Objects:
    """As of the end of the period (or today when that is later): objects under verscherpt toezicht and objects
    overdue for their cycle."""
    reference = min(req.period.to, calendar.today())
    rows = await source.object_rows(conn, req, counted, sexwork, reference)
    by_rule = {row["rule"]: row for row in rows}
    objects = sum(row["objects"] for row in rows)
    per_rule = [
        group(
            rule.key,
            rule.label,
            by_rule[rule.key]["overdue"] if rule.key in by_rule else 0,
            by_rule[rule.key]["objects"] if rule.key in by_rule else 0,
        )
        for rule in defs.CYCLE_RULES
    ]
    return Objects(
        reference_date=reference,
        verscherpt=figure(sum(row["verscherpt"] for row in rows), objects),
        overdue=figure(sum(g.numerator for g in per_rule), sum(g.denominator for g in per_rule)),
        overdue_per_rule=per_rule,
    )


def _filter_values(req: Request) -> dict[str, Any]:
    f = req.filters
    return {"wijk": f.wijk, "object_kind": f.object_kind, "team": f.team}


async def _check(conn: asyncpg.Connection, principal: Principal, req: Request) -> tuple[list[str], bool]:
    await registry.ensure_known_wijk_filter(conn, req.filters.wijk)
    return _counted(principal, req.filters.regime), principal.sees_regime("sexwork")


def _left_out(req: Request, counted: list[str]) -> list[str]:
    notes = []
    if defs.NIX18_REGIME not in counted:
        notes.append("nix18: the NIX18 regime is not among the regimes counted (your scope or the regime filter)")
    if req.filters.team is not None:
        notes.append(_NO_TEAM.format(what="complaints", why="a complaint belongs to no team"))
        notes.append(_NO_TEAM.format(what="objects", why="the registry has no teams"))
    return notes


# --- the reports ---------------------------------------------------------------------------------------------


async def indicators(
    conn: asyncpg.Connection, principal: Principal, req: Request, *, timeout_ms: int, source: Source = READ_MODEL
) -> IndicatorReport:
    counted, sexwork = await _check(conn, principal, req)
    async with _snapshot(conn, timeout_ms) as conn:
        wijken = await source.wijk_names(conn)
        rows = await _inspection_rows(source, conn, req, counted, sexwork, by_month=False, breakdowns=True)
        nix18 = await _nix18_rows(source, conn, req, counted, sexwork, by_month=False)
        violation_rows = await source.violation_rows(conn, req, counted, sexwork)
        sanctions = (await _sanction_rows(source, conn, req, counted, sexwork, by_month=False)).get(None)
        team_given = req.filters.team is not None
        complaints = (
            None if team_given else (await _complaint_rows(source, conn, req, counted, by_month=False)).get(None)
        )
        objects = None if team_given else await _objects(source, conn, req, counted, sexwork)
    total = rows.get(("total", None, None), InspectionCounts())
    return IndicatorReport(
        period=req.period,
        filters=req.filters,
        controls=total.controls(),
        compliance=_compliance(rows, total, counted, wijken),
        nix18=None if nix18 is None else _nix18(nix18.get(None, {})),
        violations=[_violation(row, total.done) for row in violation_rows],
        sanctions=sanctions or _sanctions(_NO_SANCTIONS),
        complaints=None if team_given else complaints or _complaints(None, []),
        objects=objects,
        not_included=_left_out(req, counted),
    )


def _compliance(
    rows: dict[tuple[str, str | None, date | None], InspectionCounts],
    total: InspectionCounts,
    counted: list[str],
    wijken: dict[str, str],
) -> Compliance:
    def breakdown(dimension: str, label: Any) -> list[Group]:
        found = sorted((key, counts) for (dim, key, _), counts in rows.items() if dim == dimension and key is not None)
        return [group(key, label(key), c.compliant, c.done) for key, c in found if c.done]

    return Compliance(
        overall=figure(total.compliant, total.done),
        per_regime=[g for g in breakdown("regime", lambda k: REGIME_LABELS.get(k, k)) if g.key in counted],
        per_object_kind=breakdown("object_kind", _kind_label),
        per_wijk=breakdown("wijk", lambda k: wijken.get(k, k)),
    )


def _kind_label(kind: str) -> str:
    if kind == defs.LOCATION_KIND:
        return "Locatie zonder geregistreerd object"
    return kind.replace("_", " ").capitalize()


def _nix18(channels: dict[str, tuple[int, int]]) -> Nix18:
    complied = sum(c for c, _ in channels.values())
    attempts = sum(a for _, a in channels.values())
    return Nix18(
        overall=figure(complied, attempts),
        per_channel=[group(key, key.capitalize(), c, a) for key, (c, a) in sorted(channels.items())],
    )


UNKNOWN_ARTICLE = "artikel onbekend"  # how checklists mark an article still to be looked up
_LETTERS = re.compile(r"[a-z]{1,2}(?:(?:, | en )[a-z]{1,2})*")  # onderdelen: "b", "a en b"


def article_text(article: Any) -> str:
    """{"law": "Alcoholwet", "article": "20", "lid": "1"} as "Alcoholwet art. 20 lid 1" (and "onder a" for a
    `sub`); an article still to be looked up as "Wet, artikel onbekend (VERIFY)"."""
    if not isinstance(article, dict):
        return ""
    law, number = article.get("law", ""), article.get("article", "")
    if number.startswith(UNKNOWN_ARTICLE):
        return f"{law}, {number}"
    text = f"{law} art. {number}".strip()
    if article.get("lid"):
        text += f" lid {article['lid']}"
    sub = article.get("sub")
    if sub:
        text += f" onder {sub}" if _LETTERS.fullmatch(sub) else f", {sub}"  # "onder a", ", tweede volzin"
    return text


@dataclass(frozen=True)
class ViolationText:
    description: str  # Dutch, from the checklist
    article: str
    finding: str  # the sentence a letter states it with: the rule's `finding`, else its description


async def violation_texts(conn: asyncpg.Connection, principal: Principal) -> dict[str, ViolationText]:
    """Per violation code, its description, article and letter sentence as the current checklists the caller sees
    state them: the violation's own description (else its question), the article as corrected since, and the
    sentence for letters (else the description). A code in several templates takes the first template by key."""
    current, _ = await checklists.list_current(conn, principal)
    versions = await checklists.get_versions(conn, principal, [item.id for item in current.items])
    texts: dict[str, ViolationText] = {}
    for version in sorted(versions, key=lambda v: v.key):
        for _, item in iter_items(version.content):
            for rule in item.get("violations", ()):
                description = rule.get("description") or item["question"]
                texts.setdefault(
                    rule["code"],
                    ViolationText(
                        description=description,
                        article=article_text(rule["article"]),
                        finding=rule.get("finding") or description,
                    ),
                )
    return texts


def _violation(row: Row, done: int) -> ViolationFigure:
    return ViolationFigure(
        code=row["code"],
        article=article_text(row["article"]),
        violations=row["violations"],
        numerator=row["controls"],
        denominator=done,
        share=share(row["controls"], done),
    )


async def trend(
    conn: asyncpg.Connection, principal: Principal, req: Request, *, timeout_ms: int, source: Source = READ_MODEL
) -> TrendReport:
    counted, sexwork = await _check(conn, principal, req)
    team_given = req.filters.team is not None
    async with _snapshot(conn, timeout_ms) as conn:
        rows = await _inspection_rows(source, conn, req, counted, sexwork, by_month=True, breakdowns=False)
        nix18 = await _nix18_rows(source, conn, req, counted, sexwork, by_month=True)
        sanctions = await _sanction_rows(source, conn, req, counted, sexwork, by_month=True)
        complaints = {} if team_given else await _complaint_rows(source, conn, req, counted, by_month=True)
    months = []
    for month in months_of(req.period):
        counts = rows.get(("total", None, month), InspectionCounts())
        months.append(
            MonthFigures(
                month=month.strftime("%Y-%m"),
                controls=counts.controls(),
                compliance=figure(counts.compliant, counts.done),
                nix18=None if nix18 is None else _nix18(nix18.get(month, {})).overall,
                violations=figure(counts.done - counts.compliant, counts.done),
                sanctions=sanctions.get(month) or _sanctions(_NO_SANCTIONS),
                complaints=None if team_given else complaints.get(month) or _complaints(None, []),
            )
        )
    return TrendReport(period=req.period, filters=req.filters, months=months, not_included=_left_out(req, counted))


async def compliance_per_wijk(
    conn: asyncpg.Connection, principal: Principal, req: Request, *, timeout_ms: int, source: Source = READ_MODEL
) -> list[Group]:
    """Compliance of every wijk (those without controls too, with 0/0), for the chart."""
    counted, sexwork = await _check(conn, principal, req)
    async with _snapshot(conn, timeout_ms) as conn:
        wijken = await source.wijk_names(conn)
        rows = await _inspection_rows(source, conn, req, counted, sexwork, by_month=False, breakdowns=True)
    result = []
    for code, name in wijken.items():
        counts = rows.get(("wijk", code, None), InspectionCounts())
        result.append(group(code, name, counts.compliant, counts.done))
    return result
