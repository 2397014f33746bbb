-- Checklist templates and their published versions. A version is immutable once published: inspections
-- pin the version they were done with, so its content must never change underneath them.

-- One row per template key. The regime decides who may fetch it ('any': sections every inspection may
-- add) and never changes; the title follows the latest version.
CREATE TABLE checklist_template (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(key) <= 64),
    regime      text NOT NULL CHECK (regime IN ('alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling', 'any')),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- `content` is the template document as published (schemas/checklist.schema.json); `content_sha256` is
-- the SHA-256 of its canonical JSON (sorted keys) and serves as the strong ETag. `question_types` maps
-- each question key to its answer type, so a new version can be checked against every earlier one.
CREATE TABLE checklist_version (
    id              uuid PRIMARY KEY,
    template_key    text NOT NULL REFERENCES checklist_template (key),
    version         integer NOT NULL CHECK (version >= 1),
    kind            text NOT NULL CHECK (kind IN ('inspection', 'addon')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    valid_from      date NOT NULL,
    content         jsonb NOT NULL,
    content_sha256  text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    question_types  jsonb NOT NULL,
    published_at    timestamptz NOT NULL DEFAULT now(),
    published_by    uuid REFERENCES app_user (id),
    UNIQUE (template_key, version)
);

CREATE FUNCTION checklist_version_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'checklist_version is immutable once published: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER checklist_version_no_update_delete
    BEFORE UPDATE OR DELETE ON checklist_version
    FOR EACH ROW EXECUTE FUNCTION checklist_version_is_immutable();
CREATE TRIGGER checklist_version_no_truncate
    BEFORE TRUNCATE ON checklist_version
    FOR EACH STATEMENT EXECUTE FUNCTION checklist_version_is_immutable();
