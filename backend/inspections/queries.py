"""SQL for inspections and violations. Every value is a bind parameter; list statements are assembled from
fixed fragments, one per filter the caller gives.

The statements that write many columns take a record (a Struct with named fields) instead of a long row of
values; the one function beside each statement puts the record's fields in the statement's order, and
tests/test_inspection_queries.py checks that order against the statement's column lists."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import audit
from backend.core.pagination import KeysetQuery
from backend.core.visibility import Visibility


def visible(alias: str = "") -> str:
    """Who may see an inspection. $1 the caller's regimes, $2 whether they are scoped for sex work: the
    regimes must share one and a sex-work inspection needs sexwork. Then $3 (admins, enforcement officers)
    sees all of those; $4 the teams a coordinator sees all inspections of; $5 the teams an inspector sees
    the planned inspections of; $6 an inspector sees the inspections they submitted or were present at."""
    a = alias
    return f"""{a}regimes && $1::text[] AND ($2::boolean OR NOT ('sexwork' = ANY ({a}regimes)))
AND ($3::boolean OR {a}team_id = ANY ($4::text[])
     OR ({a}assignment_id IS NOT NULL AND {a}team_id = ANY ($5::text[]))
     OR $6::uuid = ANY ({a}inspector_ids) OR {a}submitted_by = $6::uuid)"""


def visible_args(seen: Visibility) -> tuple[Any, ...]:
    """The bind values $1-$6 of `visible`, in its order."""
    return (
        seen.regimes,
        seen.sexwork,
        seen.all_teams,
        seen.coordinated_teams,
        seen.inspected_teams,
        seen.inspector_id,
    )


class Existing(msgspec.Struct, frozen=True, kw_only=True):
    """The stored inspection a PUT meets (EXISTING)."""

    revision: int
    state: str
    submitted_by: UUID
    inspector_ids: list[UUID]
    received_at: datetime
    clock_skew_seconds: int | None
    visible: bool
    hashes: list[str]


# The existing inspection a PUT meets ($7): whether the caller may see it, and the hash of every revision.
EXISTING = f"""
SELECT i.revision, i.state, i.submitted_by, i.inspector_ids, i.received_at, i.clock_skew_seconds,
       ({visible("i.")}) AS visible,
       ARRAY(SELECT r.body_sha256 FROM inspection_revision r WHERE r.inspection_id = i.id) AS hashes
