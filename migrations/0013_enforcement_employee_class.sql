-- The Alcoholwet fine column (fewer than 50 employees, or 50 and more) is the offender's size on the day of
-- the violation. The registry keeps only the current class, so a case records the class when the violation
-- enters it (at review, days after the visit); a later change in the registry does not move earlier fines.
-- NULL: a location without a registered object (the proposal then assumes the smaller column and says so).
ALTER TABLE enforcement_case_violation
    ADD COLUMN employee_class text CHECK (employee_class IN ('under_50', '50_or_more'));
