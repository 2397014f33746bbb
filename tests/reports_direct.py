"""The performance indicators computed directly from the features' own tables, as they were defined before the
reports kept a read model: the oracle the read model is checked against (tests/test_reports_read_model.py) and the
baseline of tests/bench/bench_reports.py. `DIRECT` is a reports.service.Source; pass it as `source=`.

Every statement starts with the period as a range on an indexed time column; `counted` ($3, or $2 for objects)
holds the regimes whose figures count, and a record of sex work only counts for a caller scoped for sex work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backend.core import calendar
from backend.reports import definitions as defs
from backend.reports.definitions import NIX18_COMPLIED_SQL
from backend.reports.models import Period
from backend.reports.queries import _where
from backend.reports.service import Request, Row, _filter_values


def _instants(period: Period) -> tuple[datetime, datetime]:
    """The period as [start, end) instants: midnight in Amsterdam on `from` and on the day after `to`."""
    start = datetime.combine(period.from_, time(), calendar.AMSTERDAM)
    end = datetime.combine(period.to + timedelta(days=1), time(), calendar.AMSTERDAM)
    return start.astimezone(UTC), end.astimezone(UTC)


AMSTERDAM_DAY = "AT TIME ZONE 'Europe/Amsterdam'"


def _month(column: str, by_month: bool) -> str:
    return f"date_trunc('month', {column})::date" if by_month else "NULL::date"


# --- inspections: $1 from, $2 to (timestamptz, to exclusive), $3 counted regimes, $4 sees sex work ----------

_INSPECTION_SCOPE = """i.inspected_at >= $1 AND i.inspected_at < $2 AND i.regimes && $3::text[]
AND ($4::boolean OR NOT ('sexwork' = ANY (i.regimes)))"""
_INSPECTION_FILTERS = {
    "wijk": "i.wijk = {}",
    "object_kind": "coalesce(e.kind, 'location') = {}",
    "team": "i.team_id = {}",
}
_INSPECTION_FROM = """FROM inspection i
LEFT JOIN establishment e ON e.id = i.establishment_id"""

# Per group: inspections of the period in any state, controls done (reviewed), vergunningcontroles, controls
# after a complaint, hercontroles, and controls without a violation in a counted regime's checklist.
_COUNTS = """count(*) AS inspections, count(*) FILTER (WHERE reviewed) AS done,
count(*) FILTER (WHERE reviewed AND permit_check) AS permit,
count(*) FILTER (WHERE reviewed AND reason = $7) AS complaint,
count(*) FILTER (WHERE reviewed AND reason = $8) AS hercontrole,
count(*) FILTER (WHERE reviewed AND NOT violation_regimes && {regimes}) AS compliant"""


def inspection_figures(filters: dict[str, Any], *, by_month: bool, breakdowns: bool) -> tuple[str, list[Any]]:
    """Rows (dimension, key, month, counts): the total, and with `breakdowns` per wijk, object kind and counted
    regime. Fixed parameters after the scope: $5/$6 the templates with permit questions and those questions, $7/$8 the
    complaint and hercontrole reasons."""
    args: list[Any] = []
    where = _where(_INSPECTION_SCOPE, _INSPECTION_FILTERS, filters, args, fixed=8)
    month = _month(f"i.inspected_at {AMSTERDAM_DAY}", by_month)
    counted = "($3::text[] || '{any}'::text[])"
    sql = f"""
WITH base AS MATERIALIZED (
  SELECT i.regimes, i.wijk, {month} AS month, coalesce(e.kind, 'location') AS object_kind,
         i.state = 'reviewed' AS reviewed, a.reason, coalesce(permit.checked, false) AS permit_check,
         CASE WHEN i.state = 'reviewed' THEN ARRAY(
             SELECT DISTINCT c.regime FROM violation v
             JOIN inspection_checklist c ON c.inspection_id = v.inspection_id AND c.position = v.checklist_position
             WHERE v.inspection_id = i.id AND v.withdrawn_at IS NULL) END AS violation_regimes
  {_INSPECTION_FROM}
  LEFT JOIN assignment a ON a.id = i.assignment_id
  -- Per inspection through its own checklists (an index probe each), so a month never reads a year's answers.
  LEFT JOIN LATERAL (
    SELECT true AS checked FROM inspection_checklist c
    JOIN unnest($5::text[], $6::text[]) AS p (template_key, question) ON p.template_key = c.template_key
    WHERE c.inspection_id = i.id AND c.answers ->> p.question IS NOT NULL
    LIMIT 1) permit ON i.state = 'reviewed'
  WHERE {where}
)
SELECT 'total' AS dimension, NULL::text AS key, month, {_COUNTS.format(regimes=counted)} FROM base GROUP BY month"""
    if breakdowns:
        sql += f"""
