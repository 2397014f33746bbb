-- A last onder dwangsom may be a lump sum (ineens). A hercontrole's forfeiture records the units that passed
-- and the day of forfeiture (the payment term, Awb 5:33, and the power to collect, 5:35, count from it), and
-- whether its outcome came from the reviewed follow-up inspection or from an officer, with the officer's reason
-- for a sum other than the law's or for correcting the inspection's outcome.
ALTER TABLE enforcement_step DROP CONSTRAINT enforcement_step_dwangsom_unit_check;
ALTER TABLE enforcement_step
    ADD CONSTRAINT enforcement_step_dwangsom_unit_check
        CHECK (dwangsom_unit IN ('per_violation', 'per_day', 'per_week', 'ineens')),
    ADD COLUMN forfeited_on date,
    ADD COLUMN forfeited_units integer CHECK (forfeited_units >= 0),
    ADD COLUMN outcome_source text CHECK (outcome_source IN ('inspection', 'officer')),
    ADD COLUMN outcome_reason text CHECK (length(outcome_reason) <= 2000),
    ADD COLUMN outcome_inspection_id uuid REFERENCES inspection (id);
