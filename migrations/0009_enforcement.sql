-- Enforcement (handhaving): cases, the violations they act on, their status history, sanction steps and
-- the legal deadlines those steps start. See backend/enforcement/.

-- A case (handhavingszaak) of one establishment or location under one regime. Its `status` follows the
-- steps taken; 'closed' ends it with a result. `wijk` and `team_id` (of the latest inspection) let a
-- hercontrole be planned without asking the registry again.
CREATE TABLE enforcement_case (
    id                uuid PRIMARY KEY,
    establishment_id  uuid REFERENCES establishment (id),
    location_id       uuid REFERENCES location (id),
    regime            text NOT NULL CHECK (regime IN ('alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling')),
    wijk              text NOT NULL REFERENCES wijk (code),
    team_id           text CHECK (length(team_id) BETWEEN 1 AND 64),
    status            text NOT NULL DEFAULT 'open' CHECK (status IN (
        'open', 'warned', 'voornemen', 'besluit', 'hercontrole', 'invordering', 'bezwaar', 'closed')),
    result            text CHECK (result IN ('complied', 'sanctioned', 'no_action', 'merged', 'withdrawn')),
    merged_into       uuid REFERENCES enforcement_case (id),
    opened_by         uuid REFERENCES app_user (id),
    opened_at         timestamptz NOT NULL DEFAULT now(),
    closed_at         timestamptz,
    version           integer NOT NULL DEFAULT 1,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT enforcement_case_one_target CHECK ((establishment_id IS NULL) <> (location_id IS NULL)),
    CONSTRAINT enforcement_case_closed_has_result CHECK ((status = 'closed') = (result IS NOT NULL)),
    CONSTRAINT enforcement_case_merged CHECK ((result = 'merged') = (merged_into IS NOT NULL))
);
-- One open case per target and regime: two reviews at once cannot open two (the loser adds to the winner's).
CREATE UNIQUE INDEX enforcement_case_one_open_idx ON enforcement_case
    ((coalesce(establishment_id, location_id)), regime) WHERE status <> 'closed';
CREATE INDEX enforcement_case_list_idx ON enforcement_case (opened_at DESC, id DESC);
CREATE INDEX enforcement_case_establishment_idx ON enforcement_case (establishment_id) WHERE establishment_id IS NOT NULL;
CREATE INDEX enforcement_case_location_idx ON enforcement_case (location_id) WHERE location_id IS NOT NULL;

-- Every status a case passed through, with who set it and why (ZGW statussen).
CREATE TABLE enforcement_case_status (
    case_id      uuid NOT NULL REFERENCES enforcement_case (id),
    seq          integer NOT NULL,
    status       text NOT NULL,
    result       text,
    reason       text CHECK (length(reason) <= 2000),
    actor_id     uuid REFERENCES app_user (id),
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, seq)
);

-- The violations a case acts on, copied from the reviewed inspection with what recidive, three strikes
-- and the vier-ogen check need: the target, the article the sanction rules give the code, the date, and
-- who inspected. A violation belongs to one case (a merge moves it).
CREATE TABLE enforcement_case_violation (
    violation_id      uuid PRIMARY KEY REFERENCES violation (id),
    case_id           uuid NOT NULL REFERENCES enforcement_case (id),
    inspection_id     uuid NOT NULL REFERENCES inspection (id),
    establishment_id  uuid REFERENCES establishment (id),
    location_id       uuid REFERENCES location (id),
    code              text NOT NULL,
    article_key       text NOT NULL,
    observed_on       date NOT NULL,
    inspector_ids     uuid[] NOT NULL,
    checklist_version_id uuid NOT NULL REFERENCES checklist_version (id),
    added_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enforcement_case_violation_case_idx ON enforcement_case_violation (case_id, observed_on);
-- Recidive and strike counting: earlier violations of one article at one target in a date window.
CREATE INDEX enforcement_case_violation_establishment_idx
    ON enforcement_case_violation (establishment_id, article_key, observed_on) WHERE establishment_id IS NOT NULL;
CREATE INDEX enforcement_case_violation_location_idx
    ON enforcement_case_violation (location_id, article_key, observed_on) WHERE location_id IS NOT NULL;

-- One step of a case: a warning, a voornemen (intention, with zienswijze term), a besluit (decision), a
-- hercontrole (planned at the end of a begunstigingstermijn; its outcome is compliance or forfeiture), an
-- invordering (collection decision) or a bezwaar (objection). Columns that do not apply to a type stay null.
CREATE TABLE enforcement_step (
    id                      uuid PRIMARY KEY,
    case_id                 uuid NOT NULL REFERENCES enforcement_case (id),
    seq                     integer NOT NULL,
    type                    text NOT NULL CHECK (type IN (
        'warning', 'voornemen', 'besluit', 'hercontrole', 'invordering', 'bezwaar')),
    decision                text CHECK (decision IN (
        'boete', 'last_onder_dwangsom', 'last_onder_bestuursdwang', 'schorsing', 'intrekking', 'ontzegging_19a',
        'sluiting_13b')),
    status                  text NOT NULL CHECK (status IN (
        'draft', 'approved', 'sent', 'planned', 'complied', 'forfeited', 'registered', 'decided')),
    related_step_id         uuid REFERENCES enforcement_step (id),
    violation_ids           uuid[] NOT NULL DEFAULT '{}',
    document_text           text CHECK (length(document_text) <= 20000),
    amount_cents            bigint CHECK (amount_cents >= 0),
    weeks                   integer CHECK (weeks BETWEEN 1 AND 104),
    months                  integer CHECK (months BETWEEN 1 AND 60),
    order_text              text CHECK (length(order_text) <= 4000),
    begunstiging_days       integer CHECK (begunstiging_days BETWEEN 1 AND 365),
    dwangsom_cents          bigint CHECK (dwangsom_cents > 0),
    dwangsom_unit           text CHECK (dwangsom_unit IN ('per_violation', 'per_day', 'per_week')),
    dwangsom_max_cents      bigint CHECK (dwangsom_max_cents > 0),
    zienswijze_weeks        integer CHECK (zienswijze_weeks BETWEEN 1 AND 12),
    zienswijze              text CHECK (zienswijze IN ('pending', 'received', 'not_received')),
    zienswijze_summary      text CHECK (length(zienswijze_summary) <= 4000),
    proposal                jsonb,
    deviation_reason        text CHECK (length(deviation_reason) <= 4000),
    behaviour               text CHECK (behaviour IN ('goedwillend', 'onverschillig', 'calculerend', 'crimineel')),
    assignment_id           uuid REFERENCES assignment (id),
    due_on                  date,
    observed_on             date,
    forfeited_cents         bigint CHECK (forfeited_cents >= 0),
    received_on             date,
    late                    boolean,
    outcome                 text CHECK (outcome IN ('gegrond', 'ongegrond', 'niet_ontvankelijk')),
    drafted_by              uuid NOT NULL REFERENCES app_user (id),
    approved_by             uuid REFERENCES app_user (id),
    approved_at             timestamptz,
    sent_by                 uuid REFERENCES app_user (id),
    sent_on                 date,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, seq),
    CONSTRAINT enforcement_step_decision CHECK ((type IN ('voornemen', 'besluit')) = (decision IS NOT NULL)),
    CONSTRAINT enforcement_step_dwangsom_max CHECK (dwangsom_max_cents IS NULL OR dwangsom_max_cents >= dwangsom_cents),
    CONSTRAINT enforcement_step_approved_by_other CHECK (approved_by IS NULL OR approved_by <> drafted_by),
    CONSTRAINT enforcement_step_sent CHECK ((status = 'sent') <= (sent_on IS NOT NULL))
);
CREATE INDEX enforcement_step_case_idx ON enforcement_step (case_id, seq);
-- Recidive: fines sent for the same article in the twelve months before a violation.
CREATE INDEX enforcement_step_sent_fines_idx ON enforcement_step (sent_on) WHERE decision = 'boete' AND type = 'besluit';

