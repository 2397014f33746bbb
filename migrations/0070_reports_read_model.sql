-- Performance indicators (backend/reports/): the read model the reports own, fed by domain events.
--
-- Facts: one row per record as the indicators classify it (an inspection, a NIX18 purchase attempt, a violation,
-- a code an inspection found, a complaint, a sanction), written by the reports' reactions in the transaction
-- that changed the record (backend/reports/facts.py). A changed record's facts are deleted and inserted again,
-- never updated.
-- Counts: per Amsterdam day and every dimension the indicators filter and group by, kept by the triggers below
-- from the inspection facts (+1 on insert, -1 on delete, in the same transaction), so a year's figures sum a few
-- hundred rows per day whatever the number of inspections.
-- `reports_rebuild` computes every fact and count from the features' own tables: once here for the data already
-- there, and again by `toezicht reports rebuild`.

CREATE TABLE report_inspection (
    id                 uuid PRIMARY KEY,
    object_id          uuid,
    day                date NOT NULL,  -- inspected_at in Europe/Amsterdam
    regimes            text[] NOT NULL,
    wijk               text NOT NULL,
    object_kind        text NOT NULL,  -- the registry's kind, 'location' without an object
    team_id            text NOT NULL,
    reviewed           boolean NOT NULL,
    permit             boolean NOT NULL,  -- reviewed and a permit question answered
    reason             text,  -- the assignment's reason
    violation_regimes  text[] NOT NULL  -- reviewed: regimes of the checklists with an active violation
);
-- The latest reviewed control of an object up to a day (objects overdue for their cycle): one probe per object.
CREATE INDEX report_inspection_object_idx ON report_inspection (object_id, day DESC) WHERE reviewed;

CREATE TABLE report_nix18_attempt (
    inspection_id  uuid NOT NULL,
    position       int NOT NULL,
    day            date NOT NULL,
    regimes        text[] NOT NULL,
    wijk           text NOT NULL,
    object_kind    text NOT NULL,
    team_id        text NOT NULL,
    channel        text NOT NULL,
    complied       boolean NOT NULL,
    PRIMARY KEY (inspection_id, position)
);

-- An active violation of a reviewed control, with the regime of the checklist it was found in.
CREATE TABLE report_violation (
    inspection_id  uuid NOT NULL,
    violation_id   uuid NOT NULL,
    day            date NOT NULL,
    regimes        text[] NOT NULL,
    wijk           text NOT NULL,
    object_kind    text NOT NULL,
    team_id        text NOT NULL,
    code           text NOT NULL,
    regime         text NOT NULL,
    article        jsonb NOT NULL,
    observed_on    date NOT NULL,
    PRIMARY KEY (inspection_id, violation_id)
);

-- A code a reviewed control found, with the regimes of the checklists it was found in (a control counts once
-- per code when any of them is counted).
CREATE TABLE report_code_control (
    inspection_id  uuid NOT NULL,
    code           text NOT NULL,
    day            date NOT NULL,
    regimes        text[] NOT NULL,
    wijk           text NOT NULL,
    object_kind    text NOT NULL,
    team_id        text NOT NULL,
    code_regimes   text[] NOT NULL,
    PRIMARY KEY (inspection_id, code)
);

CREATE TABLE report_inspection_day (
    day                date NOT NULL,
    regimes            text[] NOT NULL,
    wijk               text NOT NULL,
    object_kind        text NOT NULL,
    team_id            text NOT NULL,
    violation_regimes  text[] NOT NULL,
    inspections        bigint NOT NULL,
    done               bigint NOT NULL,
    permit             bigint NOT NULL,
    complaint          bigint NOT NULL,
    hercontrole        bigint NOT NULL,
    PRIMARY KEY (day, regimes, wijk, object_kind, team_id, violation_regimes)
);

