"""SQL for enforcement. Every value is a bind parameter; the list statement is assembled from fixed fragments."""

from __future__ import annotations

from backend.core.pagination import KeysetQuery

# Who may see a case: $1 the caller's regimes (a sex-work case needs the sexwork regime, like any other).
VISIBLE = "c.regime = ANY ($1::text[])"

CASE_COLUMNS = """c.id, c.establishment_id AS object_id, c.location_id, c.regime, c.wijk, c.team_id, c.status, c.result,
c.merged_into, c.opened_by, c.opened_at, c.closed_at, c.version, c.updated_at, c.kenmerk,
(SELECT count(*) FROM enforcement_case_violation cv WHERE cv.case_id = c.id) AS violation_count"""

GET_CASE = f"SELECT {CASE_COLUMNS} FROM enforcement_case c WHERE c.id = $2 AND {VISIBLE}"

# The case of a step, for the system (the outbox e-mailing its letter): no caller, so no scope.
CASE_OF_STEP = (
    f"SELECT {CASE_COLUMNS} FROM enforcement_case c JOIN enforcement_step s ON s.case_id = c.id WHERE s.id = $1"
)

# How a sent step's letter goes out: 'email', 'post', or NULL (no letter, not sent).
STEP_DISPATCH = "SELECT dispatch FROM enforcement_step WHERE id = $1"
STEP_BY_ID = "SELECT * FROM enforcement_step WHERE id = $1"
STEP_POSTED = "SELECT letter_posted_on IS NOT NULL FROM enforcement_step WHERE id = $1"

CASE_VIOLATIONS = """
SELECT cv.violation_id, cv.inspection_id, cv.establishment_id AS object_id, cv.location_id, cv.code, cv.article_key,
       cv.observed_on, cv.added_at, cv.inspector_ids, cv.checklist_version_id, cv.employee_class,
       cv.employee_class_source,
       EXISTS (SELECT 1 FROM enforcement_fined_violation f WHERE f.violation_id = cv.violation_id) AS fined
FROM enforcement_case_violation cv WHERE cv.case_id = $1 ORDER BY cv.observed_on, cv.violation_id
"""

STEP_COLUMNS = """s.id, s.seq, s.type, s.decision, s.status, s.related_step_id, s.violation_ids, s.document_text,
s.amount_cents, s.weeks, s.months, s.order_text, s.begunstiging_days, s.dwangsom_cents, s.dwangsom_unit,
s.dwangsom_max_cents, s.zienswijze_weeks, s.zienswijze, s.zienswijze_summary, s.proposal, s.deviation_reason,
s.behaviour, s.assignment_id, s.due_on, s.observed_on, s.forfeited_cents, s.forfeited_units, s.forfeited_on,
s.outcome_source, s.outcome_reason, s.outcome_inspection_id, s.received_on, s.posted_on, s.late,
s.late_excused, s.outcome,
COALESCE((SELECT jsonb_agg(jsonb_build_object('seq', b.seq, 'change', b.change, 'reason', b.reason,
                                              'due_before', b.due_before, 'due_after', b.due_after,
                                              'actor_id', b.actor_id, 'occurred_at', b.occurred_at) ORDER BY b.seq)
          FROM enforcement_bezwaar_change b WHERE b.step_id = s.id), '[]'::jsonb) AS bezwaar_changes,
s.letter_sha256, s.approved_sha256, s.drafted_by, s.approved_by, s.approved_at, s.sent_by, s.sent_on,
s.withdrawn_on, s.withdrawn_reason, s.dispatch, s.letter_posted_on, s.letter_posted_by,
s.created_at, s.updated_at,
COALESCE((SELECT jsonb_agg(jsonb_build_object('kind', d.kind, 'due_on', d.due_on, 'resolved', d.resolved_at IS NOT NULL)
                           ORDER BY d.due_on, d.kind)
          FROM enforcement_deadline d WHERE d.step_id = s.id), '[]'::jsonb) AS deadlines"""