-- A sent step's content is final (Awb: a decision once made known is changed only by a new decision).
-- Later facts about it (the zienswijze received, an outcome) are separate columns and may still be set.
CREATE FUNCTION enforcement_step_sent_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sent_on IS NOT NULL AND (
        NEW.type, NEW.decision, NEW.violation_ids, NEW.document_text, NEW.amount_cents, NEW.weeks, NEW.months,
        NEW.order_text, NEW.begunstiging_days, NEW.dwangsom_cents, NEW.dwangsom_unit, NEW.dwangsom_max_cents,
        NEW.zienswijze_weeks, NEW.approved_by, NEW.sent_on, NEW.drafted_by, NEW.related_step_id, NEW.due_on
    ) IS DISTINCT FROM (
        OLD.type, OLD.decision, OLD.violation_ids, OLD.document_text, OLD.amount_cents, OLD.weeks, OLD.months,
        OLD.order_text, OLD.begunstiging_days, OLD.dwangsom_cents, OLD.dwangsom_unit, OLD.dwangsom_max_cents,
        OLD.zienswijze_weeks, OLD.approved_by, OLD.sent_on, OLD.drafted_by, OLD.related_step_id, OLD.due_on
    ) THEN
        RAISE EXCEPTION 'enforcement_step %: a sent step cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER enforcement_step_sent_immutable
    BEFORE UPDATE ON enforcement_step FOR EACH ROW EXECUTE FUNCTION enforcement_step_sent_is_immutable();
CREATE FUNCTION enforcement_step_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sent_on IS NOT NULL THEN
        RAISE EXCEPTION 'enforcement_step %: a sent step cannot be removed', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER enforcement_step_sent_no_delete
    BEFORE DELETE ON enforcement_step FOR EACH ROW EXECUTE FUNCTION enforcement_step_no_delete();

-- One fine per violation (ne bis in idem): a second boete for the same violation is refused by the key.
CREATE TABLE enforcement_fined_violation (
    violation_id  uuid PRIMARY KEY REFERENCES enforcement_case_violation (violation_id),
    step_id       uuid NOT NULL REFERENCES enforcement_step (id)
);
CREATE INDEX enforcement_fined_violation_step_idx ON enforcement_fined_violation (step_id);

-- The legal deadlines steps start: zienswijze term, begunstigingstermijn (hercontrole due), bezwaar term,
-- bezwaar decision, payment of a forfeited sum (5:33) and the collection limit (5:35). `resolved_at` is set
-- when what the deadline waits for happened.
CREATE TABLE enforcement_deadline (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id      uuid NOT NULL REFERENCES enforcement_case (id),
    step_id      uuid NOT NULL REFERENCES enforcement_step (id),
    kind         text NOT NULL CHECK (kind IN (
        'zienswijze', 'begunstigingstermijn', 'bezwaar_term', 'bezwaar_decision', 'payment', 'invordering_limit')),
    due_on       date NOT NULL,
    resolved_at  timestamptz,
    UNIQUE (step_id, kind)
);
CREATE INDEX enforcement_deadline_open_idx ON enforcement_deadline (due_on) WHERE resolved_at IS NULL;