CREATE TABLE report_nix18_day (
    day          date NOT NULL,
    regimes      text[] NOT NULL,
    wijk         text NOT NULL,
    object_kind  text NOT NULL,
    team_id      text NOT NULL,
    channel      text NOT NULL,
    attempts     bigint NOT NULL,
    complied     bigint NOT NULL,
    PRIMARY KEY (day, regimes, wijk, object_kind, team_id, channel)
);

CREATE TABLE report_violation_day (
    day          date NOT NULL,
    regimes      text[] NOT NULL,
    wijk         text NOT NULL,
    object_kind  text NOT NULL,
    team_id      text NOT NULL,
    code         text NOT NULL,
    regime       text NOT NULL,
    article      jsonb NOT NULL,
    observed_on  date NOT NULL,
    violations   bigint NOT NULL,
    PRIMARY KEY (day, regimes, wijk, object_kind, team_id, code, regime, article, observed_on)
);

CREATE TABLE report_code_day (
    day           date NOT NULL,
    regimes       text[] NOT NULL,
    wijk          text NOT NULL,
    object_kind   text NOT NULL,
    team_id       text NOT NULL,
    code          text NOT NULL,
    code_regimes  text[] NOT NULL,
    controls      bigint NOT NULL,
    PRIMARY KEY (day, regimes, wijk, object_kind, team_id, code, code_regimes)
);

-- Complaints and sanctions are few enough per year to be read as facts.
CREATE TABLE report_complaint (
    id                 uuid PRIMARY KEY,
    received_on        date NOT NULL,  -- received_at in Europe/Amsterdam
    regime             text,
    wijk               text NOT NULL,
    object_id          uuid,
    object_kind        text NOT NULL,
    state              text NOT NULL CHECK (state IN ('open', 'resolved', 'rejected')),
    closed_on          date,  -- closed_at in Europe/Amsterdam
    resolution_due_on  date NOT NULL,
    followed           boolean NOT NULL  -- an inspection was submitted for an assignment following it up
);
CREATE INDEX report_complaint_received_idx ON report_complaint (received_on);

-- The case a sanction belongs to: team_id is the team of the inspection that opened it (none when opened by hand).
CREATE TABLE report_case (
    id           uuid PRIMARY KEY,
    regime       text NOT NULL,
    wijk         text NOT NULL,
    team_id      text,
    object_kind  text NOT NULL,
    sexwork      boolean NOT NULL  -- the object or location is supervised under sex work
);

-- A sent warning or besluit (on its day of sending), or a settled hercontrole (on the day it was observed).
CREATE TABLE report_sanction (
    id               uuid PRIMARY KEY,
    case_id          uuid NOT NULL REFERENCES report_case (id),
    type             text NOT NULL CHECK (type IN ('warning', 'besluit', 'hercontrole')),
    decision         text,
    amount_cents     bigint,
    day              date NOT NULL,
    forfeited        boolean NOT NULL,
    forfeited_cents  bigint
);
CREATE INDEX report_sanction_day_idx ON report_sanction (day);

-- The planned hercontrole of a sent last onder dwangsom: its inspection, once reviewed, settles the case's step.
CREATE TABLE report_hercontrole (
    assignment_id  uuid PRIMARY KEY,
    case_id        uuid NOT NULL REFERENCES report_case (id)
);

-- --- the counts follow the facts --------------------------------------------------------------------------

CREATE FUNCTION report_rebuilding() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('toezicht.reports_rebuilding', true), '') = 'on'
$$;

CREATE FUNCTION report_inspection_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_inspection;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_inspection_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.violation_regimes, n,
            n * f.reviewed::int, n * f.permit::int,
            n * (f.reviewed AND f.reason IS NOT DISTINCT FROM 'complaint')::int,
            n * (f.reviewed AND f.reason IS NOT DISTINCT FROM 'hercontrole')::int)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, violation_regimes) DO UPDATE
    SET inspections = d.inspections + excluded.inspections, done = d.done + excluded.done,
        permit = d.permit + excluded.permit, complaint = d.complaint + excluded.complaint,
        hercontrole = d.hercontrole + excluded.hercontrole;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_inspection_counted AFTER INSERT OR DELETE ON report_inspection
    FOR EACH ROW EXECUTE FUNCTION report_inspection_counted();

