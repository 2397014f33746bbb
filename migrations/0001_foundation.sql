-- Foundation: users known from verified tokens, idempotency keys, the audit trail, and the wijken.

-- A user is keyed by (issuer, subject) from a verified token and refreshed from it, so coordinators can
-- assign work to inspectors who have logged in before. Deactivated users' tokens are refused.
CREATE TABLE app_user (
    id            uuid PRIMARY KEY,
    issuer        text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 255),
    subject       text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    display_name  text CHECK (length(display_name) <= 200),
    roles         text[] NOT NULL DEFAULT '{}',
    regimes       text[] NOT NULL DEFAULT '{}',
    teams         text[] NOT NULL DEFAULT '{}',
    active        boolean NOT NULL DEFAULT true,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz,
    UNIQUE (issuer, subject)
);
CREATE INDEX app_user_teams_idx ON app_user USING gin (teams);

-- Idempotency-Key per principal: the request's fingerprint and the response it got, stored in the
-- transaction of the effect.
CREATE TABLE idempotency_key (
    user_id           uuid NOT NULL REFERENCES app_user (id),
    key               text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint       text NOT NULL,
    status_code       integer NOT NULL,
    response_body     bytea NOT NULL,
    response_headers  jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_key_expires_idx ON idempotency_key (expires_at);

-- Append-only, hash-chained audit trail (see backend/core/audit.py for the hash).
CREATE TABLE audit_event (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    occurred_at  timestamptz NOT NULL,
    actor_id     uuid,
    actor_label  text NOT NULL,
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_id    text NOT NULL,
    request_id   text,
    reason       text,
    before       jsonb,
    after        jsonb,
    prev_hash    text NOT NULL,
    row_hash     text NOT NULL UNIQUE
);
CREATE INDEX audit_event_object_idx ON audit_event (object_type, object_id, seq);

CREATE FUNCTION audit_event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_event_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_is_append_only();
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_is_append_only();

-- Utrecht's ten wijken: every object and complaint location belongs to one; reports are cut per wijk.
CREATE TABLE wijk (
    code  text PRIMARY KEY,
    name  text NOT NULL UNIQUE
);
INSERT INTO wijk (code, name) VALUES
    ('binnenstad', 'Binnenstad'),
    ('oost', 'Oost'),
    ('leidsche_rijn', 'Leidsche Rijn'),
    ('west', 'West'),
    ('overvecht', 'Overvecht'),
    ('zuid', 'Zuid'),
    ('noordoost', 'Noordoost'),
    ('zuidwest', 'Zuidwest'),
    ('noordwest', 'Noordwest'),
    ('vleuten_de_meern', 'Vleuten-De Meern');
