-- A sent letter goes out by e-mail when its addressee has an e-mail address on record (and a mail server is
-- configured), otherwise it is marked for post, for the back office to print and post: the step records which
-- when it is sent, and that is final like the rest of a sent step.
ALTER TABLE enforcement_step
    ADD COLUMN dispatch text CHECK (dispatch IN ('email', 'post')),
    ADD CONSTRAINT enforcement_step_dispatch_sent CHECK (dispatch IS NULL OR sent_on IS NOT NULL);

CREATE OR REPLACE FUNCTION enforcement_step_sent_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sent_on IS NOT NULL AND (
        NEW.type, NEW.decision, NEW.violation_ids, NEW.document_text, NEW.amount_cents, NEW.weeks, NEW.months,
        NEW.order_text, NEW.begunstiging_days, NEW.dwangsom_cents, NEW.dwangsom_unit, NEW.dwangsom_max_cents,
        NEW.zienswijze_weeks, NEW.approved_by, NEW.sent_on, NEW.drafted_by, NEW.related_step_id, NEW.due_on,
        NEW.letter_sha256, NEW.letter_template_version_id, NEW.approved_sha256, NEW.approved_letter_on,
        NEW.addressee, NEW.dispatch
    ) IS DISTINCT FROM (
        OLD.type, OLD.decision, OLD.violation_ids, OLD.document_text, OLD.amount_cents, OLD.weeks, OLD.months,
        OLD.order_text, OLD.begunstiging_days, OLD.dwangsom_cents, OLD.dwangsom_unit, OLD.dwangsom_max_cents,
        OLD.zienswijze_weeks, OLD.approved_by, OLD.sent_on, OLD.drafted_by, OLD.related_step_id, OLD.due_on,
        OLD.letter_sha256, OLD.letter_template_version_id, OLD.approved_sha256, OLD.approved_letter_on,
        OLD.addressee, OLD.dispatch
    ) THEN
        RAISE EXCEPTION 'enforcement_step %: a sent step cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- The letter's e-mail is an outbox e-mail message that names the step (never an address: the addressee's is
-- read when the message is sent). An e-mail message names a complaint or a step.
ALTER TABLE outbox_message
    ADD COLUMN step_id uuid REFERENCES enforcement_step (id),
    DROP CONSTRAINT outbox_message_recipient,
    ADD CONSTRAINT outbox_message_recipient CHECK (
        (channel = 'webhook' AND subscription_id IS NOT NULL AND complaint_id IS NULL AND step_id IS NULL)
        OR (channel = 'email' AND subscription_id IS NULL AND num_nonnulls(complaint_id, step_id) = 1)
    );

CREATE INDEX outbox_message_by_step ON outbox_message (step_id) WHERE step_id IS NOT NULL;
