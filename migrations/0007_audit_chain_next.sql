-- Extending the audit chain in one round trip. Writers serialise on an advisory transaction lock held until
-- commit; the fewer round trips between taking it and committing, the more writes per second the chain
-- allows (with three round trips under the lock it capped submissions at about 470/s on a 2-core machine).
-- A VOLATILE function takes a fresh snapshot for each statement, so the head is read after the lock is held
-- and sees every event committed before. See backend/core/audit.py.
CREATE FUNCTION audit_chain_next(lock_key bigint, OUT next_seq bigint, OUT head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    next_seq := nextval('audit_event_seq_seq');
    SELECT e.row_hash INTO head_hash FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
    head_hash := coalesce(head_hash, repeat('0', 64));
END;
$$;
