"""SQL for planning. Every value is a bind parameter; the list statement is assembled from fixed fragments,
one per filter the caller gives."""

from __future__ import annotations

from typing import Any

from backend.core.pagination import KeysetQuery
from backend.core.visibility import Visibility

COLUMNS = """id, establishment_id AS object_id, location_id, team_id, wijk, regimes, checklist_version_ids,
planned_from, planned_to, inspector_ids, reason, complaint_id, partners, notes, status, cancel_reason, created_by,
version, created_at, updated_at"""

# Who may see an assignment. $1 the caller's regimes, $2 whether they are scoped for sex work: the regimes
# must share one and a sex-work assignment needs sexwork (as in the registry). Then $3 (admins, enforcement
# officers) sees all of those; otherwise $4 the teams whose assignments the caller's role shows (inspectors,
# coordinators), or $5 is one of the assigned inspectors.
VISIBLE = """regimes && $1::text[] AND ($2::boolean OR NOT ('sexwork' = ANY (regimes)))
AND ($3::boolean OR team_id = ANY ($4::text[]) OR $5::uuid = ANY (inspector_ids))"""


def visible_args(seen: Visibility) -> tuple[Any, ...]:
    """The bind values $1-$5 of VISIBLE, in its order."""
    return (seen.regimes, seen.sexwork, seen.all_teams, seen.teams, seen.user_id)


GET = f"SELECT {COLUMNS} FROM assignment WHERE id = $6 AND {VISIBLE}"

# --- phone sync: the caller's own planned work, in batches -----------------------------------------------

# Several assignments at once: the ones of $6 the caller may see, in any status.
GET_MANY = f"SELECT {COLUMNS} FROM assignment WHERE id = ANY ($6::uuid[]) AND {VISIBLE}"

# The caller's ($5) planned assignments they may see, by id after $6 (the nil UUID for the first page).
PLANNED_OF_CALLER = f"""
SELECT {COLUMNS} FROM assignment
WHERE status = 'planned' AND inspector_ids @> ARRAY[$5::uuid] AND id > $6 AND {VISIBLE}
ORDER BY id LIMIT $7
"""

# Which of the objects $6 and locations $7 a planned assignment of the caller ($5), that they may see, targets.
PLANNED_TARGETS_OF_CALLER = f"""
SELECT DISTINCT coalesce(establishment_id, location_id) AS target_id FROM assignment
WHERE status = 'planned' AND inspector_ids @> ARRAY[$5::uuid]
  AND (establishment_id = ANY ($6::uuid[]) OR location_id = ANY ($7::uuid[])) AND {VISIBLE}
"""

INSERT = f"""
INSERT INTO assignment (id, establishment_id, location_id, team_id, wijk, regimes, checklist_version_ids,
                        planned_from, planned_to, inspector_ids, reason, partners, notes, created_by, complaint_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING {COLUMNS}
"""

# The assignments that follow up complaint $1, in planning order (the complaints feature checked who may see
# the complaint; what it shows of them is a summary).
OF_COMPLAINT = f"SELECT {COLUMNS} FROM assignment WHERE complaint_id = $1 ORDER BY created_at, id"

# Each change checks the version and that the assignment is still planned, in the UPDATE itself.
REASSIGN = f"""
UPDATE assignment SET inspector_ids = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND status = 'planned'
RETURNING {COLUMNS}
"""

RESCHEDULE = f"""
UPDATE assignment SET planned_from = $3, planned_to = $4, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND status = 'planned'
RETURNING {COLUMNS}
"""

CANCEL = f"""
UPDATE assignment SET status = 'cancelled', cancel_reason = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND status = 'planned'
RETURNING {COLUMNS}
"""

# The submission of its inspection closes a planned assignment; the version and updated_at move so the
# phones' sync sees the change.
MARK_DONE = f"""
UPDATE assignment SET status = 'done', version = version + 1, updated_at = now()
WHERE id = $1 AND status = 'planned'
RETURNING {COLUMNS}
"""

# Filter name -> condition on the next bind parameter.
_FILTERS = {
    "team": "team_id = {}",
    "status": "status = {}",
    "overdue_before": "status = 'planned' AND planned_to < {}",
    "not_overdue_before": "NOT (status = 'planned' AND planned_to < {})",
    "regime": "regimes @> ARRAY[{}::text]",
    "wijk": "wijk = {}",
    "inspector": "inspector_ids @> ARRAY[{}::uuid]",
    # from/to select the assignments whose window overlaps [from, to].
    "from": "planned_to >= {}",
    "to": "planned_from <= {}",
}
# Assignments by (planned_from, id).
ASSIGNMENT_LIST = KeysetQuery(
    select=f"SELECT {COLUMNS} FROM assignment",
    visible=VISIBLE,
    filter_sql=_FILTERS,
    order_by=(("planned_from", "date"), ("id", "uuid")),
)
