-- Performance indicators (backend/reports/): per-month counts beside the per-day ones, and each object's latest
-- reviewed control, so that a year reads twelve months of counts (plus the days of a month it covers in part)
-- and the inspection cycle joins one row per object instead of probing its controls.
--
-- The month tables have the day tables' columns with `month` (its first day) for `day`; triggers beside 0070's
-- add each fact to its month as those add it to its day (+1 on insert, -1 on delete, in the same transaction),
-- and keep each object's latest reviewed control. A violation's month leaves out the day it was observed: the
-- article of the latest violation of a code is read from the day counts, and only for a code with more than one
-- article in the period.
-- `reports_rebuild_summaries` computes the month counts from the day counts and the latest controls from the
-- facts: once here, and by `toezicht reports rebuild` after `reports_rebuild`.

CREATE TABLE report_inspection_month (
    month              date NOT NULL,
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
    PRIMARY KEY (month, regimes, wijk, object_kind, team_id, violation_regimes)
);

CREATE TABLE report_nix18_month (
    month        date NOT NULL,
    regimes      text[] NOT NULL,
    wijk         text NOT NULL,
    object_kind  text NOT NULL,
    team_id      text NOT NULL,
    channel      text NOT NULL,
    attempts     bigint NOT NULL,
    complied     bigint NOT NULL,
    PRIMARY KEY (month, regimes, wijk, object_kind, team_id, channel)
);

CREATE TABLE report_violation_month (
    month        date NOT NULL,
    regimes      text[] NOT NULL,
    wijk         text NOT NULL,
    object_kind  text NOT NULL,
    team_id      text NOT NULL,
    code         text NOT NULL,
    regime       text NOT NULL,
    article      jsonb NOT NULL,
    violations   bigint NOT NULL,
    PRIMARY KEY (month, regimes, wijk, object_kind, team_id, code, regime, article)
);

CREATE TABLE report_code_month (
    month         date NOT NULL,
    regimes       text[] NOT NULL,
    wijk          text NOT NULL,
    object_kind   text NOT NULL,
    team_id       text NOT NULL,
    code          text NOT NULL,
    code_regimes  text[] NOT NULL,
    controls      bigint NOT NULL,
    PRIMARY KEY (month, regimes, wijk, object_kind, team_id, code, code_regimes)
);

-- The latest reviewed control of each object that has one (any day; a report as of an earlier day probes the
-- facts only for the objects controlled since).
CREATE TABLE report_object_last (
    object_id  uuid PRIMARY KEY,
    last_on    date NOT NULL
);

-- The latest article of a code in a period, for the few codes that have several.
CREATE INDEX report_violation_day_code_idx ON report_violation_day (code, day);

-- The month of a day, as its first day (through timestamp without time zone: no time zone to look up).
CREATE FUNCTION report_month(day date) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', day::timestamp)::date
$$;

-- --- the month counts follow the facts, beside 0070's day counts ------------------------------------------

CREATE FUNCTION report_inspection_month_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_inspection;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_inspection_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.violation_regimes, n,
            n * f.reviewed::int, n * f.permit::int,
            n * (f.reviewed AND f.reason IS NOT DISTINCT FROM 'complaint')::int,
            n * (f.reviewed AND f.reason IS NOT DISTINCT FROM 'hercontrole')::int)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, violation_regimes) DO UPDATE
    SET inspections = m.inspections + excluded.inspections, done = m.done + excluded.done,
        permit = m.permit + excluded.permit, complaint = m.complaint + excluded.complaint,
        hercontrole = m.hercontrole + excluded.hercontrole;
    IF NOT f.reviewed OR f.object_id IS NULL THEN RETURN NULL; END IF;
    IF n = 1 THEN
        INSERT INTO report_object_last AS l VALUES (f.object_id, f.day)
        ON CONFLICT (object_id) DO UPDATE SET last_on = greatest(l.last_on, excluded.last_on);
    ELSE
        -- The deleted fact may have been the latest: take the latest of those left (an index probe).
        WITH latest AS (
            SELECT max(i.day) AS day FROM report_inspection i WHERE i.object_id = f.object_id AND i.reviewed
        ), kept AS (
            UPDATE report_object_last l SET last_on = latest.day FROM latest
            WHERE l.object_id = f.object_id AND latest.day IS NOT NULL
        )
        DELETE FROM report_object_last l USING latest WHERE l.object_id = f.object_id AND latest.day IS NULL;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_inspection_month_counted AFTER INSERT OR DELETE ON report_inspection
    FOR EACH ROW EXECUTE FUNCTION report_inspection_month_counted();

CREATE FUNCTION report_nix18_month_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_nix18_attempt;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_nix18_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.channel, n, n * f.complied::int)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, channel) DO UPDATE
    SET attempts = m.attempts + excluded.attempts, complied = m.complied + excluded.complied;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_nix18_month_counted AFTER INSERT OR DELETE ON report_nix18_attempt
    FOR EACH ROW EXECUTE FUNCTION report_nix18_month_counted();

CREATE FUNCTION report_violation_month_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_violation;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_violation_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.regime, f.article, n)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, code, regime, article) DO UPDATE
    SET violations = m.violations + excluded.violations;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_violation_month_counted AFTER INSERT OR DELETE ON report_violation
    FOR EACH ROW EXECUTE FUNCTION report_violation_month_counted();

CREATE FUNCTION report_code_month_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_code_control;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_code_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.code_regimes, n)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, code, code_regimes) DO UPDATE
    SET controls = m.controls + excluded.controls;
    RETURN NULL;
END;
$$;
CREATE TRIGGER report_code_month_counted AFTER INSERT OR DELETE ON report_code_control
    FOR EACH ROW EXECUTE FUNCTION report_code_month_counted();

-- --- the month counts and latest controls again, after reports_rebuild ------------------------------------

CREATE FUNCTION reports_rebuild_summaries() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE report_inspection_month, report_nix18_month, report_violation_month, report_code_month,
        report_object_last;

    INSERT INTO report_inspection_month
    SELECT report_month(day), regimes, wijk, object_kind, team_id, violation_regimes, sum(inspections), sum(done),
           sum(permit), sum(complaint), sum(hercontrole)
    FROM report_inspection_day GROUP BY 1, 2, 3, 4, 5, 6;

    INSERT INTO report_nix18_month
    SELECT report_month(day), regimes, wijk, object_kind, team_id, channel, sum(attempts), sum(complied)
    FROM report_nix18_day GROUP BY 1, 2, 3, 4, 5, 6;

    INSERT INTO report_violation_month
    SELECT report_month(day), regimes, wijk, object_kind, team_id, code, regime, article, sum(violations)
    FROM report_violation_day GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    INSERT INTO report_code_month
    SELECT report_month(day), regimes, wijk, object_kind, team_id, code, code_regimes, sum(controls)
    FROM report_code_day GROUP BY 1, 2, 3, 4, 5, 6, 7;

    INSERT INTO report_object_last
    SELECT object_id, max(day) FROM report_inspection WHERE reviewed AND object_id IS NOT NULL GROUP BY object_id;
END;
$$;

SELECT reports_rebuild_summaries();
