-- The sync feed is purged after TOEZICHT_SYNC_FEED_RETENTION_DAYS (backend/sync/service.py, purge_feed).
-- `written_at` says when a row was written; sync_feed_purge keeps the highest (xid, seq) ever removed: a
-- cursor below it may have missed a removed row, so its phone is sent back to a full sync.
ALTER TABLE sync_feed ADD COLUMN written_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX sync_feed_written_idx ON sync_feed (written_at);

CREATE TABLE sync_feed_purge (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    purged_xid  xid8 NOT NULL,
    purged_seq  bigint NOT NULL
);