UNION ALL SELECT 'wijk', wijk, month, {_COUNTS.format(regimes=counted)} FROM base GROUP BY wijk, month
UNION ALL SELECT 'object_kind', object_kind, month, {_COUNTS.format(regimes=counted)} FROM base
  GROUP BY object_kind, month
UNION ALL SELECT 'regime', r, month, {_COUNTS.format(regimes="ARRAY[r, 'any']")} FROM base, unnest(regimes) r
  WHERE r = ANY ($3::text[]) GROUP BY r, month"""
    return sql, args


def nix18_attempts(filters: dict[str, Any], *, by_month: bool) -> tuple[str, list[Any]]:
    """Purchase attempts of reviewed controls per sales channel: (month, channel, attempts, complied).
    $5 the NIX18 template key; `complied` is definitions.NIX18_COMPLIED_SQL."""
    args: list[Any] = []
    where = _where(_INSPECTION_SCOPE, _INSPECTION_FILTERS, filters, args, fixed=5)
    month = _month(f"i.inspected_at {AMSTERDAM_DAY}", by_month)
    return (
        f"""
SELECT {month} AS month, coalesce(c.answers ->> 'NX-01', 'onbekend') AS channel, count(*) AS attempts,
       count(*) FILTER (WHERE {NIX18_COMPLIED_SQL}) AS complied
{_INSPECTION_FROM}
JOIN inspection_checklist c ON c.inspection_id = i.id AND c.template_key = $5
WHERE i.state = 'reviewed' AND {where}
GROUP BY 1, 2""",
        args,
    )


def violations_per_code(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """Active violations of reviewed controls from checklists of a counted regime (or a regime-less add-on):
    (code, article of the latest one, violations, controls)."""
    args: list[Any] = []
    where = _where(_INSPECTION_SCOPE, _INSPECTION_FILTERS, filters, args, fixed=4)
    return (
        f"""
SELECT v.code, (array_agg(v.article ORDER BY v.observed_on DESC, v.article))[1] AS article, count(*) AS violations,
       count(DISTINCT v.inspection_id) AS controls
{_INSPECTION_FROM}
JOIN violation v ON v.inspection_id = i.id AND v.withdrawn_at IS NULL
JOIN inspection_checklist c ON c.inspection_id = v.inspection_id AND c.position = v.checklist_position
WHERE i.state = 'reviewed' AND (c.regime = ANY ($3::text[]) OR c.regime = 'any') AND {where}
GROUP BY v.code
ORDER BY controls DESC, violations DESC, v.code""",
        args,
    )


# --- enforcement: $1 from, $2 to (dates, inclusive), $3 counted regimes, $4 sees sex work ---------------------

_CASE_FILTERS = {
    "wijk": "k.wijk = {}",
    "object_kind": "coalesce(e.kind, 'location') = {}",
    "team": "k.team_id = {}",
}
# A warning or decision counts on the day it was sent; a hercontrole's outcome on the day it was observed.
_STEP_DAY = "CASE WHEN s.type = 'hercontrole' THEN coalesce(s.observed_on, s.updated_at::date) ELSE s.sent_on END"
_STEP_SCOPE = f"""((s.type IN ('warning', 'besluit') AND s.sent_on BETWEEN $1 AND $2 AND s.withdrawn_on IS NULL)
    OR (s.type = 'hercontrole' AND s.status IN ('complied', 'forfeited') AND {_STEP_DAY} BETWEEN $1 AND $2))
AND k.regime = ANY ($3::text[]) AND ($4::boolean OR NOT ('sexwork' = ANY (coalesce(e.regimes, l.regimes))))"""


def sanctions(filters: dict[str, Any], decisions: list[str], *, by_month: bool) -> tuple[str, list[Any]]:
    """Counts and sums of sent sanctions per month: (month, sent, warnings, <decision>, <decision>_cents...,
    hercontroles, forfeited, forfeited_cents). `decisions` are fixed names from definitions.DECISIONS."""
    args: list[Any] = []
    where = _where(_STEP_SCOPE, _CASE_FILTERS, filters, args, fixed=4)
    per_decision = ",\n".join(
        f"count(*) FILTER (WHERE s.type = 'besluit' AND s.decision = '{name}') AS {name},\n"
        f"coalesce(sum(s.amount_cents) FILTER (WHERE s.type = 'besluit' AND s.decision = '{name}'), 0)::bigint"
        f" AS {name}_cents"
        for name in decisions
    )
    return (
        f"""
