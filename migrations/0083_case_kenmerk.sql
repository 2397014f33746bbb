-- The case's reference ("ons kenmerk"), stored on the case: what its letters print, the subject of their e-mail,
-- what the offender quotes when paying a fine and what a bezwaar refers to. It was derived from the year opened and
-- the first 8 hex digits of the case id; since 0080 those ids are time-ordered (UUIDv7), and their first 8 digits
-- stay the same for about 65 seconds, so the cases opened in one minute (one review under two regimes opens two)
-- shared one kenmerk, and a payment or objection could not be told apart.

-- New cases: HH-<year opened, Europe/Amsterdam>-<number>, the number from one sequence for all years. A sequence
-- per year would need a reset at new year, or a counter row that every opening case waits on; the year is in the
-- reference anyway, so one sequence keeps every number unique without either. nextval() never gives a number
-- twice, so two inserts at the same moment cannot collide (a number taken by an insert that then did nothing,
-- ON CONFLICT or a rollback, is skipped: a kenmerk needs to be unique, not gapless). Zero-padded to 5 digits,
-- wider when it grows: a reference from before this migration ends in 8 hex digits, so a new one cannot equal it
-- before the number reaches 8 digits, after 10 million cases. The service's role gets USAGE on the sequence with the other grants after every
-- migration run (backend/core/roles.py).
CREATE SEQUENCE enforcement_case_kenmerk_seq;

ALTER TABLE enforcement_case ADD COLUMN kenmerk text;

-- Existing cases keep the reference their letters already carry (letters already sent cite it, and payments and
-- objections quote it): the derived value, with the year of opened_at in UTC as the service computed it. Where
-- cases share one, the earliest opened keeps it and each later one gets it with "-2", "-3", ...: the first case's
-- letters are the likelier ones out, and the suffix keeps the later case recognisable by its old reference.
UPDATE enforcement_case c SET kenmerk = numbered.derived || CASE WHEN numbered.n = 1 THEN '' ELSE '-' || numbered.n END
FROM (
    SELECT id, derived, row_number() OVER (PARTITION BY derived ORDER BY opened_at, id) AS n
    FROM (
        SELECT id, opened_at,
               'HH-' || extract(year FROM opened_at AT TIME ZONE 'UTC')::integer || '-' || upper(left(id::text, 8))
                   AS derived
        FROM enforcement_case
    ) cases
) numbered
WHERE numbered.id = c.id;

ALTER TABLE enforcement_case ALTER COLUMN kenmerk SET NOT NULL;
ALTER TABLE enforcement_case ADD CONSTRAINT enforcement_case_kenmerk_key UNIQUE (kenmerk);

-- Given by the database at insert, so no insert statement has to name it (opened_at has its default by then).
CREATE FUNCTION enforcement_case_assign_kenmerk() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_number text;
BEGIN
    IF NEW.kenmerk IS NULL THEN
        next_number := nextval('enforcement_case_kenmerk_seq')::text;
        NEW.kenmerk := 'HH-' || to_char(NEW.opened_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY') || '-'
            || lpad(next_number, greatest(5, length(next_number)), '0');
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER enforcement_case_kenmerk
    BEFORE INSERT ON enforcement_case FOR EACH ROW EXECUTE FUNCTION enforcement_case_assign_kenmerk();

-- Once on a letter, a reference does not change: a payment quoting it must still find the case.
CREATE FUNCTION enforcement_case_kenmerk_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kenmerk IS DISTINCT FROM OLD.kenmerk THEN
        RAISE EXCEPTION 'enforcement_case %: the kenmerk cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER enforcement_case_kenmerk_immutable
    BEFORE UPDATE OF kenmerk ON enforcement_case FOR EACH ROW EXECUTE FUNCTION enforcement_case_kenmerk_is_immutable();
