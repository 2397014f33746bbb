-- Evidence photos: what was received, where its bytes are (blobs addressed by SHA-256, see
-- backend/core/storage.py) and what the server read from it. See backend/photos/.

-- One uploaded photo; `id` is the phone's UUID, the same as in the inspection's photo manifest
-- (inspection_photo). A photo may arrive before its inspection: `inspection_id` is then the id the phone
-- named (no foreign key yet) and `attached_at` stays NULL until the inspection arrives and takes it.
-- `captured_at` and the position come from the file's EXIF: the phone's claim, kept as columns so that
-- the derivatives carry no metadata. The row is written once; only attaching a pending photo changes it.
CREATE TABLE photo (
    id                uuid PRIMARY KEY,
    inspection_id     uuid NOT NULL,
    uploaded_by       uuid NOT NULL REFERENCES app_user (id),
    sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes        bigint NOT NULL CHECK (size_bytes >= 1),
    media_type        text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width             integer NOT NULL CHECK (width >= 1),
    height            integer NOT NULL CHECK (height >= 1),
    captured_at       timestamptz,
    latitude          double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision CHECK (longitude BETWEEN -180 AND 180),
    received_at       timestamptz NOT NULL,
    attached_at       timestamptz,
    display_sha256    text NOT NULL CHECK (display_sha256 ~ '^[0-9a-f]{64}$'),
    display_size      integer NOT NULL CHECK (display_size >= 1),
    thumbnail_sha256  text NOT NULL CHECK (thumbnail_sha256 ~ '^[0-9a-f]{64}$'),
    thumbnail_size    integer NOT NULL CHECK (thumbnail_size >= 1),
    CONSTRAINT photo_position CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX photo_inspection_idx ON photo (inspection_id);
CREATE INDEX photo_pending_idx ON photo (received_at) WHERE attached_at IS NULL;
-- Whether a blob is still referenced, before it is removed.
CREATE INDEX photo_sha256_idx ON photo (sha256);
CREATE INDEX photo_display_idx ON photo (display_sha256);
CREATE INDEX photo_thumbnail_idx ON photo (thumbnail_sha256);

CREATE FUNCTION photo_is_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.attached_at IS NOT NULL THEN
            RAISE EXCEPTION 'photo % is evidence of an inspection and is never deleted', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.attached_at IS NOT NULL OR (to_jsonb(NEW) - 'attached_at') IS DISTINCT FROM (to_jsonb(OLD) - 'attached_at') THEN
        RAISE EXCEPTION 'photo rows are write-once; only attaching a pending photo is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER photo_write_once BEFORE UPDATE OR DELETE ON photo
    FOR EACH ROW EXECUTE FUNCTION photo_is_write_once();

-- Blobs that may have lost their last photo (a pending photo removed, or an upload that failed after
-- storing them). The purge removes each one no photo references once `ready_at` has passed; an upload
-- lists its blobs here first with a later `ready_at`, so a crash between storing and committing leaves
-- no blob behind for good.
CREATE TABLE photo_blob_release (
    kind      text NOT NULL CHECK (kind IN ('original', 'derivative')),
    sha256    text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    ready_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, sha256)
);
CREATE INDEX photo_blob_release_ready_idx ON photo_blob_release (ready_at);
