-- Planning: inspections coordinators plan for a team (assignments). Submissions later set status 'done'.
-- See backend/planning/.

-- One planned inspection of an establishment or a location. `regimes` decide who may see it (like the
-- registry's records); `wijk` is the target's wijk when planned, kept here so lists filter on it without
-- a join. Rows are never deleted: a cancellation keeps its reason.
CREATE TABLE assignment (
    id                     uuid PRIMARY KEY,
    establishment_id       uuid REFERENCES establishment (id),
    location_id            uuid REFERENCES location (id),
    team_id                text NOT NULL CHECK (length(team_id) BETWEEN 1 AND 64),
    wijk                   text NOT NULL REFERENCES wijk (code),
    regimes                text[] NOT NULL CHECK (
        cardinality(regimes) BETWEEN 1 AND 5
        AND regimes <@ ARRAY['alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling']),
    checklist_version_ids  uuid[] NOT NULL CHECK (cardinality(checklist_version_ids) BETWEEN 1 AND 10),
    planned_from           date NOT NULL,
    planned_to             date NOT NULL,
    inspector_ids          uuid[] NOT NULL CHECK (cardinality(inspector_ids) BETWEEN 1 AND 4),
    reason                 text NOT NULL CHECK (reason IN (
        'regular_cycle', 'hercontrole', 'complaint', 'verscherpt_toezicht', 'project')),
    partners               text[] NOT NULL DEFAULT '{}' CHECK (partners <@ ARRAY[
        'politie', 'nvwa', 'belastingdienst', 'kansspelautoriteit', 'riec', 'douane', 'arbeidsinspectie']),
    notes                  text CHECK (length(notes) <= 2000),
    status                 text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled', 'done')),
    cancel_reason          text CHECK (length(cancel_reason) BETWEEN 3 AND 1000),
    created_by             uuid NOT NULL REFERENCES app_user (id),
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assignment_one_target CHECK ((establishment_id IS NULL) <> (location_id IS NULL)),
    CONSTRAINT assignment_window CHECK (planned_to >= planned_from),
    CONSTRAINT assignment_cancel_reason CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
);
-- Lists page by (planned_from, id): per team (the coordinator's list), per wijk, and overall; overdue is
-- the planned rows whose window has passed; inspector and regime filters use the GIN indexes.
CREATE INDEX assignment_team_idx ON assignment (team_id, planned_from, id);
CREATE INDEX assignment_wijk_idx ON assignment (wijk, planned_from, id);
CREATE INDEX assignment_planned_from_idx ON assignment (planned_from, id);
CREATE INDEX assignment_overdue_idx ON assignment (planned_to) WHERE status = 'planned';
CREATE INDEX assignment_inspectors_idx ON assignment USING gin (inspector_ids);
CREATE INDEX assignment_regimes_idx ON assignment USING gin (regimes);
CREATE INDEX assignment_establishment_idx ON assignment (establishment_id);
CREATE INDEX assignment_location_idx ON assignment (location_id);