# The case view's steps: the API's columns, and those the step records add (records.StepRecord), so one read serves
# both the answer and what may be drafted next.
CASE_STEPS = f"""SELECT {STEP_COLUMNS}, s.case_id, s.addressee, s.approved_letter_on
FROM enforcement_step s WHERE s.case_id = $1 ORDER BY s.seq"""

CASE_HISTORY = """
SELECT seq, status, result, reason, actor_id, occurred_at FROM enforcement_case_status WHERE case_id = $1 ORDER BY seq
"""

# --- opening and adding ----------------------------------------------------------------------------------

# Nothing is inserted when the target already has an open case of the regime (the partial unique index);
# a concurrent insert that has not committed yet makes this wait for it, then do nothing.
INSERT_CASE_IF_NONE_OPEN = """
INSERT INTO enforcement_case (id, establishment_id, location_id, regime, wijk, team_id, opened_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT ((coalesce(establishment_id, location_id)), regime) WHERE status <> 'closed' DO NOTHING
RETURNING id
"""
# The bind values of INSERT_CASE_IF_NONE_OPEN in order ($1..$7): records.NewCase's fields.
CASE_INSERT_FIELDS = ("id", "establishment_id", "location_id", "regime", "wijk", "team_id", "opened_by")

LOCK_OPEN_CASE = """
SELECT id FROM enforcement_case
WHERE coalesce(establishment_id, location_id) = $1 AND regime = $2 AND status <> 'closed'
FOR UPDATE
"""

INSERT_HISTORY = """
INSERT INTO enforcement_case_status (case_id, seq, status, result, reason, actor_id)
SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5 FROM enforcement_case_status WHERE case_id = $1
"""

ADD_VIOLATIONS = """
INSERT INTO enforcement_case_violation (violation_id, case_id, inspection_id, establishment_id, location_id, code,
                                        article_key, observed_on, inspector_ids, checklist_version_id, employee_class,
                                        employee_class_source)
SELECT v.violation_id, $1, v.inspection_id, v.establishment_id, v.location_id, v.code, v.article_key, v.observed_on,
       v.inspector_ids, v.checklist_version_id, v.employee_class, v.employee_class_source
FROM jsonb_to_recordset($2::jsonb) AS v(violation_id uuid, inspection_id uuid, establishment_id uuid, location_id uuid,
     code text, article_key text, observed_on date, inspector_ids uuid[], checklist_version_id uuid,
     employee_class text, employee_class_source text)
ON CONFLICT (violation_id) DO NOTHING
RETURNING violation_id
"""

# The fine column recorded with the case's newest violation that has one, and its source (migrations/0031).
RECORDED_EMPLOYEE_CLASS = """
SELECT employee_class, employee_class_source FROM enforcement_case_violation
WHERE case_id = $1 AND employee_class IS NOT NULL ORDER BY observed_on DESC, added_at DESC LIMIT 1
"""

# Every change of a case or its steps moves the case's version: one ETag guards the whole case. With $2
# NULL (the review hook, no client version) the row is simply locked and moved on.
BUMP = """
UPDATE enforcement_case SET version = version + 1, updated_at = now(), status = coalesce($3, status),
    team_id = coalesce($4, team_id)
WHERE id = $1 AND ($2::integer IS NULL OR version = $2) AND status <> 'closed'
RETURNING version
"""

# A status that follows a step, inside a change whose version move (BUMP) already locked the case.
SET_STATUS = "UPDATE enforcement_case SET status = $2 WHERE id = $1 AND status <> 'closed'"

CLOSE = """
UPDATE enforcement_case SET status = 'closed', result = $2, merged_into = $3, closed_at = now(),
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $4 AND status <> 'closed'
RETURNING version
"""

MOVE_VIOLATIONS = "UPDATE enforcement_case_violation SET case_id = $2 WHERE case_id = $1"

HAS_STEPS = "SELECT EXISTS (SELECT 1 FROM enforcement_step WHERE case_id = $1)"

# --- steps ----------------------------------------------------------------------------------------------

