-- A hercontrole called off: the last onder dwangsom it would check was withdrawn by the authority or annulled on
-- bezwaar (gegrond), so nothing can be forfeited under it (backend/enforcement/hercontrole.py `call_off`). The step
-- leaves `planned` for `called_off`, which is final; before, it stayed `planned` and read as work still to do.
ALTER TABLE enforcement_step DROP CONSTRAINT enforcement_step_status_check;
ALTER TABLE enforcement_step ADD CONSTRAINT enforcement_step_status_check CHECK (status IN (
    'draft', 'approved', 'sent', 'planned', 'complied', 'forfeited', 'registered', 'decided', 'called_off'));