FROM inspection i WHERE i.id = $7
"""

# Whether the id is taken, whoever may see the inspection (a refused submission may be a resend).
ID_TAKEN = "SELECT EXISTS (SELECT 1 FROM inspection WHERE id = $1)"

VIOLATION_COLUMNS = """v.id, v.inspection_id, v.revision, v.establishment_id AS object_id, v.location_id,
v.checklist_version_id, v.checklist_position AS checklist, v.question_key AS question, v.code, v.article,
v.severity, v.observed_on, v.evidence_photo_ids, v.withdrawn_at, v.created_at"""

INSPECTION_COLUMNS = """i.id, i.revision, i.state, i.assignment_id, i.establishment_id AS object_id, i.location_id,
i.team_id, i.wijk, i.regimes, i.submitted_by, i.inspector_ids, i.partners, i.observations, i.started_at,
i.finished_at, i.received_at, i.clock_skew_seconds, i.clock_suspect, i.inspected_at, i.latitude, i.longitude,
i.position_accuracy_m, i.return_reason, i.reviewed_by, i.reviewed_at, i.version, i.created_at, i.updated_at"""


def _view(checklists: str, photos: str, violations: str) -> str:
    """The full view of an inspection `i`: its columns and its checklists, photos and current violations
    as JSON arrays, read from the given row sources (the tables, or the rows an INSERT just returned)."""
    return f"""SELECT {INSPECTION_COLUMNS},
  COALESCE((SELECT jsonb_agg(jsonb_build_object(
      'checklist_version_id', c.checklist_version_id, 'template_key', c.template_key, 'regime', c.regime,
      'answers', c.answers) ORDER BY c.position)
    FROM {checklists} c WHERE c.inspection_id = i.id), '[]'::jsonb) AS checklists,
  COALESCE((SELECT jsonb_agg(jsonb_build_object(
      'id', p.id, 'sha256', p.sha256, 'size', p.size_bytes, 'checklist', p.checklist_position,
      'question', p.question_key, 'received', p.received_at IS NOT NULL) ORDER BY p.position)
    FROM {photos} p WHERE p.inspection_id = i.id), '[]'::jsonb) AS photos,
  COALESCE((SELECT jsonb_agg(to_jsonb(cv) ORDER BY cv.checklist, cv.question, cv.code)
    FROM (SELECT {VIOLATION_COLUMNS} FROM {violations} v
          WHERE v.inspection_id = i.id AND v.withdrawn_at IS NULL) cv), '[]'::jsonb) AS violations"""


_STORED_VIEW = _view("inspection_checklist", "inspection_photo", "violation") + " FROM inspection i"

# The full view of one inspection: for a caller ($1-$6, $7 the id), or by id alone after a write.
GET_VISIBLE = f"{_STORED_VIEW} WHERE i.id = $7 AND {visible('i.')}"
GET_BY_ID = f"{_STORED_VIEW} WHERE i.id = $1"

# --- what a submission writes ---------------------------------------------------------------------------


class ChecklistRow(msgspec.Struct, frozen=True, kw_only=True):
    """One filled-in checklist of an inspection (a row of inspection_checklist)."""

    position: int
    checklist_version_id: UUID
    template_key: str
    regime: str
    answers: dict[str, Any]


class ViolationRow(msgspec.Struct, frozen=True, kw_only=True):
    """A violation the answers establish (a row of violation, without what the inspection gives it)."""

    checklist_version_id: UUID
    checklist_position: int
    question_key: str
    code: str
    article: dict[str, Any]
    severity: str
    evidence_photo_ids: list[str]


class PhotoRow(msgspec.Struct, frozen=True, kw_only=True):
    """One photo of the manifest (a row of inspection_photo, without its inspection)."""

    id: UUID
    position: int
    checklist_position: int
    question_key: str | None
    sha256: str
    size_bytes: int


class InspectionFields(msgspec.Struct, frozen=True, kw_only=True):
    """The inspection's columns a revision decides: what a submission inserts and a correction replaces."""

    assignment_id: UUID | None
    establishment_id: UUID | None
    location_id: UUID | None
    team_id: str
    wijk: str
    regimes: list[str]
    inspector_ids: list[UUID]
    partners: list[str]
    observations: str | None
    started_at: datetime
    finished_at: datetime
    clock_skew_seconds: int | None
    clock_suspect: bool
    inspected_at: datetime
    latitude: float | None
    longitude: float | None
    position_accuracy_m: float | None


class NewInspection(msgspec.Struct, frozen=True, kw_only=True):
    """Everything INSERT stores: the inspection, its first revision, checklists, violations, photos and audit event."""

    id: UUID
    state: str
    submitted_by: UUID
    received_at: datetime
    fields: InspectionFields
    body: dict[str, Any]
    body_sha256: str
    checklists: list[ChecklistRow]
    violations: list[ViolationRow]
    observed_on: date
    photos: list[PhotoRow]
    audit_events: list[audit.Event]


def insert_args(new: NewInspection) -> tuple[Any, ...]:
    """The bind values of INSERT, in its order."""
    return (
        new.id,
        new.state,
        new.submitted_by,
        new.received_at,
        *msgspec.structs.astuple(new.fields),
        new.body,
        new.body_sha256,
        new.checklists,
        new.violations,
        new.observed_on,
        new.photos,
        new.audit_events,
    )


