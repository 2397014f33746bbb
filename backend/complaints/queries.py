"""SQL for complaints. Every value is a bind parameter; list statements are assembled from the fixed fragments
below, one per filter the caller gives. No statement here but REPORTER and FEEDBACK_CONTACT (the e-mail to the
reporter) reads details from complaint_reporter (WANTS_EMAIL and REPORTERS_TO_INFORM only ask whether there is an
address): lists and every other read cannot carry the reporter's identity or contact details."""

from __future__ import annotations

from backend.core.pagination import KeysetQuery
from backend.core.visibility import Visibility

# Who may see a complaint: $1 the caller's regimes; $2 whether the caller handles complaints (or is an admin):
# they alone see complaints without a regime. A sex-work complaint has regime sexwork, so only users scoped for
# sexwork see it.
VISIBLE = "(c.regime = ANY ($1::text[]) OR (c.regime IS NULL AND $2::boolean))"


def visible_args(seen: Visibility) -> tuple[list[str], bool]:
    """The bind values $1-$2 of VISIBLE, in its order: a complaint without a regime only for handlers."""
    return seen.regimes, seen.complaint_handler


OPEN_STATES = "('received', 'in_progress', 'inspection_planned', 'reopened')"

SUMMARY_COLUMNS = """c.id, c.category, c.regime, c.channel, c.description, c.state, c.street, c.house_number,
c.house_number_addition, c.postcode, c.city, c.latitude, c.longitude, c.wijk, c.wijk_source,
c.establishment_id AS object_id, c.handler_id, c.wants_feedback, c.received_at, c.acknowledgement_due_on,
c.resolution_due_on, c.version"""

COLUMNS = f"""{SUMMARY_COLUMNS}, c.incident_at, c.external_reference, c.has_contact, c.acknowledged_at, c.outcome,
c.answer, c.answered_at, c.forwarded_to, c.closed_at, c.created_by, c.created_at, c.updated_at,
c.reporter_informed_at, c.reporter_informed_by, c.reporter_informed_how"""

INSERT = f"""
INSERT INTO complaint AS c (id, category, regime, channel, external_reference, description, incident_at, street,
    house_number, house_number_addition, postcode, city, latitude, longitude, wijk, wijk_source, establishment_id,
    wants_feedback, has_contact, received_at, acknowledgement_due_on, resolution_due_on, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
RETURNING {COLUMNS}
"""

INSERT_REPORTER = "INSERT INTO complaint_reporter (complaint_id, name, email, phone) VALUES ($1, $2, $3, $4)"

# The next history entry; the complaint row is written (so locked) earlier in the same transaction.
INSERT_TRANSITION = """
INSERT INTO complaint_transition (complaint_id, seq, from_state, to_state, actor_id, reason, outcome, answer,
                                  forwarded_to, assignment_id)
SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 FROM complaint_transition WHERE complaint_id = $1
"""

GET = f"SELECT {COLUMNS} FROM complaint c WHERE c.id = $3 AND {VISIBLE}"

REPORTER = "SELECT name, email, phone FROM complaint_reporter WHERE complaint_id = $1"

HISTORY = """
SELECT seq, from_state, to_state, actor_id, occurred_at, reason, outcome, answer, forwarded_to, assignment_id
FROM complaint_transition WHERE complaint_id = $1 ORDER BY seq
"""

# Other complaints the caller may see about the same object ($4) or address ($5, $6, $7), newest first.
RELATED = f"""
SELECT c.id, c.category, c.state, c.received_at FROM complaint c
WHERE c.id <> $3 AND {VISIBLE}
  AND ((c.establishment_id = $4::uuid)
       OR (c.postcode = $5::text AND c.house_number = $6::integer
           AND coalesce(c.house_number_addition, '') = coalesce($7::text, '')))
ORDER BY c.received_at DESC, c.id DESC LIMIT 20
"""

# A state change checks the version and the state it leaves in the UPDATE itself. Resolving sets the outcome
# and answer, rejecting the partner and answer, reopening clears them and moves the resolution date ($9).
TRANSITION = f"""
UPDATE complaint AS c SET state = $4, outcome = $5, answer = $6,
    answered_at = CASE WHEN $6::text IS NULL THEN NULL ELSE now() END, forwarded_to = $7,
    closed_at = CASE WHEN $8::boolean THEN now() END, resolution_due_on = coalesce($9::date, resolution_due_on),
    acknowledged_at = coalesce(acknowledged_at, now()), version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2 AND state = $3
RETURNING {COLUMNS}
"""

SET_HANDLER = f"""
UPDATE complaint AS c SET handler_id = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {COLUMNS}
"""

# The reporter was informed another way ($3 how, $4 who) after an e-mail to them failed for good.
SET_REPORTER_INFORMED = f"""
UPDATE complaint AS c SET reporter_informed_at = now(), reporter_informed_how = $3, reporter_informed_by = $4,
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {COLUMNS}
"""

# --- lists --------------------------------------------------------------------------------------------------

