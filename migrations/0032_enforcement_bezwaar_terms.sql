-- Bezwaar in detail. `posted_on`: the day a bezwaar sent by post was posted (Awb 6:9: posted within the term and
-- received no later than a week after it is on time). Every change of a bezwaar's lateness or decision term is a
-- recorded step with its reason: lateness excused (6:11), the advisory committee's longer term, the one
-- extension and further postponement with the objector's consent (7:10). The decision deadline row moves with it;
-- the rows here keep what it was before.
ALTER TABLE enforcement_step
    ADD COLUMN posted_on date,
    ADD COLUMN late_excused boolean;

CREATE TABLE enforcement_bezwaar_change (
    step_id      uuid NOT NULL REFERENCES enforcement_step (id),
    seq          integer NOT NULL,
    change       text NOT NULL CHECK (change IN ('lateness_excused', 'advisory_committee', 'extension', 'postponement')),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    due_before   date,
    due_after    date,
    actor_id     uuid NOT NULL REFERENCES app_user (id),
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (step_id, seq)
);
