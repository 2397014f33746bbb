-- Linking audit events at commit. Until now an event was linked when written (audit_append), so the chain lock
-- was held from that statement until the COMMIT that followed it: one round trip to the application, which
-- under load waits its turn on a busy event loop. Every audited write in the system queued behind that wait.
--
-- Now the application inserts the event unlinked (no seq, no hashes; the SHA-256 of its canonical content in
-- pending_content_sha256) and a deferred constraint trigger links it during COMMIT: it takes the chain lock,
-- numbers the event, reads the head and writes the link. The lock is held from there to the end of the commit,
-- with no round trip to the application in between. Links keep version 2:
-- row_hash = sha256(prev_hash || ':' || seq || ':' || content_sha256).
--
-- An unlinked event exists only inside its own transaction: the trigger always runs before the commit ends.
-- The append-only rule allows exactly one UPDATE: the link trigger setting the link of an unlinked row.

ALTER TABLE audit_event DROP CONSTRAINT audit_event_pkey;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_pkey PRIMARY KEY (id);
ALTER TABLE audit_event DROP CONSTRAINT audit_event_id_key;
ALTER TABLE audit_event ALTER COLUMN seq DROP DEFAULT, ALTER COLUMN seq DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL, ALTER COLUMN row_hash DROP NOT NULL;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_seq_key UNIQUE (seq);
ALTER TABLE audit_event ADD COLUMN pending_content_sha256 text CHECK (pending_content_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE audit_event ADD CONSTRAINT audit_event_linked_or_pending CHECK (
    CASE WHEN seq IS NULL THEN prev_hash IS NULL AND row_hash IS NULL AND pending_content_sha256 IS NOT NULL
         ELSE prev_hash IS NOT NULL AND row_hash IS NOT NULL AND pending_content_sha256 IS NULL END);

-- Refuses UPDATE, DELETE and TRUNCATE, except the link of an unlinked event by audit_link (trigger depth 2:
-- this trigger fired by audit_link's UPDATE; a statement of a user runs it at depth 1).
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_LEVEL = 'ROW' AND pg_trigger_depth() > 1 AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND NEW.pending_content_sha256 IS NULL AND NEW.hash_version = 2
       AND (NEW.id, NEW.occurred_at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.object_type, NEW.object_id,
            NEW.request_id, NEW.reason, NEW.before, NEW.after)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.object_type, OLD.object_id,
            OLD.request_id, OLD.reason, OLD.before, OLD.after) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The chain head is read after the lock is held with a fresh snapshot, so it sees every event committed
-- before; that holds only in READ COMMITTED (a repeatable-read snapshot would miss the head).
CREATE FUNCTION audit_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
    head text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit events are written in READ COMMITTED transactions, not %',
            current_setting('transaction_isolation') USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    next_seq := nextval('audit_event_seq_seq');
    SELECT e.row_hash INTO head FROM audit_event e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    head := coalesce(head, repeat('0', 64));
    UPDATE audit_event
    SET seq = next_seq, prev_hash = head, hash_version = 2, pending_content_sha256 = NULL,
        row_hash = encode(sha256(convert_to(head || ':' || next_seq::text || ':' || NEW.pending_content_sha256,
                                            'UTF8')), 'hex')
    WHERE id = NEW.id;
    RETURN NULL;
END;
$$;

-- The argument is the advisory lock key of the chain: "audit_ch" as a bigint (0x61756469745F6368).
CREATE CONSTRAINT TRIGGER audit_event_link_at_commit
    AFTER INSERT ON audit_event DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.seq IS NULL) EXECUTE FUNCTION audit_link('7022629598040908648');

DROP FUNCTION audit_append(bigint, uuid, timestamptz, uuid, text, text, text, text, text, text, jsonb, jsonb, text);