_FILTERS = {
    "state": "c.state = {}",
    "category": "c.category = {}",
    "wijk": "c.wijk = {}",
    "object_id": "c.establishment_id = {}",
    "postcode": "c.postcode = {}",
    "house_number": "c.house_number = {}",
    "handler": "c.handler_id = {}",
    "regime": "c.regime = {}",
}
# Complaints newest first by (received_at, id).
COMPLAINT_LIST = KeysetQuery(
    select=f"SELECT {SUMMARY_COLUMNS} FROM complaint c",
    visible=VISIBLE,
    filter_sql=_FILTERS,
    order_by=(("c.received_at", "timestamptz"), ("c.id", "uuid")),
    newest_first=True,
)


# The reporters a handler must inform, the oldest first by when they became so, unless the handler recorded informing
# them since: those with an e-mail that failed for good ($3 and $4: the complaints with such an e-mail and when its
# last one failed; the outbox knows them, this feature's SQL reads only its own tables), and those who want feedback
# but left no e-mail address, once the complaint is answered (resolved or rejected): no e-mail can carry the answer.
# The two never meet on one complaint: e-mails go only to reporters with an address. Of complaint_reporter only
# whether there is an address is asked.
REPORTERS_TO_INFORM = KeysetQuery(
    select=f"""SELECT {SUMMARY_COLUMNS}, w.since AS to_inform_since, w.because AS to_inform_because,
    w.failed_at AS email_failed_at
FROM complaint c JOIN (
    SELECT f.complaint_id, f.failed_at AS since, 'email_failed' AS because, f.failed_at
    FROM unnest($3::uuid[], $4::timestamptz[]) AS f (complaint_id, failed_at)
    UNION ALL
    SELECT a.id, a.answered_at, 'no_email_address', NULL
    FROM complaint a JOIN complaint_reporter r ON r.complaint_id = a.id
    WHERE a.state IN ('resolved', 'rejected') AND a.wants_feedback AND a.answered_at IS NOT NULL AND r.email IS NULL
) AS w ON w.complaint_id = c.id""",
    visible=f"{VISIBLE} AND (c.reporter_informed_at IS NULL OR c.reporter_informed_at < w.since)",
    filter_sql=_FILTERS,
    order_by=(("w.since", "timestamptz"), ("c.id", "uuid")),
    key_names=("to_inform_since", "id"),
)


# Per deadline: the complaints it still runs for (the partial index's condition, word for word) and its column.
_DEADLINES = {
    "resolution": (f"c.state IN {OPEN_STATES}", "c.resolution_due_on"),
    "acknowledgement": ("c.state = 'received'", "c.acknowledgement_due_on"),
}
# Per deadline, open complaints by (due date, id), the earliest first: `before` (overdue: due before today),
# `from` and `by` bound the due date.
DUE_LISTS = {
    deadline: KeysetQuery(
        select=f"SELECT {SUMMARY_COLUMNS} FROM complaint c",
        visible=f"{running} AND {VISIBLE}",
        filter_sql={**_FILTERS, "before": f"{column} < {{}}", "from": f"{column} >= {{}}", "by": f"{column} <= {{}}"},
        order_by=((column, "date"), ("c.id", "uuid")),
    )
    for deadline, (running, column) in _DEADLINES.items()
}


# Objects with the most complaints the caller may see received since $3 (at least $4), optionally in wijk $5 or
# for one object $6; at most $7.
HOTSPOTS = f"""
SELECT c.establishment_id AS object_id, count(*) AS complaints, max(c.received_at) AS last_received_at
FROM complaint c
WHERE c.establishment_id IS NOT NULL AND c.received_at >= $3 AND {VISIBLE}
  AND ($5::text IS NULL OR c.wijk = $5) AND ($6::uuid IS NULL OR c.establishment_id = $6)
GROUP BY c.establishment_id
HAVING count(*) >= $4
ORDER BY complaints DESC, last_received_at DESC, object_id
LIMIT $7
"""

# What an e-mail to the reporter needs: their address (when they want feedback), the day of receipt and the
# latest answer recorded for them (a reopened complaint keeps its earlier answers in its history).
FEEDBACK_CONTACT = """
SELECT r.email, c.received_at, c.resolution_due_on,
    (SELECT t.answer FROM complaint_transition t WHERE t.complaint_id = c.id AND t.answer IS NOT NULL
     ORDER BY t.seq DESC LIMIT 1) AS answer
FROM complaint c JOIN complaint_reporter r ON r.complaint_id = c.id
WHERE c.id = $1 AND c.wants_feedback AND r.email IS NOT NULL
"""

# Whether the reporter is to hear by e-mail, and when $2, whether there is an answer now (resolved or rejected
# while they want feedback). Nothing personal leaves the query.
WANTS_EMAIL = """
SELECT EXISTS (SELECT 1 FROM complaint c JOIN complaint_reporter r ON r.complaint_id = c.id
               WHERE c.id = $1 AND c.wants_feedback AND r.email IS NOT NULL AND (NOT $2 OR c.answer IS NOT NULL))
"""
