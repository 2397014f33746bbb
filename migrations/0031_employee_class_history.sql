-- The Alcoholwet fine column is the offender's size on the day of the violation, so the registry keeps the
-- history of each establishment's employee class: one row per period, valid_from inclusive, valid_to exclusive
-- (NULL: still valid). A trigger records every change on the day it is made (Europe/Amsterdam); a second change
-- on one day replaces that day's row. Existing establishments start their history on the day they were created.
CREATE TABLE establishment_employee_class (
    establishment_id  uuid NOT NULL REFERENCES establishment (id),
    employee_class    text NOT NULL CHECK (employee_class IN ('under_50', '50_or_more')),
    valid_from        date NOT NULL,
    valid_to          date,
    PRIMARY KEY (establishment_id, valid_from),
    CONSTRAINT establishment_employee_class_period CHECK (valid_to IS NULL OR valid_to > valid_from)
);

INSERT INTO establishment_employee_class (establishment_id, employee_class, valid_from)
SELECT id, employee_class, (created_at AT TIME ZONE 'Europe/Amsterdam')::date FROM establishment;

CREATE FUNCTION establishment_employee_class_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today date := (now() AT TIME ZONE 'Europe/Amsterdam')::date;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.employee_class IS NOT DISTINCT FROM OLD.employee_class THEN
        RETURN NEW;
    END IF;
    DELETE FROM establishment_employee_class WHERE establishment_id = NEW.id AND valid_from >= today;
    UPDATE establishment_employee_class SET valid_to = today WHERE establishment_id = NEW.id AND valid_to IS NULL;
    INSERT INTO establishment_employee_class (establishment_id, employee_class, valid_from)
    VALUES (NEW.id, NEW.employee_class, today);
    RETURN NEW;
END;
$$;
CREATE TRIGGER establishment_employee_class_history
    AFTER INSERT OR UPDATE OF employee_class ON establishment
    FOR EACH ROW EXECUTE FUNCTION establishment_employee_class_history();

-- Where a case violation's class came from: the inspection's own answer (BB-01) or the registry's history.
ALTER TABLE enforcement_case_violation
    ADD COLUMN employee_class_source text CHECK (employee_class_source IN ('inspection', 'registry'));
UPDATE enforcement_case_violation SET employee_class_source = 'registry' WHERE employee_class IS NOT NULL;
