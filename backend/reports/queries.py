"""SQL for the performance indicators, on the reports' own read model (migrations/0070_reports_read_model.sql and
0071_reports_monthly_counts.sql): facts written by the reactions in backend/reports/facts.py, and per-day and
per-month counts the triggers keep from them. No other feature's table is named here; what the registry knows of
objects and wijken comes through its service.

Every statement starts with the period as a range on an indexed day (or month) column, so its cost follows the
period asked: the counts of a year are its twelve months' rows (and the days of a month it covers only in part),
whatever the number of inspections. Every value is a bind parameter; a statement is assembled from fixed
fragments, one per filter the caller gives.

Regime scope: `counted` ($3) holds the regimes whose figures count: the caller's regimes, or the one regime they
filter on. A record counts when its regimes share one with `counted`, and a record of sex work (or about a
sex-work object) only when the caller is scoped for sex work ($4).
"""

from __future__ import annotations

from typing import Any


def _where(base: str, fragments: dict[str, str], filters: dict[str, Any], args: list[Any], *, fixed: int) -> str:
    """`base` and one fragment per given filter (`{}` is its parameter), appending the values to `args`; the
    statement's `fixed` parameters come first, so the filters' are numbered after them."""
    conditions = [base]
    for name, value in filters.items():
        if value is not None and name in fragments:
            args.append(value)
            conditions.append(fragments[name].format(f"${fixed + len(args)}"))
    return " AND ".join(f"({condition})" for condition in conditions)


# --- inspections: $1 from, $2 to (dates, inclusive), $3 counted regimes, $4 sees sex work, $5 and $6 the first
# and last day of the whole months in the period (service.whole_months) -------------------------------------

_SCOPE = "d.regimes && $3::text[] AND ($4::boolean OR NOT ('sexwork' = ANY (d.regimes)))"
_DAY_FILTERS = {"wijk": "d.wijk = {}", "object_kind": "d.object_kind = {}", "team": "d.team_id = {}"}
_FIXED = 6
_DIMENSIONS = "d.regimes, d.wijk, d.object_kind, d.team_id"


def _counts(table: str, columns: str, where: str) -> str:
    """The counts of `report_<table>_day` in the period: the whole months from `report_<table>_month` (`day` is
    the month's first day there), the other days from the day table."""
    return f"""
  SELECT d.month AS day, {_DIMENSIONS}, {columns} FROM report_{table}_month d
  WHERE d.month BETWEEN $5 AND $6 AND {where}
  UNION ALL
  SELECT d.day, {_DIMENSIONS}, {columns} FROM report_{table}_day d
  WHERE (d.day >= $1 AND d.day < $5 OR d.day > $6 AND d.day <= $2) AND {where}"""


def _in_month(day: str, by_month: bool) -> str:
    """The month (its first day) of a date column, or NULL for the whole period."""
    return f"report_month({day})" if by_month else "NULL::date"


# Per group: inspections of the period in any state, controls done (reviewed), vergunningcontroles, controls
# after a complaint, hercontroles, and controls without a violation in a counted regime's checklist.
_COUNTS = """sum(inspections)::bigint AS inspections, sum(done)::bigint AS done, sum(permit)::bigint AS permit,
sum(complaint)::bigint AS complaint, sum(hercontrole)::bigint AS hercontrole,
coalesce(sum(done) FILTER (WHERE NOT violation_regimes && {regimes}), 0)::bigint AS compliant"""


def inspection_figures(filters: dict[str, Any], *, by_month: bool, breakdowns: bool) -> tuple[str, list[Any]]:
    """Rows (dimension, key, month, counts): the total, and with `breakdowns` per wijk, object kind and counted
    regime."""
    args: list[Any] = []
    where = _where(_SCOPE, _DAY_FILTERS, filters, args, fixed=_FIXED)
    counted = "($3::text[] || '{any}'::text[])"
    columns = "d.violation_regimes, d.inspections, d.done, d.permit, d.complaint, d.hercontrole"
    sql = f"""
WITH base AS MATERIALIZED (
  SELECT {_in_month("day", by_month)} AS month, regimes, wijk, object_kind, violation_regimes, inspections, done,
         permit, complaint, hercontrole
  FROM ({_counts("inspection", columns, where)}) counts
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
    """Purchase attempts of reviewed controls per sales channel: (month, channel, attempts, complied)."""
    args: list[Any] = []
    where = _where(_SCOPE, _DAY_FILTERS, filters, args, fixed=_FIXED)
    return (
        f"""
