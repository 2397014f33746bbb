-- When an e-mail to a complaint's reporter (the acknowledgement or the answer) failed for good, the reporter did not
-- hear from us. The handler informs them another way (by phone, letter or a visit) and records it here: the
-- worklist of reporters to inform lists the complaints with such an e-mail that failed after the last record.
-- Each record is audited (complaint.reporter_informed); the columns hold the latest.
ALTER TABLE complaint
    ADD COLUMN reporter_informed_at timestamptz,
    ADD COLUMN reporter_informed_by uuid REFERENCES app_user (id),
    ADD COLUMN reporter_informed_how text CHECK (reporter_informed_how IN ('phone', 'letter', 'visit')),
    ADD CONSTRAINT complaint_reporter_informed_whole CHECK (
        (reporter_informed_at IS NULL) = (reporter_informed_by IS NULL)
        AND (reporter_informed_at IS NULL) = (reporter_informed_how IS NULL)
    );
