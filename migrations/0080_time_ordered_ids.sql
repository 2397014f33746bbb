-- Time-ordered ids (RFC 9562 version 7) for rows the database gives an id itself, as backend/core/ids.py does
-- for the ids the service makes: a random key lands on a random leaf page of its index, a time-ordered one on
-- the rightmost leaf, which stays in memory however large the table grows. Written out here rather than
-- PostgreSQL 18's built-in uuidv7() so that older servers run it too: a random (version 4) UUID with its first
-- 48 bits replaced by the Unix time in milliseconds and its version nibble turned from 4 (0100) into 7 (0111).
CREATE FUNCTION uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

ALTER TABLE violation ALTER COLUMN id SET DEFAULT uuid7();
ALTER TABLE enforcement_deadline ALTER COLUMN id SET DEFAULT uuid7();
