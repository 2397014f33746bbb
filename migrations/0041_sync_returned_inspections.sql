-- Phone sync tells an inspector that an inspection came back to them: a row for the submitter and every
-- inspector present (those who may correct it) whenever an inspection becomes returned or stops being
-- returned (corrected). The sync reads its state then: returned with the reason, or a tombstone.
ALTER TABLE sync_feed DROP CONSTRAINT sync_feed_entity_check;
ALTER TABLE sync_feed ADD CONSTRAINT sync_feed_entity_check
    CHECK (entity IN ('assignment', 'object', 'location', 'checklist_version', 'inspection'));

CREATE FUNCTION sync_feed_inspection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.state = 'returned') IS DISTINCT FROM (OLD.state = 'returned') THEN
        INSERT INTO sync_feed (user_id, entity, entity_id)
        SELECT DISTINCT u, 'inspection', NEW.id FROM unnest(array_append(NEW.inspector_ids, NEW.submitted_by)) AS u;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sync_feed_inspection AFTER UPDATE OF state ON inspection
    FOR EACH ROW EXECUTE FUNCTION sync_feed_inspection();

-- A full sync reads the caller's returned inspections: few among many.
CREATE INDEX inspection_returned_idx ON inspection (updated_at, id) WHERE state = 'returned';
