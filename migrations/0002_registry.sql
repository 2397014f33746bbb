-- The registry: establishments (objects) inspectors visit, locations inspections can target, and the
-- permits of establishments with their history. See backend/registry/.

-- Trigram indexes for name search; btree_gist for the permit overlap constraint. Both are trusted
-- extensions (PostgreSQL 13+): the database owner may create them without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- An establishment (inrichting / object). Closing one sets status 'closed': inspections, permits and
-- sanctions keep referring to it, so rows are never deleted.
CREATE TABLE establishment (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trade_name             text CHECK (length(trade_name) BETWEEN 1 AND 200),
    street                 text NOT NULL CHECK (length(street) BETWEEN 1 AND 200),
    house_number           integer NOT NULL CHECK (house_number BETWEEN 1 AND 99999),
    house_number_addition  text CHECK (length(house_number_addition) BETWEEN 1 AND 10),
    postcode               text NOT NULL CHECK (postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    city                   text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    wijk                   text NOT NULL REFERENCES wijk (code),
    latitude               double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude              double precision CHECK (longitude BETWEEN -180 AND 180),
    kvk_number             text CHECK (kvk_number ~ '^[0-9]{8}$'),
    kind                   text NOT NULL CHECK (kind IN (
        'horeca_hoogdrempelig', 'horeca_laagdrempelig', 'slijterij', 'supermarkt', 'paracommercie', 'coffeeshop',
        'seks_prive_huis', 'seks_club', 'seks_raamprostitutie', 'seks_escortbedrijf', 'seks_massagesalon',
        'seks_prostitutiehotel', 'seks_bioscoop', 'seks_theater', 'seks_parenclub', 'seks_sauna',
        'speelautomatenhal', 'other')),
    -- Sets the column of the Alcoholbesluit fine table: fewer than 50 employees, or 50 and more.
    employee_class         text NOT NULL CHECK (employee_class IN ('under_50', '50_or_more')),
    supervision_level      text NOT NULL DEFAULT 'regular' CHECK (supervision_level IN ('regular', 'verscherpt')),
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    regimes                text[] NOT NULL CHECK (
        cardinality(regimes) BETWEEN 1 AND 5
        AND regimes <@ ARRAY['alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling']),
    -- What `q` searches (trigram index below).
    search_text            text GENERATED ALWAYS AS (name || ' ' || coalesce(trade_name, '')) STORED,
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT establishment_coordinates_paired CHECK ((latitude IS NULL) = (longitude IS NULL)),
    -- A sex business is visible only to users scoped for sex work; the rule reads the regimes alone.
    CONSTRAINT establishment_sex_business_is_sexwork CHECK (kind NOT LIKE 'seks\_%' OR 'sexwork' = ANY (regimes))
);
-- Keyset order of every search is (name, id); the filtered variants keep that order per filter value.
CREATE INDEX establishment_name_idx ON establishment (name, id);
CREATE INDEX establishment_wijk_name_idx ON establishment (wijk, name, id);
CREATE INDEX establishment_kind_name_idx ON establishment (kind, name, id);
CREATE INDEX establishment_postcode_idx ON establishment (postcode text_pattern_ops, house_number);
CREATE INDEX establishment_street_idx ON establishment (lower(street) text_pattern_ops, house_number);
CREATE INDEX establishment_regimes_idx ON establishment USING gin (regimes);
CREATE INDEX establishment_search_idx ON establishment USING gin (search_text gin_trgm_ops);
-- One active establishment per name at an address: what the CSV import and the API refuse as a duplicate.
CREATE UNIQUE INDEX establishment_active_address_name_key ON establishment
    (postcode, house_number, coalesce(house_number_addition, ''), lower(name)) WHERE status = 'active';

-- A place an inspection can target: an establishment's address, or one that is not a registered object
-- (an address from an advertisement, a complaint about a private house). It carries the regimes it was
-- created for, which decide who may see it, like an establishment's.
CREATE TABLE location (
    id                     uuid PRIMARY KEY,
    establishment_id       uuid REFERENCES establishment (id),
    street                 text NOT NULL CHECK (length(street) BETWEEN 1 AND 200),
    house_number           integer NOT NULL CHECK (house_number BETWEEN 1 AND 99999),
    house_number_addition  text CHECK (length(house_number_addition) BETWEEN 1 AND 10),
    postcode               text NOT NULL CHECK (postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    city                   text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    wijk                   text NOT NULL REFERENCES wijk (code),
    latitude               double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude              double precision CHECK (longitude BETWEEN -180 AND 180),
    description            text CHECK (length(description) <= 2000),
    regimes                text[] NOT NULL CHECK (
        cardinality(regimes) BETWEEN 1 AND 5
        AND regimes <@ ARRAY['alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling']),
    created_by             uuid NOT NULL REFERENCES app_user (id),
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT location_coordinates_paired CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX location_establishment_idx ON location (establishment_id);
CREATE INDEX location_address_idx ON location (postcode, house_number);

-- A permit of an establishment. `suspensions` holds every day it was or will be suspended; a withdrawal
-- ends it from `withdrawn_on`. Both stay readable for past dates ("which permits were in force then").
CREATE TABLE permit (
    id                uuid PRIMARY KEY,
    establishment_id  uuid NOT NULL REFERENCES establishment (id),
    type              text NOT NULL CHECK (type IN (
        'alcoholvergunning', 'horeca_exploitatievergunning', 'coffeeshop_gedoogverklaring',
        'exploitatievergunning_seksinrichting', 'aanwezigheidsvergunning_kansspelautomaten',
        'vergunning_speelautomatenhal', 'ontheffing_art35')),
    number            text NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    holder            text NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
    valid_from        date NOT NULL,
    valid_to          date,
    conditions        jsonb NOT NULL DEFAULT '{}',
    suspensions       datemultirange NOT NULL DEFAULT '{}',
    withdrawn_on      date,
    -- The days the permit is granted for: its validity, cut short by a withdrawal.
    granted_period    daterange GENERATED ALWAYS AS (
        daterange(valid_from, CASE
            WHEN withdrawn_on IS NULL THEN valid_to + 1
            WHEN valid_to IS NULL THEN withdrawn_on
            ELSE least(valid_to + 1, withdrawn_on) END, '[)')) STORED,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT permit_valid_to_not_before_valid_from CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT permit_withdrawn_within_validity CHECK (withdrawn_on IS NULL OR withdrawn_on >= valid_from),
    -- An establishment holds one permit of a type at a time (one per sex business type for sex
    -- businesses); art. 35 ontheffingen are per event and may overlap.
    CONSTRAINT permit_no_overlap EXCLUDE USING gist (
        establishment_id WITH =, type WITH =, (coalesce(conditions ->> 'business_type', '')) WITH =,
        granted_period WITH &&
    ) WHERE (type <> 'ontheffing_art35')
);
CREATE INDEX permit_establishment_idx ON permit (establishment_id, type, valid_from);

-- Every change of a permit: its state after the change, who made it and why.
CREATE TABLE permit_history (
    seq          bigserial PRIMARY KEY,
    permit_id    uuid NOT NULL REFERENCES permit (id),
    version      integer NOT NULL,
    action       text NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid REFERENCES app_user (id),
    reason       text CHECK (length(reason) <= 1000),
    state        jsonb NOT NULL,
    UNIQUE (permit_id, version)
);
