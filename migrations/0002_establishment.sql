-- Establishments (inrichtingen): the objects inspectors visit. The registry adds the rest of what an
-- object carries (permits, search, import); this is the core every later feature refers to.
CREATE TABLE establishment (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trade_name             text CHECK (length(trade_name) <= 200),
    street                 text NOT NULL CHECK (length(street) BETWEEN 1 AND 200),
    house_number           integer NOT NULL CHECK (house_number BETWEEN 1 AND 99999),
    house_number_addition  text CHECK (length(house_number_addition) <= 10),
    postcode               text NOT NULL CHECK (postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    city                   text NOT NULL DEFAULT 'Utrecht',
    wijk                   text NOT NULL REFERENCES wijk (code),
    latitude               double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude              double precision CHECK (longitude BETWEEN -180 AND 180),
    kvk_number             text CHECK (kvk_number ~ '^[0-9]{8}$'),
    kind                   text NOT NULL,
    employee_class         text NOT NULL DEFAULT 'lt50' CHECK (employee_class IN ('lt50', 'ge50')),
    supervision_level      text NOT NULL DEFAULT 'regular' CHECK (supervision_level IN ('regular', 'verscherpt')),
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    regimes                text[] NOT NULL DEFAULT '{}',
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX establishment_wijk_idx ON establishment (wijk);
CREATE INDEX establishment_postcode_idx ON establishment (postcode, house_number);