INSERT_STEP = """
INSERT INTO enforcement_step (id, case_id, seq, type, decision, status, related_step_id, violation_ids, document_text,
    amount_cents, weeks, months, order_text, begunstiging_days, dwangsom_cents, dwangsom_unit, dwangsom_max_cents,
    zienswijze_weeks, proposal, deviation_reason, behaviour, assignment_id, due_on, received_on, late, drafted_by,
    posted_on)
SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
       $20, $21, $22, $23, $24, $25, $26
FROM enforcement_step WHERE case_id = $2
RETURNING id
"""
# The bind values of INSERT_STEP in order ($1..$26; seq is counted): records.NewStep's fields.
STEP_INSERT_FIELDS = (
    "id",
    "case_id",
    "type",
    "decision",
    "status",
    "related_step_id",
    "violation_ids",
    "document_text",
    "amount_cents",
    "weeks",
    "months",
    "order_text",
    "begunstiging_days",
    "dwangsom_cents",
    "dwangsom_unit",
    "dwangsom_max_cents",
    "zienswijze_weeks",
    "proposal",
    "deviation_reason",
    "behaviour",
    "assignment_id",
    "due_on",
    "received_on",
    "late",
    "drafted_by",
    "posted_on",
)

GET_STEP = "SELECT * FROM enforcement_step WHERE id = $1 AND case_id = $2"

# The case's steps as the rules read them (records.StepRecord), in order.
STEP_RECORDS = "SELECT * FROM enforcement_step WHERE case_id = $1 ORDER BY seq"

FINE_VIOLATIONS = """
INSERT INTO enforcement_fined_violation (violation_id, step_id) SELECT unnest($1::uuid[]), $2
"""

ALREADY_FINED = "SELECT violation_id FROM enforcement_fined_violation WHERE violation_id = ANY ($1::uuid[])"

APPROVE = """
UPDATE enforcement_step SET status = 'approved', approved_by = $2, approved_at = now(), approved_sha256 = $3,
    approved_letter_on = $5, letter_sha256 = $3, letter_template_version_id = $4, updated_at = now()
WHERE id = $1 AND status IN ('draft', 'approved')
"""

# The step's letter as last rendered (drafted, approved, or sent: then the stored document).
SET_LETTER = """
UPDATE enforcement_step SET letter_sha256 = $2, letter_template_version_id = $3, updated_at = now() WHERE id = $1
"""

SET_ADDRESSEE = "UPDATE enforcement_step SET addressee = $2 WHERE id = $1"

SEND = """
UPDATE enforcement_step SET status = 'sent', sent_by = $2, sent_on = $3, updated_at = now(), dispatch = $5,
    zienswijze = CASE WHEN type = 'voornemen' THEN 'pending' ELSE zienswijze END
WHERE id = $1 AND status = $4
"""

# The back office posted a sent letter (once; sent_on <= the day, checked by the table too).
RECORD_POSTED = """
UPDATE enforcement_step SET letter_posted_on = $2, letter_posted_by = $3, updated_at = now()
WHERE id = $1 AND dispatch IS NOT NULL AND letter_posted_on IS NULL
"""

WITHDRAW = """
UPDATE enforcement_step SET withdrawn_on = $2, withdrawn_reason = $3, updated_at = now()
WHERE id = $1 AND status = 'sent' AND withdrawn_on IS NULL
"""

# A withdrawn decision leaves nothing to wait for: its own terms (the bezwaar term) end.
RESOLVE_STEP_DEADLINES = """
UPDATE enforcement_deadline SET resolved_at = now() WHERE step_id = $1 AND resolved_at IS NULL
"""

RECORD_ZIENSWIJZE = """
UPDATE enforcement_step SET zienswijze = $2, zienswijze_summary = $3, updated_at = now()
WHERE id = $1 AND zienswijze = 'pending'
"""

HERCONTROLE_OUTCOME = """
UPDATE enforcement_step SET status = $2, observed_on = $3, forfeited_cents = $4, forfeited_units = $5,
    forfeited_on = $6, outcome_source = $7, outcome_reason = $8, outcome_inspection_id = $9, updated_at = now()
WHERE id = $1 AND type = 'hercontrole'
"""

