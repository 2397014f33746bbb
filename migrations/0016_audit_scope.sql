-- The audit trail follows the sex-work scope, and auditors read it by actor and by period.
--
-- An event of a sex-work record (an object, location, permit, assignment, inspection, photo, enforcement case,
-- complaint or checklist template of the sexwork regime) is as sensitive as the record: it names the record and
-- often its category or wijk. `scope_regime` holds the regime a reader of the trail needs to see the event:
-- 'sexwork' for those events, NULL for the rest. audit_scope_of() below is the one place that decides it; the
-- link trigger sets it while the event's transaction commits (when every record that transaction wrote
-- exists), so no feature has to pass it along. It is an access label derived from the record, not part of what
-- happened: it stays out of the event's content hash (the chain's links are unchanged), and the append-only
-- rule keeps it from being changed after the link.
--
-- Indexes for the auditor's questions "what did this person do or look at" and "what happened in this period":
-- both are keyset reads in (occurred_at, seq) order. Built inside this migration's transaction, so writes of the
-- trail wait for them once.

ALTER TABLE audit_event ADD COLUMN scope_regime text CHECK (scope_regime IN ('sexwork'));

CREATE INDEX audit_event_actor_idx ON audit_event (actor_id, occurred_at, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_event_period_idx ON audit_event (occurred_at, seq);

CREATE FUNCTION audit_uuid(value text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN value::uuid END
$$;

-- The regime a reader of the trail needs for an event of this object ('sexwork' or NULL), from the object's
-- current regimes. A photo is as sensitive as its inspection (named in the event when the photo row is gone).
CREATE FUNCTION audit_scope_of(event_object_type text, event_object_id text, event_before jsonb, event_after jsonb)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    target uuid := audit_uuid(event_object_id);
    found_regimes text[];
BEGIN
    CASE event_object_type
    WHEN 'establishment' THEN
        SELECT e.regimes INTO found_regimes FROM establishment e WHERE e.id = target;
    WHEN 'location' THEN
        SELECT l.regimes INTO found_regimes FROM location l WHERE l.id = target;
    WHEN 'permit' THEN
        SELECT e.regimes INTO found_regimes FROM permit p JOIN establishment e ON e.id = p.establishment_id
        WHERE p.id = target;
    WHEN 'assignment' THEN
        SELECT a.regimes INTO found_regimes FROM assignment a WHERE a.id = target;
    WHEN 'inspection' THEN
        SELECT i.regimes INTO found_regimes FROM inspection i WHERE i.id = target;
    WHEN 'photo' THEN
        SELECT i.regimes INTO found_regimes FROM inspection i
        WHERE i.id = coalesce((SELECT p.inspection_id FROM photo p WHERE p.id = target),
                              audit_uuid(event_after ->> 'inspection_id'), audit_uuid(event_before ->> 'inspection_id'));
    WHEN 'enforcement_case' THEN
        SELECT ARRAY[c.regime] INTO found_regimes FROM enforcement_case c WHERE c.id = target;
    WHEN 'complaint' THEN
        SELECT ARRAY[c.regime] INTO found_regimes FROM complaint c WHERE c.id = target;
    WHEN 'checklist_template' THEN
        SELECT ARRAY[t.regime] INTO found_regimes FROM checklist_template t WHERE t.key = event_object_id;
    ELSE
        NULL;
    END CASE;
    RETURN CASE WHEN 'sexwork' = ANY (found_regimes) THEN 'sexwork' END;
END;
$$;

-- As in 0014, and it sets the scope, looked up before the chain lock is taken (it is no part of the link). The
-- append-only rule lets the link's UPDATE through: the scope is not among the content it compares.
CREATE OR REPLACE FUNCTION audit_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
    head text;
    scope text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit events are written in READ COMMITTED transactions, not %',
            current_setting('transaction_isolation') USING ERRCODE = 'feature_not_supported';
    END IF;
    scope := audit_scope_of(NEW.object_type, NEW.object_id, NEW.before, NEW.after);
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    next_seq := nextval('audit_event_seq_seq');
    SELECT e.row_hash INTO head FROM audit_event e WHERE e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
    head := coalesce(head, repeat('0', 64));
    UPDATE audit_event
    SET seq = next_seq, prev_hash = head, hash_version = 2, pending_content_sha256 = NULL, scope_regime = scope,
        row_hash = encode(sha256(convert_to(head || ':' || next_seq::text || ':' || NEW.pending_content_sha256,
                                            'UTF8')), 'hex')
    WHERE id = NEW.id;
    RETURN NULL;
END;
$$;

-- Events written before today get their scope once, the same way.
ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete;
UPDATE audit_event SET scope_regime = audit_scope_of(object_type, object_id, before, after)
WHERE seq IS NOT NULL AND audit_scope_of(object_type, object_id, before, after) IS NOT NULL;
ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete;
