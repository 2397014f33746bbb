"""SQL for webhook subscriptions and the outbox. One constant per statement; every value is a bind parameter."""

CHANNEL = "outbox_message"  # NOTIFY channel: new or replayed messages are due now

_DELIVERY_STATE = """
    (SELECT count(*) FILTER (WHERE m.state = 'pending') FROM outbox_message m WHERE m.subscription_id = s.id)
        AS pending,
    (SELECT count(*) FILTER (WHERE m.state = 'delivered') FROM outbox_message m WHERE m.subscription_id = s.id)
        AS delivered,
    (SELECT count(*) FILTER (WHERE m.state = 'dead') FROM outbox_message m WHERE m.subscription_id = s.id) AS dead,
    last.last_attempt_at, last.last_status, last.last_error,
    (SELECT min(m.next_attempt_at) FROM outbox_message m WHERE m.subscription_id = s.id AND m.state = 'pending')
        AS next_attempt_at
"""
_LAST_ATTEMPT = """
LEFT JOIN LATERAL (
    SELECT m.last_attempt_at, m.last_status, m.last_error FROM outbox_message m
    WHERE m.subscription_id = s.id AND m.last_attempt_at IS NOT NULL
    ORDER BY m.last_attempt_at DESC LIMIT 1
) last ON true
"""
SUBSCRIPTION_COLUMNS = (
    "s.id, s.url, s.event_types, s.regimes, s.description, s.version, s.created_at, "
    "CASE WHEN s.previous_secret_until > now() THEN s.previous_secret_until END AS previous_secret_until"
)

INSERT_SUBSCRIPTION = """
INSERT INTO webhook_subscription (id, url, event_types, regimes, description, secret, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

GET_SUBSCRIPTION = f"""
SELECT {SUBSCRIPTION_COLUMNS}, {_DELIVERY_STATE}
FROM webhook_subscription s {_LAST_ATTEMPT}
WHERE s.id = $1 AND s.deleted_at IS NULL
"""

# Keyset page in creation order.
LIST_SUBSCRIPTIONS = f"""
SELECT {SUBSCRIPTION_COLUMNS}, {_DELIVERY_STATE}
FROM webhook_subscription s {_LAST_ATTEMPT}
WHERE s.deleted_at IS NULL AND ($1::timestamptz IS NULL OR (s.created_at, s.id) > ($1, $2::uuid))
ORDER BY s.created_at, s.id
LIMIT $3
"""

DELETE_SUBSCRIPTION = """
UPDATE webhook_subscription SET deleted_at = now(), version = version + 1
WHERE id = $1 AND version = $2 AND deleted_at IS NULL
RETURNING id
"""

# What was waiting for a deleted subscription is not sent any more.
CANCEL_PENDING = (
    "UPDATE outbox_message SET state = 'cancelled', claim = NULL WHERE subscription_id = $1 AND state = 'pending'"
)

ROTATE_SECRET = """
UPDATE webhook_subscription
SET previous_secret = secret, previous_secret_until = now() + make_interval(hours => $3), secret = $4,
    version = version + 1
WHERE id = $1 AND version = $2 AND deleted_at IS NULL
RETURNING id
"""

SUBSCRIPTION_EXISTS = "SELECT version FROM webhook_subscription WHERE id = $1 AND deleted_at IS NULL"

# One message per subscription that wants this event type and may hear of its regimes: an event of no regime
# goes to every such subscription; otherwise the scopes must share a regime, and sex work only to subscriptions
# scoped for it. New messages wake the dispatchers when the transaction commits (a trigger notifies CHANNEL:
# migrations/0066_outbox_notify_on_insert.sql).
ENQUEUE = """
INSERT INTO outbox_message (id, event_id, event_type, subscription_id, payload)
SELECT uuid7(), $1, $2, s.id, $4::jsonb
FROM webhook_subscription s
WHERE s.deleted_at IS NULL AND $2 = ANY (s.event_types)
  AND (cardinality($3::text[]) = 0 OR s.regimes && $3::text[])
  AND (NOT 'sexwork' = ANY ($3::text[]) OR 'sexwork' = ANY (s.regimes))
ON CONFLICT (event_id, subscription_id) DO NOTHING
"""

# Claim due messages for one attempt each: they are not due again until the lease ends (a dispatcher that dies
# mid-delivery loses them only until then), and only the holder of `claim` may record the outcome. E-mail
# messages only when $3 (an SMTP server is configured); otherwise they wait. The payload as text: the bytes a
# webhook signature covers.
CLAIM = """
UPDATE outbox_message m
SET attempts = m.attempts + 1, next_attempt_at = now() + make_interval(secs => $1), claim = gen_random_uuid(),
    last_attempt_at = now()
