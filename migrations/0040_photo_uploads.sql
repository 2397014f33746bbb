-- Resumable photo uploads (IETF "Resumable Uploads for HTTP"; see backend/photos/resumable.py). One row per
-- upload resource: what the completed upload will be checked against, and how far it got. The bytes are
-- part files under <data_dir>/resumable/<id>/, one per append, fsynced before `upload_offset` counts them:
-- `parts` lists the committed ones in order, so a part written by an append that never committed (a crash,
-- or the loser of two concurrent appends) is never read. An append commits only if the offset it started
-- from is still the row's (compare and set), so of two appends from one offset exactly one wins.
CREATE TABLE photo_upload (
    id              uuid PRIMARY KEY,
    inspection_id   uuid NOT NULL,
    photo_id        uuid NOT NULL,
    created_by      uuid NOT NULL REFERENCES app_user (id),
    media_type      text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    upload_length   bigint CHECK (upload_length >= 0),
    upload_offset   bigint NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
    parts           text[] NOT NULL DEFAULT '{}',
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CONSTRAINT photo_upload_within_length CHECK (upload_length IS NULL OR upload_offset <= upload_length)
);
CREATE INDEX photo_upload_expires_idx ON photo_upload (expires_at);
-- A user's open uploads, counted against their limit at each creation.
CREATE INDEX photo_upload_open_idx ON photo_upload (created_by) WHERE completed_at IS NULL;
