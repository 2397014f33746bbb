-- Performance indicators: the day and month counts are added at commit, not when a fact is written.
--
-- Every inspection of a team in a wijk on one day adds to the same count rows. Written by plain AFTER triggers,
-- a count row stayed locked from the fact's INSERT (in the middle of the request's transaction) until its COMMIT,
-- several round trips to the application later, and concurrent submissions of that day and wijk queued behind
-- it: under 20 phones at once, half of a submission's time in PostgreSQL was waiting for those rows.
--
-- Now the counting triggers are deferred constraint triggers: they run during COMMIT, after the audit chain's
-- link (0014), and hold the count rows only from there to the end of the commit. Every counting trigger first
-- takes the audit chain's lock (reentrant: a transaction that audited already holds it), so count rows are
-- always locked after that one lock and two commits can never wait for each other crosswise. Commits are
-- serialised on that lock already (the chain is one line); the counts add a few index updates to it.
--
-- One trigger per fact table now adds a fact to its day and to its month (0070's day and 0071's month triggers
-- did the same classification twice). A fact inserted and deleted in one transaction is counted +1 and -1: a
-- deferred trigger sees the row as it was written. What a report reads is unchanged, and a transaction never
-- reads counts it changed itself.

DROP TRIGGER report_inspection_counted ON report_inspection;
DROP TRIGGER report_inspection_month_counted ON report_inspection;
DROP TRIGGER report_nix18_counted ON report_nix18_attempt;
DROP TRIGGER report_nix18_month_counted ON report_nix18_attempt;
DROP TRIGGER report_violation_counted ON report_violation;
DROP TRIGGER report_violation_month_counted ON report_violation;
DROP TRIGGER report_code_counted ON report_code_control;
DROP TRIGGER report_code_month_counted ON report_code_control;
DROP FUNCTION report_inspection_month_counted();
DROP FUNCTION report_nix18_month_counted();
DROP FUNCTION report_violation_month_counted();
DROP FUNCTION report_code_month_counted();

-- TG_ARGV[0] of every counting trigger: the audit chain's lock key ("audit_ch", as in 0014).

CREATE OR REPLACE FUNCTION report_inspection_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_inspection;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
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

CREATE OR REPLACE FUNCTION report_nix18_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_nix18_attempt;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_nix18_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.channel, n, n * f.complied::int)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, channel) DO UPDATE
    SET attempts = d.attempts + excluded.attempts, complied = d.complied + excluded.complied;
    INSERT INTO report_nix18_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.channel, n, n * f.complied::int)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, channel) DO UPDATE
    SET attempts = m.attempts + excluded.attempts, complied = m.complied + excluded.complied;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION report_violation_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_violation;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_violation_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.regime, f.article, f.observed_on, n)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, code, regime, article, observed_on) DO UPDATE
    SET violations = d.violations + excluded.violations;
    INSERT INTO report_violation_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.regime, f.article, n)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, code, regime, article) DO UPDATE
    SET violations = m.violations + excluded.violations;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION report_code_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f report_code_control;
    n int;
BEGIN
    IF report_rebuilding() THEN RETURN NULL; END IF;
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    IF TG_OP = 'DELETE' THEN f := OLD; n := -1; ELSE f := NEW; n := 1; END IF;
    INSERT INTO report_code_day AS d
    VALUES (f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.code_regimes, n)
    ON CONFLICT (day, regimes, wijk, object_kind, team_id, code, code_regimes) DO UPDATE
    SET controls = d.controls + excluded.controls;
    INSERT INTO report_code_month AS m
    VALUES (report_month(f.day), f.regimes, f.wijk, f.object_kind, f.team_id, f.code, f.code_regimes, n)
    ON CONFLICT (month, regimes, wijk, object_kind, team_id, code, code_regimes) DO UPDATE
    SET controls = m.controls + excluded.controls;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER report_inspection_counted AFTER INSERT OR DELETE ON report_inspection
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_inspection_counted('7022629598040908648');
CREATE CONSTRAINT TRIGGER report_nix18_counted AFTER INSERT OR DELETE ON report_nix18_attempt
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_nix18_counted('7022629598040908648');
CREATE CONSTRAINT TRIGGER report_violation_counted AFTER INSERT OR DELETE ON report_violation
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_violation_counted('7022629598040908648');
CREATE CONSTRAINT TRIGGER report_code_counted AFTER INSERT OR DELETE ON report_code_control
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_code_counted('7022629598040908648');
