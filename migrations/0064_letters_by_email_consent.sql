-- Awb 2:14 lid 1: the authority sends a message electronically only to an addressee who made known that they are
-- reachable that way. An e-mail address on record is not that: the addressee's consent is recorded with it, and a
-- sent letter goes by e-mail only with it. Addressees recorded before have none, so their letters are posted
-- until someone records the addressee again with the consent.
ALTER TABLE object_addressee
    ADD COLUMN letters_by_email boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT object_addressee_letters_by_email_address CHECK (NOT letters_by_email OR email IS NOT NULL);
