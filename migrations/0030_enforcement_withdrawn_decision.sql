-- A sent decision the authority withdrew (ingetrokken) stays on record, final as sent, with the day and reason
-- of its withdrawal. A withdrawn boete, like one annulled on bezwaar (outcome gegrond), no longer counts as an
-- earlier fine for recidive.
ALTER TABLE enforcement_step
    ADD COLUMN withdrawn_on date,
    ADD COLUMN withdrawn_reason text CHECK (length(withdrawn_reason) <= 2000),
    ADD CONSTRAINT enforcement_step_withdrawn CHECK ((withdrawn_on IS NULL) = (withdrawn_reason IS NULL)),
    ADD CONSTRAINT enforcement_step_withdrawn_sent CHECK (withdrawn_on IS NULL OR sent_on IS NOT NULL);