CREATE FUNCTION report_nix18_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_nix18_attempt;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_nix18_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.channel, n, n * f.complied::int)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, channel) DO UPDATE
    SET attempts = d.attempts + excluded.attempts, complied = d.complied + excluded.complied;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_nix18_counted AFTER INSERT OR DELETE ON report_nix18_attempt
    FOR EACH ROW EXECUTE FUNCTION report_nix18_counted();

CREATE FUNCTION report_violation_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_violation;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_violation_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.regime, f.article, f.observed_on, n)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, code, regime, article, observed_on) DO UPDATE
    SET violations = d.violations + excluded.violations;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_violation_counted AFTER INSERT OR DELETE ON report_violation
    FOR EACH ROW EXECUTE FUNCTION report_violation_counted();

CREATE FUNCTION report_code_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_code_control;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_code_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.code_regimes, n)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, code, code_regimes) DO UPDATE
    SET controls = d.controls + excluded.controls;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_code_counted AFTER INSERT OR DELETE ON report_code_control
    FOR EACH ROW EXECUTE FUNCTION report_code_counted();

-- --- every fact and count again from the features' tables ---------------------------------------------------
-- The same classification as backend/reports/facts.py (tests/test_reports_read_model.py checks both against the
-- direct definitions). Arguments: reports.definitions' permit templates and questions.