SELECT {_in_month("day", by_month)} AS month, channel, sum(attempts)::bigint AS attempts,
       sum(complied)::bigint AS complied
FROM ({_counts("nix18", "d.channel, d.attempts, d.complied", where)}) counts
GROUP BY 1, 2 HAVING sum(attempts) > 0""",
        args,
    )


def violations_per_code(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """Active violations of reviewed controls from checklists of a counted regime (or a regime-less add-on):
    (code, article of the latest one, violations, controls). The months have no day of observation: a code with
    more than one article in the period takes the latest from its day counts."""
    args: list[Any] = []
    where = _where(_SCOPE, _DAY_FILTERS, filters, args, fixed=_FIXED)
    in_regime = "(d.regime = ANY ($3::text[]) OR d.regime = 'any')"
    return (
        f"""
WITH violations AS (
  SELECT code, sum(violations)::bigint AS violations,
         count(DISTINCT article) FILTER (WHERE violations > 0) AS articles,
         (array_agg(article) FILTER (WHERE violations > 0))[1] AS article
  FROM ({_counts("violation", "d.code, d.article, d.violations", f"{in_regime} AND {where}")}) counts
  GROUP BY code HAVING sum(violations) > 0
), controls AS (
  SELECT code, sum(controls)::bigint AS controls
  FROM ({_counts("code", "d.code, d.controls", f"d.code_regimes && ($3::text[] || '{{any}}'::text[]) AND {where}")})
    counts
  GROUP BY code
)
SELECT v.code, CASE WHEN v.articles = 1 THEN v.article ELSE (
         SELECT (array_agg(d.article ORDER BY d.observed_on DESC, d.article) FILTER (WHERE d.violations > 0))[1]
         FROM report_violation_day d
         WHERE d.code = v.code AND d.day BETWEEN $1 AND $2 AND {in_regime} AND {where}) END AS article,
       v.violations, c.controls
FROM violations v JOIN controls c ON c.code = v.code
ORDER BY c.controls DESC, v.violations DESC, v.code""",
        args,
    )


# --- sanctions: $1 from, $2 to (dates, inclusive), $3 counted regimes, $4 sees sex work -----------------------

_SANCTION_SCOPE = "s.day BETWEEN $1 AND $2 AND k.regime = ANY ($3::text[]) AND ($4::boolean OR NOT k.sexwork)"
_CASE_FILTERS = {"wijk": "k.wijk = {}", "object_kind": "k.object_kind = {}", "team": "k.team_id = {}"}


def sanctions(filters: dict[str, Any], decisions: list[str], *, by_month: bool) -> tuple[str, list[Any]]:
    """Counts and sums of sent sanctions per month: (month, sent, warnings, <decision>, <decision>_cents...,
    hercontroles, forfeited, forfeited_cents). `decisions` are fixed names from definitions.DECISIONS."""
    args: list[Any] = []
    where = _where(_SANCTION_SCOPE, _CASE_FILTERS, filters, args, fixed=4)
    per_decision = ",\n".join(
        f"count(*) FILTER (WHERE s.type = 'besluit' AND s.decision = '{name}') AS {name},\n"
        f"coalesce(sum(s.amount_cents) FILTER (WHERE s.type = 'besluit' AND s.decision = '{name}'), 0)::bigint"
        f" AS {name}_cents"
        for name in decisions
    )
    return (
        f"""
SELECT {_in_month("s.day", by_month)} AS month,
       count(*) FILTER (WHERE s.type IN ('warning', 'besluit')) AS sent,
       count(*) FILTER (WHERE s.type = 'warning') AS warnings,
       {per_decision},
       count(*) FILTER (WHERE s.type = 'hercontrole') AS hercontroles,
       count(*) FILTER (WHERE s.type = 'hercontrole' AND s.forfeited) AS forfeited,
       coalesce(sum(s.forfeited_cents) FILTER (WHERE s.type = 'hercontrole' AND s.forfeited), 0)::bigint
         AS forfeited_cents
