-- The way out of the service: webhook subscriptions and the transactional outbox that feeds them.

-- A receiver outside the service: where to POST, which event types, for which regimes. The secret signs each
-- delivery (Standard Webhooks); during a rotation the previous secret signs too, until previous_secret_until.
-- A deleted subscription stays (its messages refer to it) but receives nothing more.
CREATE TABLE webhook_subscription (
    id                      uuid PRIMARY KEY,
    url                     text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    event_types             text[] NOT NULL CHECK (cardinality(event_types) >= 1),
    regimes                 text[] NOT NULL CHECK (cardinality(regimes) >= 1),
    description             text CHECK (length(description) <= 300),
    secret                  text NOT NULL,
    previous_secret         text,
    previous_secret_until   timestamptz,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    created_by              uuid REFERENCES app_user (id),
    deleted_at              timestamptz
);

CREATE INDEX webhook_subscription_live ON webhook_subscription (created_at, id) WHERE deleted_at IS NULL;

-- One message per (event, subscription), written in the transaction of the change the event announces. Its id is
-- the stable `webhook-id` of every attempt. A dispatcher claims a due message by moving next_attempt_at past a
-- lease and writing its claim token; a dispatcher that dies mid-delivery leaves the message due again when the
-- lease ends, so it is delivered at least once. state: pending (to deliver), delivered, dead (retries exhausted:
-- a dead letter an admin can replay), cancelled (its subscription was deleted).
CREATE TABLE outbox_message (
    id                  uuid PRIMARY KEY,
    event_id            uuid NOT NULL,
    event_type          text NOT NULL,
    subscription_id     uuid NOT NULL REFERENCES webhook_subscription (id),
    payload             jsonb NOT NULL,
    state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    claim               uuid,
    last_attempt_at     timestamptz,
    last_status         integer,
    last_error          text,
    delivered_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, subscription_id)
);

CREATE INDEX outbox_message_due ON outbox_message (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_message_by_subscription ON outbox_message (subscription_id, state, created_at, id);
CREATE INDEX outbox_message_by_state ON outbox_message (state, created_at, id);
