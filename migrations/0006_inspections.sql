-- Inspections submitted from phones, every revision of them, their answers, violations and photo manifest.
-- See backend/inspections/.

-- One inspection; `id` is the phone's UUID. The columns hold the current revision. `regimes` (of its
-- checklists) decide who may see it, as for assignments; `wijk` is the target's, kept for lists.
-- Device times are kept as sent; `received_at` is the server's; `inspected_at` is the time later deadlines
-- use (the device time corrected by the known clock skew, or the receipt time when the device clock is
-- suspect and no skew is known).
CREATE TABLE inspection (
    id                   uuid PRIMARY KEY,
    revision             integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    state                text NOT NULL CHECK (state IN ('submitted', 'complete', 'returned', 'corrected', 'reviewed')),
    assignment_id        uuid REFERENCES assignment (id),
    establishment_id     uuid REFERENCES establishment (id),
    location_id          uuid REFERENCES location (id),
    team_id              text NOT NULL CHECK (length(team_id) BETWEEN 1 AND 64),
    wijk                 text NOT NULL REFERENCES wijk (code),
    regimes              text[] NOT NULL CHECK (
        cardinality(regimes) BETWEEN 1 AND 5
        AND regimes <@ ARRAY['alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling']),
    submitted_by         uuid NOT NULL REFERENCES app_user (id),
    inspector_ids        uuid[] NOT NULL CHECK (cardinality(inspector_ids) BETWEEN 1 AND 6),
    partners             text[] NOT NULL DEFAULT '{}' CHECK (partners <@ ARRAY[
        'politie', 'nvwa', 'belastingdienst', 'kansspelautoriteit', 'riec', 'douane', 'arbeidsinspectie']),
    observations         text CHECK (length(observations) <= 10000),
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz NOT NULL,
    received_at          timestamptz NOT NULL,
    clock_skew_seconds   bigint,
    clock_suspect        boolean NOT NULL,
    inspected_at         timestamptz NOT NULL,
    latitude             double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude            double precision CHECK (longitude BETWEEN -180 AND 180),
    position_accuracy_m  double precision CHECK (position_accuracy_m >= 0),
    return_reason        text CHECK (length(return_reason) BETWEEN 3 AND 1000),
    reviewed_by          uuid REFERENCES app_user (id),
    reviewed_at          timestamptz,
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inspection_one_target CHECK ((establishment_id IS NULL) <> (location_id IS NULL)),
    CONSTRAINT inspection_times CHECK (finished_at >= started_at),
    CONSTRAINT inspection_position CHECK ((latitude IS NULL) = (longitude IS NULL)),
    -- The last return reason stays after a correction, so the reviewer sees what was asked.
    CONSTRAINT inspection_returned_has_reason CHECK (state <> 'returned' OR return_reason IS NOT NULL),
    CONSTRAINT inspection_reviewed_has_reviewer CHECK ((state = 'reviewed') = (reviewed_by IS NOT NULL))
);
-- Lists page newest first by (inspected_at, id): overall, per object, location, assignment, team, wijk.
CREATE INDEX inspection_inspected_idx ON inspection (inspected_at DESC, id DESC);
CREATE INDEX inspection_establishment_idx ON inspection (establishment_id, inspected_at DESC, id DESC);
CREATE INDEX inspection_location_idx ON inspection (location_id, inspected_at DESC, id DESC);
CREATE INDEX inspection_assignment_idx ON inspection (assignment_id);
CREATE INDEX inspection_team_idx ON inspection (team_id, inspected_at DESC, id DESC);
CREATE INDEX inspection_wijk_idx ON inspection (wijk, inspected_at DESC, id DESC);
CREATE INDEX inspection_state_idx ON inspection (state, inspected_at DESC, id DESC);
CREATE INDEX inspection_inspectors_idx ON inspection USING gin (inspector_ids);