# A hercontrole planned by this assignment, whose outcome is still open.
PLANNED_HERCONTROLE = """
SELECT * FROM enforcement_step WHERE assignment_id = $1 AND type = 'hercontrole' AND status = 'planned' FOR UPDATE
"""

# Why the last onder dwangsom $1 no longer binds: 'withdrawn' by the authority, or 'annulled' on bezwaar (a bezwaar
# against it decided gegrond); NULL while it stands. Nothing is forfeited under a last that does not stand.
LAST_ENDED = """
SELECT CASE WHEN s.withdrawn_on IS NOT NULL THEN 'withdrawn'
            WHEN EXISTS (SELECT 1 FROM enforcement_step b
                         WHERE b.related_step_id = s.id AND b.type = 'bezwaar' AND b.outcome = 'gegrond')
            THEN 'annulled'
       END
FROM enforcement_step s WHERE s.id = $1
"""

# The hercontroles of the last onder dwangsom $1 still awaited (planned, their begunstigingstermijn open), locked: a
# last that ended has them called off.
PLANNED_UNDER = """
SELECT h.id, h.assignment_id FROM enforcement_step h
JOIN enforcement_deadline d ON d.step_id = h.id AND d.kind = 'begunstigingstermijn' AND d.resolved_at IS NULL
WHERE h.related_step_id = $1 AND h.type = 'hercontrole' AND h.status = 'planned'
ORDER BY h.seq FOR UPDATE OF h
"""

# The hercontroles $1 are not held: the last they would check ended (steps.KINDS: call_off).
CALL_OFF = """
UPDATE enforcement_step SET status = 'called_off', updated_at = now() WHERE id = ANY ($1::uuid[]) AND status = 'planned'
"""

# A last onder dwangsom $1 that ended leaves its hercontroles nothing to wait for: the begunstigingstermijn of a
# planned one, the payment term and collection limit of a sum forfeited under it (unless an invordering was drafted
# for that sum: the invordering is a decision of its own, withdrawn on its own).
END_TERMS_UNDER = """
UPDATE enforcement_deadline d SET resolved_at = now()
FROM enforcement_step h
WHERE d.step_id = h.id AND d.resolved_at IS NULL AND h.related_step_id = $1 AND h.type = 'hercontrole'
  AND NOT EXISTS (SELECT 1 FROM enforcement_step i WHERE i.related_step_id = h.id AND i.type = 'invordering')
"""

SET_DEADLINE = """
INSERT INTO enforcement_deadline (case_id, step_id, kind, due_on) VALUES ($1, $2, $3, $4)
ON CONFLICT (step_id, kind) DO UPDATE SET due_on = EXCLUDED.due_on, resolved_at = NULL
"""

INSERT_BEZWAAR_CHANGE = """
INSERT INTO enforcement_bezwaar_change (step_id, seq, change, reason, due_before, due_after, actor_id)
SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6 FROM enforcement_bezwaar_change WHERE step_id = $1
"""

BEZWAAR_CHANGES = "SELECT change FROM enforcement_bezwaar_change WHERE step_id = $1 ORDER BY seq"

EXCUSE_LATENESS = "UPDATE enforcement_step SET late_excused = true, updated_at = now() WHERE id = $1"

BEZWAAR_OUTCOME = """
UPDATE enforcement_step SET status = 'decided', outcome = $2, updated_at = now() WHERE id = $1 AND status = 'registered'
"""

# Sums forfeited under one decision so far (its hercontroles other than $2).
FORFEITED_UNDER = """
SELECT coalesce(sum(forfeited_cents), 0) FROM enforcement_step
WHERE related_step_id = $1 AND type = 'hercontrole' AND id <> $2
"""

INVORDERING_OF = """
SELECT id FROM enforcement_step WHERE related_step_id = $1 AND type = 'invordering' LIMIT 1
"""

INSERT_DEADLINE = "INSERT INTO enforcement_deadline (case_id, step_id, kind, due_on) VALUES ($1, $2, $3, $4)"

