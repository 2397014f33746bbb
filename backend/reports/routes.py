"""HTTP for the performance indicators under /api/v1/reports: JSON, CSV (Accept: text/csv) and PNG charts.

Readers: coordinators (who steer on the figures), admins, auditors and enforcement officers. Inspectors and
complaint handlers work on single records and do not read the municipality's indicators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter

from backend.core.auth import AuthRequest, requires_role
from backend.core.config import Settings
from backend.core.db import Db
from backend.core.query_groups import QueryGroup
from backend.core.routes import list_route
from backend.letters.dutch import long_date
from backend.registry.models import WijkFilter
from backend.reports import charts, export, service
from backend.reports.models import Filters, IndicatorReport, ObjectKind, TrendReport
from backend.users.models import Regime

READERS = ("coordinator", "admin", "auditor", "enforcement_officer")
CSV = "text/csv"
JSON = "application/json"

# service.FIRST_DAY to service.LAST_DAY, as a pattern a client can check (JSON Schema has no date bounds).
REPORTED_DAY = {"pattern": "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"}
FromDate = Annotated[
    date | None,
    QueryParameter(
        name="from",
        description="First day (Europe/Amsterdam, 2000-2100); default 1 January of the year of `to`",
        schema_extra=REPORTED_DAY,
    ),
]
ToDate = Annotated[
    date | None,
    QueryParameter(
        description="Last day, inclusive (2000-2100); default 31 December of the year of `from`, or today",
        schema_extra=REPORTED_DAY,
    ),
]
RegimeFilter = Annotated[Regime | None, QueryParameter(description="Only this regime (one of yours)")]
KindFilter = Annotated[
    ObjectKind | None,
    QueryParameter(description="Only objects of this kind; `location` for addresses that are not registered objects"),
]
TeamFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=64,
        description="Only this team's controls and cases (complaints and objects have no team)",
    ),
]
YearFilter = Annotated[int | None, QueryParameter(ge=2000, le=2100, description="A calendar year instead of from/to")]


class PeriodQuery(QueryGroup, frozen=True):
    """A report's period (service.period_of)."""

    from_: FromDate = None
    to: ToDate = None


class TrendYear(QueryGroup, frozen=True):
    """A trend's year, instead of a period (service.year_period)."""

    year: YearFilter = None


class ReportFilters(QueryGroup, frozen=True):
    """What a report counts: one regime, wijk, kind of object or team."""

    regime: RegimeFilter = None
    wijk: WijkFilter = None
    object_kind: KindFilter = None
    team: TeamFilter = None


class ChartFilters(QueryGroup, frozen=True):
    """ReportFilters without the wijk, for the chart that has a bar per wijk."""

    regime: RegimeFilter = None
    object_kind: KindFilter = None
    team: TeamFilter = None


def _request(period: PeriodQuery, filters: ReportFilters | ChartFilters) -> service.Request:
    """What the service computes: the period and the filters."""
    return service.Request(service.period_of(period.from_, period.to), Filters(**msgspec.structs.asdict(filters)))


def _trend_request(year: TrendYear, period: PeriodQuery, filters: ReportFilters) -> service.Request:
    """What the service computes for a trend: a year or the period, and the filters."""
    span = service.year_period(year.year, period.from_, period.to)
    return service.Request(span, Filters(**msgspec.structs.asdict(filters)))


def _text_schema(description: str, media_type: str, json_schema: Any) -> OpenAPIResponse:
    content = {media_type: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}
    if json_schema is not None:
        content = {JSON: OpenAPIMediaType(schema=json_schema), **content}
    return OpenAPIResponse(description=description, content=content)


@dataclass
class _CsvOrJsonOperation(Operation):
    """200 is JSON, or CSV when the client asks for text/csv."""

    def __post_init__(self) -> None:
        assert self.responses is not None
        ok = self.responses["200"]
        assert isinstance(ok, OpenAPIResponse) and ok.content
        self.responses["200"] = _text_schema(
            "The figures as JSON, or with `Accept: text/csv` as CSV (semicolon-separated, Dutch headers, one row "
            "per figure)",
            CSV,
            ok.content[JSON].schema,
        )


@dataclass
class _PngOperation(Operation):
    def __post_init__(self) -> None:
        assert self.responses is not None
        self.responses["200"] = OpenAPIResponse(
            description="A PNG chart",
            content={
                "image/png": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, content_media_type="image/png"))
            },
        )


def _wants_csv(request: Request[Any, Any, Any]) -> bool:
    return request.accept.best_match([JSON, CSV], default=JSON) == CSV


