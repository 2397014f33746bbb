-- Performance indicators (backend/reports/): two figures the read model overstated.
--
-- Vergunningcontroles: a control counted when a checklist had a key of any template's permit question, whatever
-- its value. A key means something only in its own template (KS-01 asks for the aanwezigheidsvergunning in an
-- arcade, but in horeca only whether there are machines), and the validator stores an explicit null for a hidden
-- question (an alcohol-shop's AW-01 at a supermarket). Now a checklist checks a permit when it answers (not null)
-- a permit question of its own template: `reports_rebuild` takes reports.definitions.permit_questions() as two
-- parallel arrays, one (template, question) pair per position, instead of the templates and all their keys.
--
-- Sanctions: a decision the authority withdrew later (enforcement_step.withdrawn_on) stayed counted, a withdrawn
-- boete as a fine with its euros. It no longer counts (the reports react to `step.withdrawn`; the rebuild leaves
-- it out).
--
-- Then the facts already there are corrected in place: the inspection facts whose permit flag changes are deleted
-- and inserted again (the counting triggers of 0072 take the old fact off its day and month and add the new one at
-- commit), and the withdrawn decisions' sanction facts are deleted (they have no counts).

-- Whether an inspection's checklists answer (not null) a permit question of their own template: the pairs
-- (permit_templates[n], permit_questions[n]) of reports.definitions.permit_questions(), as facts.py's
-- definitions.permit_checked decides it.
CREATE FUNCTION report_permit_checked(inspection uuid, permit_templates text[], permit_questions text[])
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM inspection_checklist c
        JOIN unnest(permit_templates, permit_questions) AS p (template_key, question)
          ON p.template_key = c.template_key
        WHERE c.inspection_id = inspection AND c.answers ->> p.question IS NOT NULL)
$$;

-- --- every fact and count again from the features' tables ---------------------------------------------------
-- The same classification as backend/reports/facts.py (tests/test_reports_read_model.py checks both against the
-- direct definitions). Arguments: reports.definitions.permit_questions(), (template, question) pairs as two
-- parallel arrays.

CREATE OR REPLACE FUNCTION reports_rebuild(permit_templates text[], permit_questions text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('toezicht.reports_rebuilding', 'on', true);
    TRUNCATE report_inspection, report_nix18_attempt, report_violation, report_code_control, report_inspection_day,
        report_nix18_day, report_violation_day, report_code_day, report_complaint, report_sanction,
        report_hercontrole, report_case;

    INSERT INTO report_inspection
    SELECT i.id, i.establishment_id, (i.inspected_at AT TIME ZONE 'Europe/Amsterdam')::date, i.regimes, i.wijk,
           coalesce(e.kind, 'location'), i.team_id, i.state = 'reviewed',
           i.state = 'reviewed' AND report_permit_checked(i.id, permit_templates, permit_questions),
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
    WHERE (s.type IN ('warning', 'besluit') AND s.sent_on IS NOT NULL AND s.withdrawn_on IS NULL)
       OR (s.type = 'hercontrole' AND s.status IN ('complied', 'forfeited'));

    INSERT INTO report_hercontrole
    SELECT s.assignment_id, s.case_id FROM enforcement_step s
    WHERE s.type = 'hercontrole' AND s.assignment_id IS NOT NULL;

    PERFORM set_config('toezicht.reports_rebuilding', 'off', true);
END;
$$;

-- --- the facts already there -------------------------------------------------------------------------------
-- The pairs of reports.definitions.permit_questions() as this migration was written.

WITH pairs (templates, questions) AS (
    VALUES (ARRAY['alcohol-horeca', 'alcohol-horeca', 'alcohol-paracommercie', 'alcohol-shop', 'coffeeshop',
                  'coffeeshop', 'gambling-arcade', 'gambling-arcade', 'gambling-machines', 'illegal-prostitution',
                  'sexwork-establishment'],
            ARRAY['AW-01', 'AW-16', 'AW-01', 'AW-01', 'CS-01', 'CS-01a', 'KS-01', 'KS-01b', 'KS-01a', 'SX-08a',
                  'SX-01'])
), corrected AS (
    SELECT f.id, f.reviewed AND report_permit_checked(f.id, pairs.templates, pairs.questions) AS permit
    FROM report_inspection f, pairs
    WHERE f.permit  -- the new rule checks less: only a fact counted as a vergunningcontrole can change
), changed AS (
    DELETE FROM report_inspection f USING corrected c
    WHERE f.id = c.id AND f.permit <> c.permit
    RETURNING f.id, f.object_id, f.day, f.regimes, f.wijk, f.object_kind, f.team_id, f.reviewed, c.permit, f.reason,
              f.violation_regimes
)
INSERT INTO report_inspection (id, object_id, day, regimes, wijk, object_kind, team_id, reviewed, permit, reason,
                               violation_regimes)
SELECT * FROM changed;

DELETE FROM report_sanction r USING enforcement_step s
WHERE s.id = r.id AND s.type IN ('warning', 'besluit') AND s.withdrawn_on IS NOT NULL;
