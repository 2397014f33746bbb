-- The letter in the procedure. A step records the letter it was drafted with (its template version and the
-- SHA-256 of the PDF), the hash the second officer approved with the date that letter carried (sent on another
-- day only its date differs), and, for a location without a registered object, the addressee the officer named.
-- Sent, these are final like the rest of the step.
ALTER TABLE enforcement_step
    ADD COLUMN letter_sha256 text CHECK (letter_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN letter_template_version_id uuid REFERENCES letter_template_version (id),
    ADD COLUMN approved_sha256 text CHECK (approved_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN approved_letter_on date,
    ADD COLUMN addressee jsonb CHECK (addressee IS NULL OR jsonb_typeof(addressee) = 'object');

CREATE OR REPLACE FUNCTION enforcement_step_sent_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sent_on IS NOT NULL AND (
        NEW.type, NEW.decision, NEW.violation_ids, NEW.document_text, NEW.amount_cents, NEW.weeks, NEW.months,
        NEW.order_text, NEW.begunstiging_days, NEW.dwangsom_cents, NEW.dwangsom_unit, NEW.dwangsom_max_cents,
        NEW.zienswijze_weeks, NEW.approved_by, NEW.sent_on, NEW.drafted_by, NEW.related_step_id, NEW.due_on,
        NEW.letter_sha256, NEW.letter_template_version_id, NEW.approved_sha256, NEW.approved_letter_on,
        NEW.addressee
    ) IS DISTINCT FROM (
        OLD.type, OLD.decision, OLD.violation_ids, OLD.document_text, OLD.amount_cents, OLD.weeks, OLD.months,
        OLD.order_text, OLD.begunstiging_days, OLD.dwangsom_cents, OLD.dwangsom_unit, OLD.dwangsom_max_cents,
        OLD.zienswijze_weeks, OLD.approved_by, OLD.sent_on, OLD.drafted_by, OLD.related_step_id, OLD.due_on,
        OLD.letter_sha256, OLD.letter_template_version_id, OLD.approved_sha256, OLD.approved_letter_on,
        OLD.addressee
    ) THEN
        RAISE EXCEPTION 'enforcement_step %: a sent step cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- Who receives an establishment's letters: the operator (exploitant or permit holder) with a correspondence
-- address and optional e-mail. Append-only: the newest row is the current addressee, the rest its history.
CREATE TABLE object_addressee (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_id    uuid NOT NULL REFERENCES establishment (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    attention    text CHECK (length(attention) BETWEEN 1 AND 300),
    street       text NOT NULL CHECK (length(street) BETWEEN 1 AND 300),
    postcode     text NOT NULL CHECK (length(postcode) BETWEEN 1 AND 300),
    city         text NOT NULL CHECK (length(city) BETWEEN 1 AND 300),
    email        text CHECK (length(email) BETWEEN 3 AND 300),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    recorded_by  uuid REFERENCES app_user (id)
);
CREATE INDEX object_addressee_object_idx ON object_addressee (object_id, id DESC);

CREATE FUNCTION object_addressee_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'object_addressee is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER object_addressee_no_update_delete
    BEFORE UPDATE OR DELETE ON object_addressee FOR EACH ROW EXECUTE FUNCTION object_addressee_is_append_only();
CREATE TRIGGER object_addressee_no_truncate
    BEFORE TRUNCATE ON object_addressee FOR EACH STATEMENT EXECUTE FUNCTION object_addressee_is_append_only();