DEADLINE_OF = "SELECT due_on, resolved_at FROM enforcement_deadline WHERE step_id = $1 AND kind = $2"

# Closing a case ends the terms that wait for its own next step; statutory terms of sent decisions (bezwaar,
# payment, collection limit) keep running for the offender and the authority alike.
END_PROCEDURE_DEADLINES = """
UPDATE enforcement_deadline SET resolved_at = now()
WHERE case_id = $1 AND resolved_at IS NULL AND kind IN ('zienswijze', 'begunstigingstermijn')
"""

# A deadline moved: a term counted from a later day than first recorded (a decision posted after the day of
# sending), or a bezwaar's decision term extended or postponed (bezwaar.py).
MOVE_DEADLINE = """
UPDATE enforcement_deadline SET due_on = $3 WHERE step_id = $1 AND kind = $2 AND resolved_at IS NULL
"""

RESOLVE_DEADLINE = """
UPDATE enforcement_deadline SET resolved_at = now() WHERE step_id = $1 AND kind = $2 AND resolved_at IS NULL
"""

# --- proposal: recidive and strikes (indexed by target, article and date) ---------------------------------


# Earlier violations of article $2 at the target $1 (an establishment or a location: `target` is one of two
# fixed column names) in the window ($3, $4], from inspections other than $5.
def earlier_violations(target: str) -> str:
    return f"""
SELECT violation_id, inspection_id, code, observed_on FROM enforcement_case_violation
WHERE {_target(target)} = $1 AND article_key = $2 AND observed_on > $3 AND observed_on <= $4
  AND NOT (inspection_id = ANY ($5::uuid[]))
ORDER BY observed_on DESC, violation_id
LIMIT 20
"""


def earlier_occasions(target: str) -> str:
    return f"""
SELECT count(DISTINCT inspection_id) FROM enforcement_case_violation
WHERE {_target(target)} = $1 AND article_key = $2 AND observed_on > $3 AND observed_on <= $4
  AND NOT (inspection_id = ANY ($5::uuid[]))
"""


# Occasions (inspections) with a violation of article $2 at the target $1 in the window ($3, $4], any case.
def occasions_in_window(target: str) -> str:
    return f"""
SELECT count(DISTINCT inspection_id) FROM enforcement_case_violation
WHERE {_target(target)} = $1 AND article_key = $2 AND observed_on > $3 AND observed_on <= $4
"""


# Boetes sent for article $2 at the target $1 in the window ($3, $4] that stand (recidive): not withdrawn and
# not annulled on bezwaar (a bezwaar against them decided gegrond).
def earlier_fines(target: str) -> str:
    return f"""
SELECT DISTINCT s.id FROM enforcement_case_violation cv
JOIN enforcement_fined_violation f ON f.violation_id = cv.violation_id
JOIN enforcement_step s ON s.id = f.step_id
WHERE cv.{_target(target)} = $1 AND cv.article_key = $2 AND s.status = 'sent' AND s.sent_on > $3 AND s.sent_on <= $4
  AND s.withdrawn_on IS NULL
  AND NOT EXISTS (SELECT 1 FROM enforcement_step b
                  WHERE b.related_step_id = s.id AND b.type = 'bezwaar' AND b.outcome = 'gegrond')
"""


def _target(target: str) -> str:
    if target not in ("establishment_id", "location_id"):
        raise ValueError(target)
    return target


# --- deadlines view ----------------------------------------------------------------------------------------

DEADLINES = """
SELECT d.case_id, d.step_id, c.regime, c.wijk, c.establishment_id AS object_id, c.location_id, d.kind, d.due_on,
       d.due_on < $2 AS overdue
FROM enforcement_deadline d JOIN enforcement_case c ON c.id = d.case_id
WHERE d.resolved_at IS NULL AND d.due_on <= $3 AND {VISIBLE}
  AND (d.due_on >= $2 OR d.kind <> 'bezwaar_term')
ORDER BY d.due_on, d.kind, d.step_id
LIMIT $4
""".replace("{VISIBLE}", VISIBLE)

