-- E-mail as a second outbox channel: a message to the reporter of a complaint, found at send time through the
-- complaint (the outbox stores no address and no text, only the complaint it concerns). A webhook message has
-- a subscription; an e-mail message has a complaint instead. One e-mail per event at most.
ALTER TABLE outbox_message
    ADD COLUMN channel text NOT NULL DEFAULT 'webhook' CHECK (channel IN ('webhook', 'email')),
    ADD COLUMN complaint_id uuid REFERENCES complaint (id),
    ALTER COLUMN subscription_id DROP NOT NULL,
    ADD CONSTRAINT outbox_message_recipient CHECK (
        (channel = 'webhook' AND subscription_id IS NOT NULL AND complaint_id IS NULL)
        OR (channel = 'email' AND subscription_id IS NULL AND complaint_id IS NOT NULL)
    );

CREATE UNIQUE INDEX outbox_message_one_email_per_event ON outbox_message (event_id) WHERE channel = 'email';
