-- The service's database role may only INSERT and SELECT audit events (backend/core/roles.py), yet linking an
-- event at commit updates its row. The link trigger's function therefore runs with its owner's rights (the
-- schema owner, who runs migrations), with a fixed search_path so no object of the caller's can stand in for
-- ours. The append-only trigger still admits exactly that one update (depth 2, unlinked row, content unchanged).
ALTER FUNCTION audit_link() SECURITY DEFINER SET search_path = public, pg_temp;