SELECT {_month(_STEP_DAY, by_month)} AS month,
       count(*) FILTER (WHERE s.type IN ('warning', 'besluit')) AS sent,
       count(*) FILTER (WHERE s.type = 'warning') AS warnings,
       {per_decision},
       count(*) FILTER (WHERE s.type = 'hercontrole') AS hercontroles,
       count(*) FILTER (WHERE s.type = 'hercontrole' AND s.status = 'forfeited') AS forfeited,
       coalesce(sum(s.forfeited_cents) FILTER (WHERE s.type = 'hercontrole' AND s.status = 'forfeited'), 0)::bigint
         AS forfeited_cents
FROM enforcement_step s
JOIN enforcement_case k ON k.id = s.case_id
LEFT JOIN establishment e ON e.id = k.establishment_id
LEFT JOIN location l ON l.id = k.location_id
WHERE {where}
GROUP BY 1""",
        args,
    )


# --- complaints: $1 from, $2 to (timestamptz, to exclusive), $3 counted regimes, $4 whether regime-less
# complaints count (no regime filter), $5 today ----------------------------------------------------------------

_COMPLAINT_SCOPE = """c.received_at >= $1 AND c.received_at < $2
AND (c.regime = ANY ($3::text[]) OR (c.regime IS NULL AND $4::boolean))"""
_COMPLAINT_FILTERS = {"object_kind": "coalesce(e.kind, 'location') = {}"}
_COMPLAINT_FROM = "FROM complaint c LEFT JOIN establishment e ON e.id = c.establishment_id"


def complaint_figures(filters: dict[str, Any], *, by_month: bool) -> tuple[str, list[Any]]:
    """(month, all_wijken, received, followed, resolved_in_time, due): `received` and the rest within the wijk
    filter, `all_wijken` without it."""
    args: list[Any] = []
    where = _where(_COMPLAINT_SCOPE, _COMPLAINT_FILTERS, filters, args, fixed=5)
    in_wijk = "true"
    if filters.get("wijk") is not None:
        args.append(filters["wijk"])
        in_wijk = f"c.wijk = ${5 + len(args)}"
    return (
        f"""
SELECT {_month(f"c.received_at {AMSTERDAM_DAY}", by_month)} AS month, count(*) AS all_wijken,
       count(*) FILTER (WHERE {in_wijk}) AS received,
       count(*) FILTER (WHERE {in_wijk} AND EXISTS (
           SELECT 1 FROM assignment a JOIN inspection i ON i.assignment_id = a.id WHERE a.complaint_id = c.id))
         AS followed,
       count(*) FILTER (WHERE {in_wijk} AND c.state = 'resolved'
                        AND (c.closed_at {AMSTERDAM_DAY})::date <= c.resolution_due_on) AS resolved_in_time,
       count(*) FILTER (WHERE {in_wijk} AND (c.state = 'resolved'
                        OR (c.state NOT IN ('resolved', 'rejected') AND c.resolution_due_on < $5))) AS due
{_COMPLAINT_FROM}
WHERE {where}
GROUP BY 1""",
        args,
    )


def complaint_handling_days(filters: dict[str, Any], *, by_month: bool) -> tuple[str, list[Any]]:
    """Resolved complaints of the period as (month, received_on, closed_on, n): few distinct pairs, whose working
    days the calendar counts."""
    args: list[Any] = []
    where = _where(_COMPLAINT_SCOPE, _COMPLAINT_FILTERS, filters, args, fixed=5)
    if filters.get("wijk") is not None:
        args.append(filters["wijk"])
        where += f" AND c.wijk = ${5 + len(args)}"
    return (
        f"""
SELECT {_month(f"c.received_at {AMSTERDAM_DAY}", by_month)} AS month,
       (c.received_at {AMSTERDAM_DAY})::date AS received_on, (c.closed_at {AMSTERDAM_DAY})::date AS closed_on,
       count(*) AS n
{_COMPLAINT_FROM}
WHERE c.state = 'resolved' AND c.closed_at IS NOT NULL AND $5::date IS NOT NULL AND {where}
GROUP BY 1, 2, 3""",
        args,
    )


# --- objects: $1 reference date, $2 counted regimes, $3 sees sex work, $4-$8 the cycle rules ------------------

_OBJECT_FILTERS = {"wijk": "e.wijk = {}", "object_kind": "e.kind = {}"}
_END_OF_REFERENCE_DAY = f"(($1::date + 1)::timestamp {AMSTERDAM_DAY})"


def object_figures(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """Per cycle rule (NULL: none applies): (rule, objects, verscherpt, overdue) over the active objects
    registered by the reference date. The last control is the latest reviewed one up to that date."""
    args: list[Any] = []
    base = f"""e.status = 'active' AND e.created_at < {_END_OF_REFERENCE_DAY} AND e.regimes && $2::text[]