FROM report_sanction s JOIN report_case k ON k.id = s.case_id
WHERE {where}
GROUP BY 1""",
        args,
    )


# --- complaints: $1 from, $2 to (dates, inclusive), $3 counted regimes, $4 whether regime-less complaints count
# (no regime filter), $5 today ------------------------------------------------------------------------------

_COMPLAINT_SCOPE = """c.received_on BETWEEN $1 AND $2
AND (c.regime = ANY ($3::text[]) OR (c.regime IS NULL AND $4::boolean))"""
_COMPLAINT_FILTERS = {"object_kind": "c.object_kind = {}"}


def complaint_figures(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """The complaints of the period in one pass, per (received_on, closed_on): all_wijken, received, followed,
    resolved_in_time, due and handled (resolved, with a day of closing), `all_wijken` without the wijk filter and
    the rest within it. Few distinct pairs of days, so few rows: the service adds them up (per month for a trend)
    and counts the handled ones' working days."""
    args: list[Any] = []
    where = _where(_COMPLAINT_SCOPE, _COMPLAINT_FILTERS, filters, args, fixed=5)
    in_wijk = "true"
    if filters.get("wijk") is not None:
        args.append(filters["wijk"])
        in_wijk = f"c.wijk = ${5 + len(args)}"
    return (
        f"""
SELECT c.received_on, c.closed_on, count(*) AS all_wijken,
       count(*) FILTER (WHERE {in_wijk}) AS received,
       count(*) FILTER (WHERE {in_wijk} AND c.followed) AS followed,
       count(*) FILTER (WHERE {in_wijk} AND c.state = 'resolved' AND c.closed_on <= c.resolution_due_on)
         AS resolved_in_time,
       count(*) FILTER (WHERE {in_wijk} AND (c.state = 'resolved'
                        OR (c.state = 'open' AND c.resolution_due_on < $5))) AS due,
       count(*) FILTER (WHERE {in_wijk} AND c.state = 'resolved' AND c.closed_on IS NOT NULL) AS handled
FROM report_complaint c
WHERE {where}
GROUP BY 1, 2""",
        args,
    )


# --- objects: the registry's statement of the supervised objects with its parameters first, then the reference
# day and the cycle rules (definitions.cycle_rule_arrays) -----------------------------------------------------


def object_figures(objects: str, registry_args: int) -> str:
    """Per cycle rule (NULL: none applies): (rule, objects, verscherpt, overdue) over the rows of `objects`
    (id, kind, supervision_level, created_at; its `registry_args` parameters come first). An object's last control
    is its latest reviewed one up to the reference day, else the day it was registered; overdue when that lies
    longer ago than the rule's months. The latest controls are one join; only an object controlled after the
    reference day probes its facts for the latest one up to it."""
    reference, rules = f"${registry_args + 1}", [f"${registry_args + n}" for n in range(2, 7)]
    return f"""
WITH rules AS (
  SELECT * FROM unnest({rules[0]}::int[], {rules[1]}::text[], {rules[2]}::int[], {rules[3]}::text[], {rules[4]}::text[])
    AS r(priority, key, months, level, kind)
), objects AS MATERIALIZED ({objects}
), classes AS MATERIALIZED (  -- the rule of each (level, kind): a few, not one per object
  SELECT c.supervision_level, c.kind, rule.key, rule.months
  FROM (SELECT DISTINCT supervision_level, kind FROM objects) c
  LEFT JOIN LATERAL (
    SELECT r.key, r.months FROM rules r
    WHERE (r.level IS NULL OR r.level = c.supervision_level) AND (r.kind IS NULL OR r.kind = c.kind)
    ORDER BY r.priority LIMIT 1) rule ON true
), cycles AS (
  SELECT o.supervision_level, c.key AS rule, c.months,
         coalesce(CASE WHEN l.last_on IS NULL OR l.last_on <= {reference}::date THEN l.last_on
                       ELSE (SELECT f.day FROM report_inspection f
                             WHERE f.object_id = o.id AND f.reviewed AND f.day <= {reference}::date
                             ORDER BY f.day DESC LIMIT 1) END,
                  (o.created_at AT TIME ZONE 'Europe/Amsterdam')::date) AS last_on
  FROM objects o
  JOIN classes c ON c.supervision_level = o.supervision_level AND c.kind = o.kind
  LEFT JOIN report_object_last l ON l.object_id = o.id
)
SELECT rule, count(*) AS objects, count(*) FILTER (WHERE supervision_level = 'verscherpt') AS verscherpt,
       count(*) FILTER (WHERE rule IS NOT NULL
                        AND last_on < ({reference}::date - make_interval(months => months))::date) AS overdue
FROM cycles GROUP BY rule"""