_CASE_FILTERS = {
    "regime": "c.regime = {}",
    "status": "c.status = {}",
    "open": "(c.status <> 'closed') = {}",
    "object_id": "c.establishment_id = {}",
    "location_id": "c.location_id = {}",
    "wijk": "c.wijk = {}",
    "kenmerk": "c.kenmerk = {}",
}
# Cases newest first by (opened_at, id).
CASE_LIST = KeysetQuery(
    select=f"SELECT {CASE_COLUMNS} FROM enforcement_case c",
    visible=VISIBLE,
    filter_sql=_CASE_FILTERS,
    order_by=(("c.opened_at", "timestamptz"), ("c.id", "uuid")),
    newest_first=True,
)


# --- letters to post ----------------------------------------------------------------------------------------------

# Sent letters marked for post, or whose e-mail failed for good (the steps $2), that nobody recorded as posted, of
# the caller's regimes, oldest sending first. A decision withdrawn before it was posted is not posted any more.
POSTING_LIST = KeysetQuery(
    select="""SELECT s.id AS step_id, s.case_id, c.version AS case_version, s.seq, s.type, s.decision, s.sent_on,
       c.regime, c.wijk, c.establishment_id AS object_id, c.location_id
FROM enforcement_step s JOIN enforcement_case c ON c.id = s.case_id""",
    visible=f"""{VISIBLE} AND (s.dispatch = 'post' OR s.id = ANY ($2::uuid[]))
AND s.letter_posted_on IS NULL AND s.withdrawn_on IS NULL""",
    filter_sql={"regime": "c.regime = {}"},
    order_by=(("s.sent_on", "date"), ("s.id", "uuid")),
)


# --- steps ready to send ------------------------------------------------------------------------------------------

# Steps of open cases that may be sent now, longest waiting first by (created_at, id): those whose kind and status
# are one of the pairs $2, $3 (steps.ready_to_send: a drafted warning or voornemen, an approved decision).
READY_LIST = KeysetQuery(
    select="""SELECT s.id AS step_id, s.case_id, c.version AS case_version, s.type, s.decision, s.status,
       s.amount_cents, c.regime, c.wijk, c.establishment_id AS object_id, c.location_id, s.drafted_by,
       s.created_at AS drafted_at
FROM enforcement_step s JOIN enforcement_case c ON c.id = s.case_id""",
    visible=f"""{VISIBLE} AND c.status <> 'closed'
AND (s.type, s.status) IN (SELECT * FROM unnest($2::text[], $3::text[]))""",
    filter_sql={"case_id": "s.case_id = {}", "regime": "c.regime = {}"},
    order_by=(("s.created_at", "timestamptz"), ("s.id", "uuid")),
)


# --- approvals worklist ------------------------------------------------------------------------------------------

# Drafted decisions of open cases the caller ($2) may approve: not their own draft, and resting on no violation
# they inspected (the vier-ogen rules approve_step applies).
AWAITING_APPROVAL_BY = """s.status = 'draft' AND s.type IN ('besluit', 'invordering') AND c.status <> 'closed'
AND s.drafted_by <> $2
AND NOT EXISTS (SELECT 1 FROM enforcement_case_violation cv
                WHERE cv.case_id = s.case_id AND cv.violation_id = ANY (s.violation_ids)
                  AND $2 = ANY (cv.inspector_ids))"""

# Steps awaiting the approver (the scope's last argument), longest waiting first by (created_at, id).
APPROVAL_LIST = KeysetQuery(
    select="""SELECT s.id AS step_id, s.case_id, c.version AS case_version, s.type, s.decision, s.amount_cents,
       c.regime, c.wijk, c.establishment_id AS object_id, c.location_id, s.drafted_by, s.created_at AS drafted_at
FROM enforcement_step s JOIN enforcement_case c ON c.id = s.case_id""",
    visible=f"{VISIBLE} AND {AWAITING_APPROVAL_BY}",
    filter_sql={"case_id": "s.case_id = {}", "regime": "c.regime = {}"},
    order_by=(("s.created_at", "timestamptz"), ("s.id", "uuid")),
)