FROM outbox_message due LEFT JOIN webhook_subscription s ON s.id = due.subscription_id
WHERE due.id = m.id AND m.id IN (
    SELECT id FROM outbox_message WHERE state = 'pending' AND next_attempt_at <= now() AND (channel = 'webhook' OR $3)
    ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING m.id, m.claim, m.attempts, m.payload::text AS payload, m.channel, m.event_type, m.complaint_id,
    m.step_id, m.created_at, s.url, s.secret,
    CASE WHEN s.previous_secret_until > now() THEN s.previous_secret END AS previous_secret
"""

# An e-mail message for a complaint's reporter ($3) or of a sent step's letter ($5); at most one per event. Wakes
# the dispatchers on commit, as every new message does.
ENQUEUE_EMAIL = """
INSERT INTO outbox_message (id, event_id, event_type, channel, complaint_id, payload, step_id)
VALUES (uuid7(), $1, $2, 'email', $3, $4::jsonb, $5)
ON CONFLICT (event_id) WHERE channel = 'email' DO NOTHING
"""

DELIVERED = """
UPDATE outbox_message m
SET state = 'delivered', delivered_at = now(), last_status = d.status, last_error = NULL, claim = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::integer[]) AS d (id, claim, status)
WHERE m.id = d.id AND m.claim = d.claim AND m.state = 'pending'
RETURNING m.step_id, m.delivered_at
"""

# A failed attempt: again after `delay` seconds, or a dead letter once `max_attempts` were made; cancelled when
# it failed for good ($7: a withdrawn decision's letter).
FAILED = """
UPDATE outbox_message
SET state = CASE WHEN $7 THEN 'cancelled' WHEN attempts >= $6 THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + make_interval(secs => $3), last_status = $4, last_error = $5, claim = NULL
WHERE id = $1 AND claim = $2 AND state = 'pending'
RETURNING state, attempts, subscription_id, event_type, channel
"""

# The soonest a pending message this dispatcher may send is due (an idle dispatcher sleeps until then at most).
NEXT_DUE = "SELECT min(next_attempt_at) FROM outbox_message WHERE state = 'pending' AND (channel = 'webhook' OR $1)"

MESSAGE_COLUMNS = """id, event_id, event_type, channel, subscription_id, complaint_id, step_id, state, attempts,
    CASE WHEN state = 'pending' THEN next_attempt_at END AS next_attempt_at, last_attempt_at, last_status,
    last_error, delivered_at, created_at"""

GET_MESSAGE = f"SELECT {MESSAGE_COLUMNS} FROM outbox_message WHERE id = $1"

LIST_MESSAGES = f"""
SELECT {MESSAGE_COLUMNS} FROM outbox_message
WHERE ($1::text IS NULL OR state = $1) AND ($2::uuid IS NULL OR subscription_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::uuid))
ORDER BY created_at, id
LIMIT $5
"""

# A dead letter is due again now, with a fresh count of attempts (same id: receivers see the same webhook-id,
# an e-mail the same Message-ID).
REPLAY = f"""
WITH replayed AS (
    UPDATE outbox_message m SET state = 'pending', attempts = 0, next_attempt_at = now(), claim = NULL
    WHERE m.id = $1 AND m.state = 'dead' AND (m.channel = 'email' OR EXISTS (
        SELECT 1 FROM webhook_subscription s WHERE s.id = m.subscription_id AND s.deleted_at IS NULL
    ))
    RETURNING m.id
)
SELECT id, pg_notify('{CHANNEL}', '') FROM replayed
"""

# The e-mails of sent letters, by step (one per step: one step.sent event).
LETTER_EMAILS = """
SELECT id, step_id, state, attempts, last_error, delivered_at FROM outbox_message
WHERE channel = 'email' AND step_id = ANY ($1::uuid[])
"""

# When a message was last tried (a dead one: when it failed for good; a message cancelled untried: when made).
_TRIED_AT = "coalesce(last_attempt_at, created_at)"

# The e-mails to a complaint's reporter, oldest first (the state only: the address is read when sending).
COMPLAINT_EMAILS = f"""
SELECT id, event_type, state, attempts, last_error, delivered_at, {_TRIED_AT} AS last_at
FROM outbox_message WHERE channel = 'email' AND complaint_id = $1
ORDER BY created_at, id
"""

# The complaints with an e-mail to the reporter that failed for good, and when the last of those failed: the
# handler informs those reporters another way.
FAILED_COMPLAINT_EMAILS = f"""
SELECT complaint_id, max({_TRIED_AT}) AS failed_at FROM outbox_message
WHERE state = 'dead' AND channel = 'email' AND complaint_id IS NOT NULL
GROUP BY complaint_id
"""

# The sent steps whose letter's e-mail failed for good: the back office posts those instead.
FAILED_LETTER_STEPS = (
    "SELECT step_id FROM outbox_message WHERE state = 'dead' AND channel = 'email' AND step_id IS NOT NULL"
)

DEAD_LETTER_IDS = "SELECT id FROM outbox_message WHERE state = 'dead' ORDER BY created_at, id"

BACKLOG = """
SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'dead') AS dead,
    coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending')), 0)::float8
        AS oldest_pending_s
FROM outbox_message WHERE state IN ('pending', 'dead')
"""
