"""SQL for reading the audit trail. $1 is always the reader's regimes: an event whose scope_regime (set when it
was linked, migrations/0016_audit_scope.sql) is not among them is left out."""

from backend.core.pagination import KeysetQuery

_COLUMNS = """e.seq, e.id, e.occurred_at, e.actor_id, e.actor_label, e.action,
       e.object_type, e.object_id, e.request_id, e.reason, e.before, e.after, e.row_hash"""
_FROM = "FROM audit_event e"
IN_SCOPE = "(e.scope_regime IS NULL OR e.scope_regime = ANY ($1::text[]))"

LIST_FOR_OBJECT = f"""
SELECT {_COLUMNS}
{_FROM}
WHERE e.object_type = $2 AND e.object_id = $3 AND e.seq > $4 AND {IN_SCOPE}
ORDER BY e.seq
LIMIT $5
"""

# Whether the reader may see an object's trail: not when the object is, or any of its events was, of a regime
# outside theirs (a sex-work record's trail answers 404 without the sexwork regime, like the record itself).
OBJECT_IN_SCOPE = """
SELECT scope IS NULL OR scope = ANY ($1::text[])
FROM (SELECT coalesce(audit_scope_of($2, $3, NULL, NULL), (
          SELECT e.scope_regime FROM audit_event e
          WHERE e.object_type = $2 AND e.object_id = $3 AND e.scope_regime IS NOT NULL LIMIT 1)) AS scope) AS object
"""

# The trail by actor and/or period, in (occurred_at, seq) order: keyset reads on audit_event_actor_idx and
# audit_event_period_idx.
_TRAIL_FILTERS = {
    "actor_id": "e.actor_id = {}",
    "from": "e.occurred_at >= ({}::date::timestamp AT TIME ZONE 'Europe/Amsterdam')",
    "to": "e.occurred_at < (({}::date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam')",
    "actions": "e.action = ANY ({}::text[])",
}
TRAIL = KeysetQuery(
    select=f"SELECT {_COLUMNS} {_FROM}",
    visible=IN_SCOPE,
    filter_sql=_TRAIL_FILTERS,
    order_by=(("e.occurred_at", "timestamptz"), ("e.seq", "bigint")),
)