AND ($3::boolean OR NOT ('sexwork' = ANY (e.regimes)))"""
    where = _where(base, _OBJECT_FILTERS, filters, args, fixed=8)
    return (
        f"""
WITH rules AS (
  SELECT * FROM unnest($4::int[], $5::text[], $6::int[], $7::text[], $8::text[])
    AS r(priority, key, months, level, kind)
), objects AS (
  SELECT e.supervision_level, rule.key AS rule, rule.months,
         coalesce((SELECT (max(i.inspected_at) {AMSTERDAM_DAY})::date FROM inspection i
                   WHERE i.establishment_id = e.id AND i.state = 'reviewed'
                     AND i.inspected_at < {_END_OF_REFERENCE_DAY}),
                  (e.created_at {AMSTERDAM_DAY})::date) AS last_on
  FROM establishment e
  LEFT JOIN LATERAL (
    SELECT r.key, r.months FROM rules r
    WHERE (r.level IS NULL OR r.level = e.supervision_level) AND (r.kind IS NULL OR r.kind = e.kind)
    ORDER BY r.priority LIMIT 1) rule ON true
  WHERE {where}
)
SELECT rule, count(*) AS objects, count(*) FILTER (WHERE supervision_level = 'verscherpt') AS verscherpt,
       count(*) FILTER (WHERE rule IS NOT NULL AND last_on < ($1::date - make_interval(months => months))::date)
         AS overdue
FROM objects GROUP BY rule""",
        args,
    )


WIJKEN = "SELECT code, name FROM wijk ORDER BY name"


class Direct:
    """reports.service.Source on the features' tables."""

    async def inspection_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool, breakdowns: bool
    ) -> list[Row]:
        sql, filter_args = inspection_figures(_filter_values(req), by_month=by_month, breakdowns=breakdowns)
        templates, questions = defs.permit_questions()
        fixed = (templates, questions, defs.REASON_COMPLAINT, defs.REASON_HERCONTROLE)
        return list(await conn.fetch(sql, *_instants(req.period), counted, sexwork, *fixed, *filter_args))

    async def nix18_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]:
        sql, filter_args = nix18_attempts(_filter_values(req), by_month=by_month)
        return list(await conn.fetch(sql, *_instants(req.period), counted, sexwork, defs.NIX18_TEMPLATE, *filter_args))

    async def violation_rows(self, conn: Any, req: Request, counted: list[str], sexwork: bool) -> list[Row]:
        sql, filter_args = violations_per_code(_filter_values(req))
        return list(await conn.fetch(sql, *_instants(req.period), counted, sexwork, *filter_args))

    async def sanction_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, *, by_month: bool
    ) -> list[Row]:
        sql, filter_args = sanctions(_filter_values(req), list(defs.DECISIONS), by_month=by_month)
        return list(await conn.fetch(sql, req.period.from_, req.period.to, counted, sexwork, *filter_args))

    async def complaint_rows(
        self, conn: Any, req: Request, counted: list[str], *, by_month: bool
    ) -> tuple[list[Row], list[Row]]:
        values = _filter_values(req)
        fixed = (*_instants(req.period), counted, req.filters.regime is None, calendar.today())
        sql, filter_args = complaint_figures(values, by_month=by_month)
        figures = list(await conn.fetch(sql, *fixed, *filter_args))
        sql, filter_args = complaint_handling_days(values, by_month=by_month)
        return figures, list(await conn.fetch(sql, *fixed, *filter_args))

    async def object_rows(
        self, conn: Any, req: Request, counted: list[str], sexwork: bool, reference: date
    ) -> list[Row]:
        sql, filter_args = object_figures(_filter_values(req))
        return list(await conn.fetch(sql, reference, counted, sexwork, *defs.cycle_rule_arrays(), *filter_args))

    async def wijk_names(self, conn: Any) -> dict[str, str]:
        return {row["code"]: row["name"] for row in await conn.fetch(WIJKEN)}


DIRECT = Direct()