# The inspection ($1-$21: the columns of NewInspection in order), its first revision ($22 body, $23 its hash),
# checklists ($24), violations ($25, dated $26), photos ($27) and audit event ($28) in one statement, answering
# the view of what it inserted (the same as GET_BY_ID reads afterwards). Nothing is inserted when the id exists
# (a concurrent duplicate committed first): then no row comes back.
INSERT = f"""
WITH ins AS (
    INSERT INTO inspection (id, state, submitted_by, received_at, assignment_id, establishment_id, location_id,
                            team_id, wijk, regimes, inspector_ids, partners, observations, started_at, finished_at,
                            clock_skew_seconds, clock_suspect, inspected_at, latitude, longitude,
                            position_accuracy_m)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
), rev AS (
    INSERT INTO inspection_revision (inspection_id, revision, base_revision, body, body_sha256, submitted_by,
                                     received_at)
    SELECT id, 1, NULL, $22, $23, submitted_by, received_at FROM ins
), cl AS (
    INSERT INTO inspection_checklist (inspection_id, position, checklist_version_id, template_key, regime, answers)
    SELECT ins.id, c.position, c.checklist_version_id, c.template_key, c.regime, c.answers
    FROM ins, jsonb_to_recordset($24::jsonb)
         AS c(position smallint, checklist_version_id uuid, template_key text, regime text, answers jsonb)
    RETURNING *
), vi AS (
    INSERT INTO violation (inspection_id, revision, establishment_id, location_id, checklist_version_id,
                           checklist_position, question_key, code, article, severity, observed_on,
                           evidence_photo_ids)
    SELECT ins.id, 1, ins.establishment_id, ins.location_id, v.checklist_version_id, v.checklist_position,
           v.question_key, v.code, v.article, v.severity, $26, v.evidence_photo_ids
    FROM ins, jsonb_to_recordset($25::jsonb)
         AS v(checklist_version_id uuid, checklist_position smallint, question_key text, code text, article jsonb,
              severity text, evidence_photo_ids uuid[])
    RETURNING *
), ph AS (
    INSERT INTO inspection_photo (id, inspection_id, position, checklist_position, question_key, sha256, size_bytes)
    SELECT p.id, ins.id, p.position, p.checklist_position, p.question_key, p.sha256, p.size_bytes
    FROM ins, jsonb_to_recordset($27::jsonb)
         AS p(id uuid, position smallint, checklist_position smallint, question_key text, sha256 text,
              size_bytes integer)
    RETURNING *
), ev AS (
    {audit.insert_events("$28", only_if="EXISTS (SELECT 1 FROM ins)")}
)
{_view("cl", "ph", "vi")} FROM ins i
"""

# --- corrections -------------------------------------------------------------------------------------------

# The new revision ($3-$19: the columns of InspectionFields in order) replaces the current one only if it still
# is the revision corrected ($2) and still returned.
CORRECT = """
UPDATE inspection SET revision = revision + 1, state = 'corrected', assignment_id = $3, establishment_id = $4,
    location_id = $5, team_id = $6, wijk = $7, regimes = $8, inspector_ids = $9, partners = $10,
    observations = $11, started_at = $12, finished_at = $13, clock_skew_seconds = $14, clock_suspect = $15,
    inspected_at = $16, latitude = $17, longitude = $18, position_accuracy_m = $19, version = version + 1,
    updated_at = now()
WHERE id = $1 AND revision = $2 AND state = 'returned'
RETURNING revision
"""


def correct_args(inspection_id: UUID, base_revision: int, fields: InspectionFields) -> tuple[Any, ...]:
    """The bind values of CORRECT, in its order."""
    return (inspection_id, base_revision, *msgspec.structs.astuple(fields))


INSERT_REVISION = """
INSERT INTO inspection_revision (inspection_id, revision, base_revision, body, body_sha256, submitted_by, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

# A correction replaces the checklist rows: delete, then insert (two statements, as the keys are reused).
DELETE_CHECKLISTS = "DELETE FROM inspection_checklist WHERE inspection_id = $1"

INSERT_CHECKLISTS = """
INSERT INTO inspection_checklist (inspection_id, position, checklist_version_id, template_key, regime, answers)
SELECT $1, c.position, c.checklist_version_id, c.template_key, c.regime, c.answers
FROM jsonb_to_recordset($2::jsonb)
     AS c(position smallint, checklist_version_id uuid, template_key text, regime text, answers jsonb)
"""

CURRENT_VIOLATIONS = """
SELECT id, checklist_version_id, checklist_position, question_key, code FROM violation
WHERE inspection_id = $1 AND withdrawn_at IS NULL
"""

WITHDRAW_VIOLATIONS = "UPDATE violation SET withdrawn_at = now() WHERE id = ANY ($1::uuid[])"

# Violations a correction establishes again: target, date and evidence follow the new revision.
REFRESH_VIOLATIONS = """
UPDATE violation v SET establishment_id = $2, location_id = $3, observed_on = $4,
    evidence_photo_ids = u.evidence_photo_ids
FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, evidence_photo_ids uuid[])
WHERE v.id = u.id
"""

INSERT_VIOLATIONS = """
INSERT INTO violation (inspection_id, revision, establishment_id, location_id, checklist_version_id,
                       checklist_position, question_key, code, article, severity, observed_on, evidence_photo_ids)
SELECT $1, $2, $3, $4, v.checklist_version_id, v.checklist_position, v.question_key, v.code, v.article,
       v.severity, $5, v.evidence_photo_ids
FROM jsonb_to_recordset($6::jsonb)
     AS v(checklist_version_id uuid, checklist_position smallint, question_key text, code text, article jsonb,
          severity text, evidence_photo_ids uuid[])
"""

# Photos already registered under these ids: for this inspection (a correction keeps them) or another.
PHOTOS_BY_ID = """
SELECT id, inspection_id, sha256, size_bytes, received_at FROM inspection_photo WHERE id = ANY ($1::uuid[])
"""

RECEIVED_PHOTOS = "SELECT id FROM inspection_photo WHERE inspection_id = $1 AND received_at IS NOT NULL"

# A correction's manifest: photos not received and no longer listed go; listed ones are added or moved.
REPLACE_PHOTOS = """
WITH gone AS (
    DELETE FROM inspection_photo
    WHERE inspection_id = $1 AND received_at IS NULL
      AND id NOT IN (SELECT p.id FROM jsonb_to_recordset($2::jsonb) AS p(id uuid))
)
INSERT INTO inspection_photo (id, inspection_id, position, checklist_position, question_key, sha256, size_bytes)
SELECT p.id, $1, p.position, p.checklist_position, p.question_key, p.sha256, p.size_bytes
FROM jsonb_to_recordset($2::jsonb)
     AS p(id uuid, position smallint, checklist_position smallint, question_key text, sha256 text,
          size_bytes integer)
ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, checklist_position = EXCLUDED.checklist_position,
    question_key = EXCLUDED.question_key
WHERE inspection_photo.inspection_id = EXCLUDED.inspection_id
"""

# --- review, return, photos ---------------------------------------------------------------------------------

REVIEW = """
UPDATE inspection SET state = 'reviewed', reviewed_by = $3, reviewed_at = now(), version = version + 1,
    updated_at = now()
WHERE id = $1 AND version = $2 AND state IN ('complete', 'corrected')
  AND NOT EXISTS (SELECT 1 FROM inspection_photo p WHERE p.inspection_id = $1 AND p.received_at IS NULL)
RETURNING id
"""

RETURN = """
UPDATE inspection SET state = 'returned', return_reason = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND state IN ('submitted', 'complete', 'corrected')
RETURNING id
"""

PHOTO = "SELECT inspection_id, sha256, size_bytes FROM inspection_photo WHERE id = $1"

LOCK_INSPECTION = "SELECT state FROM inspection WHERE id = $1 FOR UPDATE"

MARK_PHOTO_RECEIVED = (
    "UPDATE inspection_photo SET received_at = now() WHERE id = $1 AND received_at IS NULL RETURNING id"
)

# Where an uploaded photo goes: whether the caller sees the inspection, and its manifest entry.
PHOTO_SLOT = f"""
SELECT ({visible("i.")}) AS visible, p.sha256, p.size_bytes
FROM inspection i LEFT JOIN inspection_photo p ON p.id = $8 AND p.inspection_id = i.id
WHERE i.id = $7
"""

# A photo arrived: a new version (the photo list changed, so must the ETag), and submitted -> complete once no
# photo of the manifest is missing.
PHOTO_ARRIVED = """
UPDATE inspection SET version = version + 1, updated_at = now(),
    state = CASE WHEN state = 'submitted' AND NOT EXISTS (
        SELECT 1 FROM inspection_photo p WHERE p.inspection_id = $1 AND p.received_at IS NULL) THEN 'complete'
    ELSE state END
