-- The photos waiting for an arriving inspection, in one call instead of two statements. An upload for an
-- inspection id and that inspection's arrival take turns on an advisory lock (backend/photos/queries.py,
-- LOCK_INSPECTION: the same key). The waiting photos must be read after the lock is held, with a snapshot
-- that sees every upload committed before; a VOLATILE function takes a fresh snapshot for each of its
-- statements (READ COMMITTED), so the lock and the read can share one round trip.
CREATE FUNCTION photo_pending_after_turn(target uuid) RETURNS SETOF photo
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('photos:inspection:' || target::text, 0));
    RETURN QUERY
        SELECT * FROM photo p WHERE p.inspection_id = target AND p.attached_at IS NULL ORDER BY p.id FOR UPDATE;
END;
$$;
