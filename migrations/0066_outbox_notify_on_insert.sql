-- A new outbox message wakes the dispatchers (LISTEN outbox_message) when its transaction commits. The statements
-- that wrote messages notified themselves (a WITH ... SELECT pg_notify around the INSERT); a trigger does it now,
-- so that the outbox's INSERT can be one statement among others (a CTE of the statement that runs an event's
-- statement reactions together: backend/core/events.py). Notifications of one transaction on one channel with
-- the same payload are delivered once, so a message per row costs the listeners nothing more.
CREATE FUNCTION outbox_message_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_message', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_message_notify AFTER INSERT ON outbox_message
    FOR EACH ROW EXECUTE FUNCTION outbox_message_notify();