-- Every revision as the phone sent it (canonical JSON, sorted keys) with its SHA-256: a resend of any
-- revision is recognised by the hash. Revisions are never changed or removed.
CREATE TABLE inspection_revision (
    inspection_id  uuid NOT NULL REFERENCES inspection (id),
    revision       integer NOT NULL CHECK (revision >= 1),
    base_revision  integer CHECK (base_revision >= 1),
    body           jsonb NOT NULL,
    body_sha256    text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
    submitted_by   uuid NOT NULL REFERENCES app_user (id),
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (inspection_id, revision)
);

CREATE FUNCTION inspection_revision_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'inspection_revision is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER inspection_revision_no_update_delete
    BEFORE UPDATE OR DELETE ON inspection_revision
    FOR EACH ROW EXECUTE FUNCTION inspection_revision_is_append_only();
CREATE TRIGGER inspection_revision_no_truncate
    BEFORE TRUNCATE ON inspection_revision
    FOR EACH STATEMENT EXECUTE FUNCTION inspection_revision_is_append_only();

-- The current revision's checklists, one row per entry (a NIX18 control has one entry per purchase
-- attempt): reports read answers per template from here (e.g. NIX18 naleving per sales channel).
CREATE TABLE inspection_checklist (
    inspection_id         uuid NOT NULL REFERENCES inspection (id),
    position              smallint NOT NULL CHECK (position >= 0),
    checklist_version_id  uuid NOT NULL REFERENCES checklist_version (id),
    template_key          text NOT NULL,
    regime                text NOT NULL,
    answers               jsonb NOT NULL,
    PRIMARY KEY (inspection_id, position)
);
CREATE INDEX inspection_checklist_template_idx ON inspection_checklist (template_key);

-- Violations the answers establish. A correction that no longer establishes one sets `withdrawn_at`
-- (the row stays); history per object or location is read newest first.
CREATE TABLE violation (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inspection_id         uuid NOT NULL REFERENCES inspection (id),
    revision              integer NOT NULL,
    establishment_id      uuid REFERENCES establishment (id),
    location_id           uuid REFERENCES location (id),
    checklist_version_id  uuid NOT NULL REFERENCES checklist_version (id),
    checklist_position    smallint NOT NULL,
    question_key          text NOT NULL,
    code                  text NOT NULL,
    article               jsonb NOT NULL,
    severity              text NOT NULL CHECK (severity IN ('minor', 'serious', 'very_serious')),
    observed_on           date NOT NULL,
    evidence_photo_ids    uuid[] NOT NULL DEFAULT '{}',
    withdrawn_at          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT violation_one_target CHECK ((establishment_id IS NULL) <> (location_id IS NULL))
);
CREATE INDEX violation_establishment_idx ON violation (establishment_id, observed_on DESC, id DESC)
    WHERE establishment_id IS NOT NULL;
CREATE INDEX violation_location_idx ON violation (location_id, observed_on DESC, id DESC)
    WHERE location_id IS NOT NULL;
CREATE INDEX violation_inspection_idx ON violation (inspection_id, observed_on DESC, id DESC);
CREATE INDEX violation_code_idx ON violation (code, observed_on DESC);

-- The photos an inspection expects (its manifest); `received_at` is set when the upload arrives. A photo
-- id belongs to one inspection.
CREATE TABLE inspection_photo (
    id                  uuid PRIMARY KEY,
    inspection_id       uuid NOT NULL REFERENCES inspection (id),
    position            smallint NOT NULL CHECK (position >= 0),
    checklist_position  smallint NOT NULL CHECK (checklist_position >= 0),
    question_key        text,
    sha256              text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes          integer NOT NULL CHECK (size_bytes BETWEEN 1 AND 26214400),
    received_at         timestamptz
);
CREATE INDEX inspection_photo_inspection_idx ON inspection_photo (inspection_id, position);
CREATE INDEX inspection_photo_pending_idx ON inspection_photo (inspection_id) WHERE received_at IS NULL;
