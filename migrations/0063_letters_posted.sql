-- A letter marked for post is printed and posted by the back office, which records the day it posted it: the
-- worklist of letters to post lists the sent letters marked for post that nobody recorded as posted yet, and those
-- whose e-mail failed for good (a dead letter in the outbox), which are posted instead.
-- Recorded once (write-once below): who posted a letter on which day is part of its history.
ALTER TABLE enforcement_step
    ADD COLUMN letter_posted_on date,
    ADD COLUMN letter_posted_by uuid REFERENCES app_user (id),
    ADD CONSTRAINT enforcement_step_posted_for_post
        CHECK (letter_posted_on IS NULL OR (dispatch IS NOT NULL AND letter_posted_on >= sent_on)),
    ADD CONSTRAINT enforcement_step_posted_by CHECK ((letter_posted_on IS NULL) = (letter_posted_by IS NULL));

CREATE FUNCTION enforcement_step_posted_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.letter_posted_on IS NOT NULL
       AND (NEW.letter_posted_on, NEW.letter_posted_by) IS DISTINCT FROM (OLD.letter_posted_on, OLD.letter_posted_by)
    THEN
        RAISE EXCEPTION 'enforcement_step %: its posting is recorded once', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER enforcement_step_posted_once
    BEFORE UPDATE ON enforcement_step FOR EACH ROW EXECUTE FUNCTION enforcement_step_posted_once();

-- The worklist, oldest sending first: only the few letters for post still to post are indexed.
CREATE INDEX enforcement_step_to_post_idx ON enforcement_step (sent_on, id)
    WHERE dispatch = 'post' AND letter_posted_on IS NULL AND withdrawn_on IS NULL;