def _timeout(request: Request[Any, Any, Any]) -> int:
    settings: Settings = request.app.state.settings
    return settings.report_statement_timeout_ms


def _csv(text: str, name: str, period: Any) -> Response[Any]:
    filename = f"{name}-{period.from_.isoformat()}-{period.to.isoformat()}.csv"
    return Response(
        text, media_type=f"{CSV}; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _subtitle(req: service.Request) -> str:
    """The period and filters under a chart's title, as a Dutch reader writes them: "1 januari 2026 t/m 5 december
    2026, Alcoholwet, wijk west"."""
    parts = [f"{long_date(req.period.from_)} t/m {long_date(req.period.to)}"]
    f = req.filters
    if f.regime is not None:
        parts.append(service.REGIME_LABELS.get(f.regime, f.regime))
    parts += [
        f"{name} {value}" for name, value in (("wijk", f.wijk), ("soort", f.object_kind), ("team", f.team)) if value
    ]
    return ", ".join(parts)


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["Reports"]
    guards = [requires_role(*READERS)]

    @list_route(
        "/indicators",
        operation_id="GetIndicators",
        operation_class=_CsvOrJsonOperation,
        summary="Performance indicators for a period, each with its numerator and denominator",
    )
    async def indicators(
        self, request: AuthRequest, db: Db, period: PeriodQuery, filters: ReportFilters
    ) -> Response[IndicatorReport]:
        """Coordinators, admins, auditors and enforcement officers, over the inspections, complaints and sanctions
        of their regimes. The municipality's performance indicators for a period (default: this year so far), each
        with its numerator and denominator, filtered by regime, wijk, object kind and team; `Accept: text/csv` gives
        a spreadsheet. 503 `database_timeout` when the aggregate takes too long."""
        req = _request(period, filters)
        report = await service.indicators(db, request.user, req, timeout_ms=_timeout(request))
        if _wants_csv(request):
            texts = await service.violation_texts(db, request.user)
            return _csv(export.indicators_csv(report, texts), "indicatoren", report.period)
        return Response(report)

    @list_route(
        "/indicators/trend",
        operation_id="GetIndicatorTrend",
        operation_class=_CsvOrJsonOperation,
        summary="The indicators per month over a year (or from/to, at most 36 months)",
    )
    async def trend(
        self,
        request: AuthRequest,
        db: Db,
        year: TrendYear,
        period: PeriodQuery,
        filters: ReportFilters,
    ) -> Response[TrendReport]:
        """Coordinators, admins, auditors and enforcement officers. The indicators per month over a year, or from/to
        (at most 36 months), with the same filters as GetIndicators; `Accept: text/csv` gives a spreadsheet."""
        report = await service.trend(
            db, request.user, _trend_request(year, period, filters), timeout_ms=_timeout(request)
        )
        if _wants_csv(request):
            return _csv(export.trend_csv(report), "indicatoren-per-maand", report.period)
        return Response(report)

    @list_route(
        "/charts/compliance-per-wijk.png",
        operation_id="GetComplianceChart",
        operation_class=_PngOperation,
        summary="Chart: compliance per wijk for a period",
        media_type="image/png",
    )
    async def compliance_chart(
        self, request: AuthRequest, db: Db, period: PeriodQuery, filters: ChartFilters
    ) -> Response[bytes]:
        """Coordinators, admins, auditors and enforcement officers. A PNG bar chart of the compliance per wijk for a
        period, with the same filters as GetIndicators (except wijk)."""
        req = _request(period, filters)
        groups = await service.compliance_per_wijk(db, request.user, req, timeout_ms=_timeout(request))
        return Response(charts.compliance_per_wijk(groups, _subtitle(req)), media_type="image/png")

    @list_route(
        "/charts/trend.png",
        operation_id="GetTrendChart",
        operation_class=_PngOperation,
        summary="Chart: controls and compliance per month",
        media_type="image/png",
    )
    async def trend_chart(
        self,
        request: AuthRequest,
        db: Db,
        year: TrendYear,
        period: PeriodQuery,
        filters: ReportFilters,
    ) -> Response[bytes]:
        """Coordinators, admins, auditors and enforcement officers. A PNG chart of the number of controls and the
        compliance per month, with the same filters as GetIndicatorTrend."""
        req = _trend_request(year, period, filters)
        report = await service.trend(db, request.user, req, timeout_ms=_timeout(request))
        return Response(charts.trend(report.months, _subtitle(req)), media_type="image/png")