CREATE FUNCTION reports_rebuild(permit_templates text[], permit_questions text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('toezicht.reports_rebuilding', 'on', true);
    TRUNCATE report_inspection, report_nix18_attempt, report_violation, report_code_control, report_inspection_day,
        report_nix18_day, report_violation_day, report_code_day, report_complaint, report_sanction,
        report_hercontrole, report_case;

    INSERT INTO report_inspection
    SELECT i.id, i.establishment_id, (i.inspected_at AT TIME ZONE 'Europe/Amsterdam')::date, i.regimes, i.wijk,
           coalesce(e.kind, 'location'), i.team_id, i.state = 'reviewed',
           i.state = 'reviewed' AND EXISTS (
               SELECT 1 FROM inspection_checklist c
               WHERE c.inspection_id = i.id AND c.template_key = ANY (permit_templates) AND c.answers ?| permit_questions),
           a.reason,
           CASE WHEN i.state = 'reviewed' THEN ARRAY(
               SELECT DISTINCT c.regime FROM violation v
               JOIN inspection_checklist c ON c.inspection_id = v.inspection_id AND c.position = v.checklist_position
               WHERE v.inspection_id = i.id AND v.withdrawn_at IS NULL ORDER BY 1) ELSE '{}' END
    FROM inspection i
    LEFT JOIN establishment e ON e.id = i.establishment_id
    LEFT JOIN assignment a ON a.id = i.assignment_id;

    INSERT INTO report_nix18_attempt
    SELECT f.id, c.position, f.day, f.regimes, f.wijk, f.object_kind, f.team_id,
           coalesce(c.answers ->> 'NX-01', 'onbekend'),
           (c.answers ->> 'NX-04' IS DISTINCT FROM 'yes'
            OR (c.answers ->> 'NX-03' = 'yes' AND c.answers ->> 'NX-05a' = 'age_18_plus'
                AND c.answers ->> 'NX-06' IS DISTINCT FROM 'no'))
    FROM report_inspection f JOIN inspection_checklist c ON c.inspection_id = f.id
    WHERE f.reviewed AND c.template_key = 'nix18-purchase-attempt';

    INSERT INTO report_violation
    SELECT f.id, v.id, f.day, f.regimes, f.wijk, f.object_kind, f.team_id, v.code, c.regime, v.article, v.observed_on
    FROM report_inspection f
    JOIN violation v ON v.inspection_id = f.id AND v.withdrawn_at IS NULL
    JOIN inspection_checklist c ON c.inspection_id = v.inspection_id AND c.position = v.checklist_position
    WHERE f.reviewed;

    INSERT INTO report_code_control
    SELECT inspection_id, code, day, regimes, wijk, object_kind, team_id, array_agg(DISTINCT regime ORDER BY regime)
    FROM report_violation GROUP BY inspection_id, code, day, regimes, wijk, object_kind, team_id;

    INSERT INTO report_inspection_day
    SELECT day, regimes, wijk, object_kind, team_id, violation_regimes, count(*), count(*) FILTER (WHERE reviewed),
           count(*) FILTER (WHERE permit), count(*) FILTER (WHERE reviewed AND reason = 'complaint'),
           count(*) FILTER (WHERE reviewed AND reason = 'hercontrole')
    FROM report_inspection GROUP BY day, regimes, wijk, object_kind, team_id, violation_regimes;

    INSERT INTO report_nix18_day
    SELECT day, regimes, wijk, object_kind, team_id, channel, count(*), count(*) FILTER (WHERE complied)
    FROM report_nix18_attempt GROUP BY day, regimes, wijk, object_kind, team_id, channel;

    INSERT INTO report_violation_day
    SELECT day, regimes, wijk, object_kind, team_id, code, regime, article, observed_on, count(*)
    FROM report_violation GROUP BY day, regimes, wijk, object_kind, team_id, code, regime, article, observed_on;

    INSERT INTO report_code_day
    SELECT day, regimes, wijk, object_kind, team_id, code, code_regimes, count(*)
    FROM report_code_control GROUP BY day, regimes, wijk, object_kind, team_id, code, code_regimes;

    INSERT INTO report_complaint
    SELECT c.id, (c.received_at AT TIME ZONE 'Europe/Amsterdam')::date, c.regime, c.wijk, c.establishment_id,
           coalesce(e.kind, 'location'), CASE WHEN c.state IN ('resolved', 'rejected') THEN c.state ELSE 'open' END,
           (c.closed_at AT TIME ZONE 'Europe/Amsterdam')::date,
           c.resolution_due_on,
           EXISTS (SELECT 1 FROM assignment a JOIN inspection i ON i.assignment_id = a.id WHERE a.complaint_id = c.id)
    FROM complaint c LEFT JOIN establishment e ON e.id = c.establishment_id;

    INSERT INTO report_case
    SELECT k.id, k.regime, k.wijk, k.team_id, coalesce(e.kind, 'location'),
           'sexwork' = ANY (coalesce(e.regimes, l.regimes))
    FROM enforcement_case k
    LEFT JOIN establishment e ON e.id = k.establishment_id
    LEFT JOIN location l ON l.id = k.location_id;

    INSERT INTO report_sanction
    SELECT s.id, s.case_id, s.type, s.decision, s.amount_cents,
           CASE WHEN s.type = 'hercontrole' THEN coalesce(s.observed_on, s.updated_at::date) ELSE s.sent_on END,
           s.status = 'forfeited', s.forfeited_cents
    FROM enforcement_step s
    WHERE (s.type IN ('warning', 'besluit') AND s.sent_on IS NOT NULL)
       OR (s.type = 'hercontrole' AND s.status IN ('complied', 'forfeited'));

    INSERT INTO report_hercontrole
    SELECT s.assignment_id, s.case_id FROM enforcement_step s
    WHERE s.type = 'hercontrole' AND s.assignment_id IS NOT NULL;

    PERFORM set_config('toezicht.reports_rebuilding', 'off', true);
END;
$$;

SELECT reports_rebuild(
    ARRAY['alcohol-horeca', 'alcohol-paracommercie', 'alcohol-shop', 'coffeeshop', 'gambling-arcade',
          'gambling-machines', 'illegal-prostitution', 'sexwork-establishment'],
    ARRAY['AW-01', 'AW-16', 'CS-01', 'CS-01a', 'KS-01', 'KS-01a', 'KS-01b', 'SX-01', 'SX-08a']);
