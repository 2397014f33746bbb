-- Letter templates and their published versions. A version is immutable once published: a sent letter names
-- the version it was made with, and the same data with the same version must give the same document again.

-- One row per kind of letter (waarschuwing, voornemen_boete, besluit_boete, ...): one template each.
CREATE TABLE letter_template (
    kind        text PRIMARY KEY CHECK (kind ~ '^[a-z0-9_]+$' AND length(kind) <= 64),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- `content` is the template document as published (schemas/letter.schema.json); `content_sha256` the SHA-256 of
-- its canonical JSON (sorted keys).
CREATE TABLE letter_template_version (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL REFERENCES letter_template (kind),
    version         integer NOT NULL CHECK (version >= 1),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    valid_from      date NOT NULL,
    content         jsonb NOT NULL,
    content_sha256  text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    published_at    timestamptz NOT NULL DEFAULT now(),
    published_by    uuid REFERENCES app_user (id),
    UNIQUE (kind, version)
);

CREATE FUNCTION letter_template_version_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'letter_template_version is immutable once published: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER letter_template_version_no_update_delete
    BEFORE UPDATE OR DELETE ON letter_template_version
    FOR EACH ROW EXECUTE FUNCTION letter_template_version_is_immutable();
CREATE TRIGGER letter_template_version_no_truncate
    BEFORE TRUNCATE ON letter_template_version
    FOR EACH STATEMENT EXECUTE FUNCTION letter_template_version_is_immutable();
