-- Phone sync: a change feed per user, written by triggers in the transaction of the change itself.
-- See backend/sync/ for how it is read (and why a row is delivered only below the snapshot's xmin).

-- A row means "look at this entity again for this user": the sync reads the entity's state at read time,
-- so a row carries no data and one row per change is enough however often the entity changes later.
-- `xid` is the writing transaction's id: a reader delivers rows of finished transactions only, so a
-- transaction that commits late (with a smaller xid than rows already delivered) is never skipped.
-- Growth: a few rows per inspector per change; a purge of old rows is a later concern (README, Phone sync).
CREATE TABLE sync_feed (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    user_id    uuid NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('assignment', 'object', 'location', 'checklist_version')),
    entity_id  uuid NOT NULL
);
CREATE INDEX sync_feed_user_idx ON sync_feed (user_id, xid, seq);

-- Rows for `users` about one target (an establishment or a location).
CREATE FUNCTION sync_feed_target(users uuid[], target_establishment uuid, target_location uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_feed (user_id, entity, entity_id)
    SELECT DISTINCT u, CASE WHEN target_establishment IS NOT NULL THEN 'object' ELSE 'location' END,
           coalesce(target_establishment, target_location)
    FROM unnest(users) AS u;
$$;

-- Rows for `users` about each checklist version an assignment uses.
CREATE FUNCTION sync_feed_checklists(users uuid[], version_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_feed (user_id, entity, entity_id)
    SELECT DISTINCT u, 'checklist_version', v FROM unnest(users) AS u CROSS JOIN unnest(version_ids) AS v;
$$;

-- Who gets a target through an assignment and who changes that target must not miss each other: the
-- target's trigger below finds its users among the planned assignments, and would not see an assignment
-- whose transaction has not committed yet. So an assignment that gives a target to users holds a share
-- lock on the target's row until it commits: a concurrent change of the target waits for it (and then
-- sees the assignment), or has committed before the assignment can (and the sync reads it then).
CREATE FUNCTION sync_lock_target(target_establishment uuid, target_location uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF target_establishment IS NOT NULL THEN
        PERFORM 1 FROM establishment WHERE id = target_establishment FOR SHARE;
    ELSE
        PERFORM 1 FROM location WHERE id = target_location FOR SHARE;
    END IF;
END;
$$;

-- Users in `a` that are not in `b`.
CREATE FUNCTION sync_uuid_array_minus(a uuid[], b uuid[]) RETURNS uuid[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(DISTINCT x), '{}') FROM unnest(a) AS x WHERE NOT x = ANY (b);
$$;

-- An assignment: the assignment itself for every inspector it had or has; its target and checklists for
-- the inspectors who get it (new inspectors, or all of them when the target or checklists change); the
-- old target for the inspectors who lose it (removed, or all of them once it is no longer planned), so
-- the phone drops a target no other planned assignment of theirs uses.
CREATE FUNCTION sync_feed_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gaining uuid[];
    losing uuid[];
    target_changed boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'planned' THEN
            INSERT INTO sync_feed (user_id, entity, entity_id)
            SELECT DISTINCT u, 'assignment', NEW.id FROM unnest(NEW.inspector_ids) AS u;
            PERFORM sync_lock_target(NEW.establishment_id, NEW.location_id);
            PERFORM sync_feed_target(NEW.inspector_ids, NEW.establishment_id, NEW.location_id);
            PERFORM sync_feed_checklists(NEW.inspector_ids, NEW.checklist_version_ids);
        END IF;
        RETURN NULL;
    END IF;
    -- Changes to an assignment that was and stays closed (cancelled, done) concern no phone.
    IF OLD.status <> 'planned' AND NEW.status <> 'planned' THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync_feed (user_id, entity, entity_id)
    SELECT DISTINCT u, 'assignment', NEW.id FROM unnest(OLD.inspector_ids || NEW.inspector_ids) AS u;
    target_changed := OLD.establishment_id IS DISTINCT FROM NEW.establishment_id
                      OR OLD.location_id IS DISTINCT FROM NEW.location_id;
    IF NEW.status <> 'planned' THEN
        gaining := '{}';
    ELSIF target_changed OR OLD.status <> 'planned'
          OR OLD.checklist_version_ids IS DISTINCT FROM NEW.checklist_version_ids THEN
        gaining := NEW.inspector_ids;
    ELSE
        gaining := sync_uuid_array_minus(NEW.inspector_ids, OLD.inspector_ids);
    END IF;
    IF OLD.status <> 'planned' THEN
        losing := '{}';
    ELSIF target_changed OR NEW.status <> 'planned' THEN
        losing := OLD.inspector_ids;
    ELSE
        losing := sync_uuid_array_minus(OLD.inspector_ids, NEW.inspector_ids);
    END IF;
    IF cardinality(gaining) > 0 THEN
        PERFORM sync_lock_target(NEW.establishment_id, NEW.location_id);
    END IF;
    PERFORM sync_feed_target(gaining, NEW.establishment_id, NEW.location_id);
    PERFORM sync_feed_checklists(gaining, NEW.checklist_version_ids);
    PERFORM sync_feed_target(losing, OLD.establishment_id, OLD.location_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER assignment_sync_feed
    AFTER INSERT OR UPDATE ON assignment
    FOR EACH ROW EXECUTE FUNCTION sync_feed_assignment();

-- The inspectors of the planned assignments on an establishment or a location (phones hold only those).
CREATE FUNCTION sync_inspectors_planned_on_object(target uuid) RETURNS uuid[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT u), '{}')
    FROM assignment a CROSS JOIN unnest(a.inspector_ids) AS u
    WHERE a.establishment_id = target AND a.status = 'planned';
$$;

CREATE FUNCTION sync_inspectors_planned_on_location(target uuid) RETURNS uuid[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT u), '{}')
    FROM assignment a CROSS JOIN unnest(a.inspector_ids) AS u
    WHERE a.location_id = target AND a.status = 'planned';
$$;

-- An establishment is delivered with its permits: a change to either is a change of the 'object'.
CREATE FUNCTION sync_feed_establishment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_feed_target(sync_inspectors_planned_on_object(NEW.id), NEW.id, NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER establishment_sync_feed
    AFTER UPDATE ON establishment
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION sync_feed_establishment();

-- A permit's row does not lock its establishment; this lock makes a permit change wait for an assignment
-- that is giving the establishment to users (see sync_lock_target), like an establishment change does.
CREATE FUNCTION sync_feed_permit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM establishment WHERE id = NEW.establishment_id FOR NO KEY UPDATE;
    PERFORM sync_feed_target(sync_inspectors_planned_on_object(NEW.establishment_id), NEW.establishment_id, NULL);
    IF TG_OP = 'UPDATE' AND OLD.establishment_id <> NEW.establishment_id THEN
        PERFORM sync_feed_target(sync_inspectors_planned_on_object(OLD.establishment_id), OLD.establishment_id, NULL);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER permit_sync_feed
    AFTER INSERT OR UPDATE ON permit
    FOR EACH ROW EXECUTE FUNCTION sync_feed_permit();

CREATE FUNCTION sync_feed_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_feed_target(sync_inspectors_planned_on_location(NEW.id), NULL, NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER location_sync_feed
    AFTER UPDATE ON location
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION sync_feed_location();
