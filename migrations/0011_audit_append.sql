-- Appending to the audit chain in one statement. The lock is an advisory transaction lock held until commit,
-- so the time between taking it and committing caps how many writes per second the whole system makes. Taking
-- the lock, numbering the event, reading the chain head, linking and inserting now happen in one call: no round
-- trip to the application (which may be busy with other requests) happens while the lock is held, except the
-- COMMIT itself.
--
-- Version 2 links: row_hash = sha256(prev_hash || ':' || seq || ':' || content_sha256), where content_sha256 is
-- the SHA-256 of the event's canonical content (everything but seq and the hashes), computed by the application
-- and recomputed by verification. Events written before this migration keep version 1 (seq inside the content).
-- A VOLATILE function takes a fresh snapshot per statement (READ COMMITTED), so the head is read after the lock
-- is held and sees every event committed before. See backend/core/audit.py.
ALTER TABLE audit_event ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));

CREATE FUNCTION audit_append(
    lock_key bigint, p_id uuid, p_occurred_at timestamptz, p_actor_id uuid, p_actor_label text, p_action text,
    p_object_type text, p_object_id text, p_request_id text, p_reason text, p_before jsonb, p_after jsonb,
    p_content_sha256 text
) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    next_seq bigint;
    head text;
    linked text;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    next_seq := nextval('audit_event_seq_seq');
    SELECT e.row_hash INTO head FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
    head := coalesce(head, repeat('0', 64));
    linked := encode(sha256(convert_to(head || ':' || next_seq::text || ':' || p_content_sha256, 'UTF8')), 'hex');
    INSERT INTO audit_event (seq, id, occurred_at, actor_id, actor_label, action, object_type, object_id, request_id,
                             reason, before, after, prev_hash, row_hash, hash_version)
    VALUES (next_seq, p_id, p_occurred_at, p_actor_id, p_actor_label, p_action, p_object_type, p_object_id,
            p_request_id, p_reason, p_before, p_after, head, linked, 2);
    RETURN linked;
END;
$$;

DROP FUNCTION audit_chain_next(bigint);