WHERE id = $1
RETURNING state
"""

IS_VISIBLE = f"SELECT EXISTS (SELECT 1 FROM inspection i WHERE i.id = $7 AND {visible('i.')})"

REVISIONS = """
SELECT revision, base_revision, body, body_sha256, submitted_by, received_at
FROM inspection_revision WHERE inspection_id = $1 ORDER BY revision
"""

# --- lists ---------------------------------------------------------------------------------------------------

SUMMARY_COLUMNS = """i.id, i.revision, i.state, i.assignment_id, i.establishment_id AS object_id, i.location_id,
i.team_id, i.wijk, i.regimes, i.submitted_by, i.inspector_ids, i.started_at, i.finished_at, i.received_at,
i.clock_suspect, i.inspected_at, i.reviewed_by, i.reviewed_at, i.return_reason, i.version, i.updated_at"""

# The caller's returned inspections (those they may correct: submitted by them or with them present),
# all of them or those in $7.
RETURNED_TO = f"""
SELECT i.id, i.revision, i.return_reason, i.assignment_id, i.establishment_id AS object_id, i.location_id,
       i.version, i.updated_at
FROM inspection i
WHERE i.state = 'returned' AND ($7::uuid[] IS NULL OR i.id = ANY ($7::uuid[]))
  AND ($6::uuid = ANY (i.inspector_ids) OR i.submitted_by = $6::uuid) AND {visible("i.")}
ORDER BY i.updated_at, i.id
"""

# Filter name -> condition on the next bind parameter. from/to are dates in Europe/Amsterdam.
_INSPECTION_FILTERS = {
    "object_id": "i.establishment_id = {}",
    "location_id": "i.location_id = {}",
    "assignment_id": "i.assignment_id = {}",
    "state": "i.state = {}",
    "team_id": "i.team_id = {}",
    "regime": "i.regimes @> ARRAY[{}::text]",
    "wijk": "i.wijk = {}",
    "from": "i.inspected_at >= ({}::date::timestamp AT TIME ZONE 'Europe/Amsterdam')",
    "to": "i.inspected_at < (({}::date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam')",
    # Ready for review and the given user was not there (vier-ogenprincipe: they may not review it).
    "awaiting_review_by": "i.state IN ('complete', 'corrected') AND NOT ({0}::uuid = ANY (i.inspector_ids) "
    "OR i.submitted_by = {0}::uuid)",
}

_VIOLATION_FILTERS = {
    "object_id": "v.establishment_id = {}",
    "location_id": "v.location_id = {}",
    "inspection_id": "v.inspection_id = {}",
    "active_only": "(v.withdrawn_at IS NULL) = {}",
}
# Inspections the caller may see, newest first (their summaries; the object's and inspectors' names come from
# the registry and users features).
INSPECTION_LIST = KeysetQuery(
    select=f"SELECT {SUMMARY_COLUMNS} FROM inspection i",
    visible=visible("i."),
    filter_sql=_INSPECTION_FILTERS,
    order_by=(("i.inspected_at", "timestamptz"), ("i.id", "uuid")),
    newest_first=True,
)
# Violations of inspections the caller may see (the inspection's visibility decides), newest first.
VIOLATION_LIST = KeysetQuery(
    select=f"SELECT {VIOLATION_COLUMNS} FROM violation v JOIN inspection i ON i.id = v.inspection_id",
    visible=visible("i."),
    filter_sql=_VIOLATION_FILTERS,
    order_by=(("v.observed_on", "date"), ("v.id", "uuid")),
    newest_first=True,
)


# The latest inspection of each assignment in $1 with the codes of its violations that are not withdrawn.
OUTCOMES_OF_ASSIGNMENTS = f"""
SELECT latest.assignment_id, latest.id AS inspection_id, latest.state,
       coalesce((SELECT array_agg(DISTINCT v.code ORDER BY v.code) FROM violation v
                 WHERE v.inspection_id = latest.id AND v.withdrawn_at IS NULL), '{{}}') AS violation_codes
FROM (SELECT DISTINCT ON (i.assignment_id) i.* FROM inspection i WHERE i.assignment_id = ANY ($7::uuid[])
      ORDER BY i.assignment_id, i.inspected_at DESC, i.id DESC) latest
WHERE {visible("latest.")}
"""