# --- the facts (backend/reports/facts.py) ---------------------------------------------------------------------

# The counts follow the inspection facts by trigger: a fact is deleted and inserted again, never updated.
DELETE_INSPECTION_FACTS = """
WITH attempts AS (DELETE FROM report_nix18_attempt WHERE inspection_id = $1),
     violations AS (DELETE FROM report_violation WHERE inspection_id = $1),
     codes AS (DELETE FROM report_code_control WHERE inspection_id = $1)
DELETE FROM report_inspection WHERE id = $1"""
INSERT_INSPECTION_FACT = """
INSERT INTO report_inspection (id, object_id, day, regimes, wijk, object_kind, team_id, reviewed, permit, reason,
                               violation_regimes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"""
INSERT_NIX18_FACT = """
INSERT INTO report_nix18_attempt (inspection_id, position, channel, complied, day, regimes, wijk, object_kind, team_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"""
INSERT_VIOLATION_FACT = """
INSERT INTO report_violation (inspection_id, violation_id, code, regime, article, observed_on, day, regimes, wijk,
                              object_kind, team_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"""
INSERT_CODE_FACT = """
INSERT INTO report_code_control (inspection_id, code, code_regimes, day, regimes, wijk, object_kind, team_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""

REPLACE_COMPLAINT_FACT = """
INSERT INTO report_complaint (id, received_on, regime, wijk, object_id, object_kind, state, closed_on,
                              resolution_due_on, followed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET received_on = excluded.received_on, regime = excluded.regime, wijk = excluded.wijk,
    object_id = excluded.object_id, object_kind = excluded.object_kind, state = excluded.state,
    closed_on = excluded.closed_on, resolution_due_on = excluded.resolution_due_on,
    followed = report_complaint.followed OR excluded.followed"""
# An inspection submitted for an assignment that follows up the complaint (inspections are never removed).
COMPLAINT_FOLLOWED = "UPDATE report_complaint SET followed = true WHERE id = $1 AND NOT followed"

CASE_KNOWN = "SELECT EXISTS (SELECT 1 FROM report_case WHERE id = $1)"
INSERT_CASE = """
INSERT INTO report_case (id, regime, wijk, team_id, object_kind, sexwork) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO NOTHING"""
DELETE_SANCTIONS = "DELETE FROM report_sanction WHERE case_id = $1"
INSERT_SANCTION = """
INSERT INTO report_sanction (id, case_id, type, decision, amount_cents, day, forfeited, forfeited_cents)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
INSERT_HERCONTROLE = """
INSERT INTO report_hercontrole (assignment_id, case_id) VALUES ($1, $2) ON CONFLICT (assignment_id) DO NOTHING"""
HERCONTROLE_CASE = "SELECT case_id FROM report_hercontrole WHERE assignment_id = $1"

# The counting triggers run at commit (migration 0072), when reports_rebuild has ended its "rebuilding" mode: in
# a rebuild they run as each statement ends, inside that mode, and skip (the rebuild writes the counts itself).
COUNT_NOW = (
    "SET CONSTRAINTS report_inspection_counted, report_nix18_counted, report_violation_counted, "
    "report_code_counted IMMEDIATE"
)
REBUILD = "SELECT reports_rebuild($1::text[], $2::text[])"
REBUILD_SUMMARIES = "SELECT reports_rebuild_summaries()"
