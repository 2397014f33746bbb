"""SQL for the registry. Every value is a bind parameter; the search statement is assembled from the fixed
fragments below, one per filter the caller gives, so each combination gets a plan that can use its index."""

from __future__ import annotations

from backend.core.pagination import KeysetQuery
from backend.core.visibility import Visibility

OBJECT_COLUMNS = """id, name, trade_name, street, house_number, house_number_addition, postcode, city, wijk,
latitude, longitude, kvk_number, kind, employee_class, supervision_level, status, regimes, version,
created_at, updated_at"""


# Who may see a row with `regimes`: $1 the caller's regimes, $2 whether the caller is scoped for sex work.
# A row with the sexwork regime is hidden from everyone else even when another regime matches.
def _visible(alias: str = "") -> str:
    return f"{alias}regimes && $1::text[] AND ($2::boolean OR NOT ('sexwork' = ANY ({alias}regimes)))"


VISIBLE = _visible()


def visible_args(seen: Visibility) -> tuple[list[str], bool]:
    """The bind values $1-$2 of VISIBLE, in its order."""
    return seen.regimes, seen.sexwork


GET_OBJECT = f"SELECT {OBJECT_COLUMNS} FROM establishment WHERE id = $3 AND {VISIBLE}"

INSERT_OBJECT = f"""
INSERT INTO establishment (id, name, trade_name, street, house_number, house_number_addition, postcode, city, wijk,
                           latitude, longitude, kvk_number, kind, employee_class, supervision_level, status, regimes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
RETURNING {OBJECT_COLUMNS}
"""

UPDATE_OBJECT = f"""
UPDATE establishment
SET name = $3, trade_name = $4, street = $5, house_number = $6, house_number_addition = $7, postcode = $8,
    city = $9, wijk = $10, latitude = $11, longitude = $12, kvk_number = $13, kind = $14, employee_class = $15,
    supervision_level = $16, status = $17, regimes = $18, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {OBJECT_COLUMNS}
"""

# Columns a COPY of new establishments fills, in INSERT_OBJECT order (the rest take their defaults).
COPY_COLUMNS = (
    "id",
    "name",
    "trade_name",
    "street",
    "house_number",
    "house_number_addition",
    "postcode",
    "city",
    "wijk",
    "latitude",
    "longitude",
    "kvk_number",
    "kind",
    "employee_class",
    "supervision_level",
    "status",
    "regimes",
)

# Which of these (postcode, house number, addition, lower(name)) keys an active establishment already has.
EXISTING_ACTIVE_KEYS = """
SELECT k.postcode, k.house_number, k.addition, k.name
FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[]) AS k (postcode, house_number, addition, name)
WHERE EXISTS (
    SELECT 1 FROM establishment e
    WHERE e.status = 'active' AND e.postcode = k.postcode AND e.house_number = k.house_number
      AND coalesce(e.house_number_addition, '') = k.addition AND lower(e.name) = k.name
)
"""

# Several establishments at once (phone sync): the ones of $3 the caller may see.
# The establishment's employee class on day $2 from its history; a day before the history began takes the class
# first registered (the registry knows nothing earlier).
EMPLOYEE_CLASS_ON = """
SELECT employee_class FROM establishment_employee_class
WHERE establishment_id = $1 AND (valid_to IS NULL OR valid_to > $2)
ORDER BY (valid_from <= $2) DESC, abs(valid_from - $2)
LIMIT 1
"""

GET_OBJECTS = f"SELECT {OBJECT_COLUMNS} FROM establishment WHERE id = ANY ($3::uuid[]) AND {VISIBLE}"

# Establishments by id, whoever asks: for a feature that shows the object of a record the caller may see.
OBJECTS_BY_ID = f"SELECT {OBJECT_COLUMNS} FROM establishment WHERE id = ANY ($1::uuid[])"

# An establishment's kind alone, whoever asks: for a feature that classifies a record (reports count by kind).
OBJECT_KIND = "SELECT kind FROM establishment WHERE id = $1"

# --- search ------------------------------------------------------------------------------------------

# Filter name -> condition on the next bind parameter.
_SEARCH_FILTERS = {
    "q": "search_text ILIKE {}",
    "postcode": "postcode LIKE {}",
    "street": "lower(street) LIKE {}",
    "house_number": "house_number = {}",
    "wijk": "wijk = {}",
    "kind": "kind = {}",
    "regime": "regimes @> ARRAY[{}::text]",
    "status": "status = {}",
}
# Establishments by (name, id); the filters' values are prepared by the service (see _prepared_filters).
OBJECT_SEARCH = KeysetQuery(
    select=f"SELECT {OBJECT_COLUMNS} FROM establishment",
    visible=VISIBLE,
    filter_sql=_SEARCH_FILTERS,
    order_by=(("name", "text"), ("id", "uuid")),
)


# --- locations ---------------------------------------------------------------------------------------

LOCATION_COLUMNS = """id, establishment_id AS object_id, street, house_number, house_number_addition, postcode, city,
wijk, latitude, longitude, description, regimes, created_by, created_at"""

# Active establishments at an address (at most two: a link is made only when exactly one matches).
ACTIVE_OBJECTS_AT = """
SELECT id FROM establishment
WHERE status = 'active' AND postcode = $1 AND house_number = $2 AND coalesce(house_number_addition, '') = $3
LIMIT 2
"""

INSERT_LOCATION = f"""
INSERT INTO location (id, establishment_id, street, house_number, house_number_addition, postcode, city, wijk,
                      latitude, longitude, description, regimes, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING {LOCATION_COLUMNS}
"""

GET_LOCATION = f"SELECT {LOCATION_COLUMNS} FROM location WHERE id = $3 AND {VISIBLE}"

# Several locations at once (phone sync): the ones of $3 the caller may see, each with its establishment's
# id only when the caller may see that establishment too (as _shown_location does for one).
GET_LOCATIONS = f"""
SELECT l.id, CASE WHEN e.id IS NOT NULL THEN l.establishment_id END AS object_id, l.street, l.house_number,
       l.house_number_addition, l.postcode, l.city, l.wijk, l.latitude, l.longitude, l.description, l.regimes,
       l.created_by, l.created_at
FROM location l LEFT JOIN establishment e ON e.id = l.establishment_id AND {_visible("e.")}
WHERE l.id = ANY ($3::uuid[]) AND {_visible("l.")}
"""

OBJECT_VISIBLE = f"SELECT EXISTS (SELECT 1 FROM establishment WHERE id = $3 AND {VISIBLE})"

# --- permits -----------------------------------------------------------------------------------------

PERMIT_COLUMNS = """p.id, p.establishment_id AS object_id, p.type, p.number, p.holder, p.valid_from, p.valid_to,
p.conditions, p.suspensions, p.withdrawn_on, p.version, p.created_at, p.updated_at"""

INSERT_PERMIT = f"""
INSERT INTO permit AS p (id, establishment_id, type, number, holder, valid_from, valid_to, conditions)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING {PERMIT_COLUMNS}
"""

# A permit, if the caller may see its establishment.
GET_PERMIT = f"""
SELECT {PERMIT_COLUMNS} FROM permit p JOIN establishment e ON e.id = p.establishment_id
WHERE p.id = $3 AND {_visible("e.")}
"""

LIST_PERMITS = f"""
SELECT {PERMIT_COLUMNS} FROM permit p WHERE p.establishment_id = $1 ORDER BY p.type, p.valid_from, p.id
"""

# Every permit of several establishments (phone sync).
PERMITS_OF_OBJECTS = f"""
SELECT {PERMIT_COLUMNS} FROM permit p WHERE p.establishment_id = ANY ($1::uuid[])
ORDER BY p.establishment_id, p.type, p.valid_from, p.id
"""

# In force on $2: within its granted period (validity cut short by a withdrawal) and not suspended that day.
PERMITS_IN_FORCE = f"""
SELECT {PERMIT_COLUMNS} FROM permit p
WHERE p.establishment_id = $1 AND p.granted_period @> $2::date AND NOT p.suspensions @> $2::date
ORDER BY p.type, p.valid_from, p.id
"""

UPDATE_PERMIT = f"""
UPDATE permit AS p SET number = $3, holder = $4, valid_from = $5, valid_to = $6, conditions = $7,
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {PERMIT_COLUMNS}
"""

SUSPEND_PERMIT = f"""
UPDATE permit AS p SET suspensions = suspensions + datemultirange(daterange($3, $4, '[]')),
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {PERMIT_COLUMNS}
"""

WITHDRAW_PERMIT = f"""
UPDATE permit AS p SET withdrawn_on = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {PERMIT_COLUMNS}
"""

# From $3 on the permit is in force again. A withdrawal is undone; the days it already ran (withdrawn_on up
# to $3) become a suspension. Otherwise the suspension days from $3 on are lifted.
REINSTATE_PERMIT = f"""
UPDATE permit AS p SET
    suspensions = CASE
        WHEN withdrawn_on IS NULL THEN suspensions - datemultirange(daterange($3, NULL))
        WHEN $3 > withdrawn_on THEN suspensions + datemultirange(daterange(withdrawn_on, $3))
        ELSE suspensions END,
    withdrawn_on = NULL, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING {PERMIT_COLUMNS}
"""

INSERT_HISTORY = """
INSERT INTO permit_history (permit_id, version, action, actor_id, reason, state)
VALUES ($1, $2, $3, $4, $5, $6)
"""

LIST_HISTORY = """
SELECT version, action, occurred_at, actor_id, reason, state FROM permit_history
WHERE permit_id = $1 ORDER BY version
"""

WIJK_CODES = "SELECT code FROM wijk"
WIJK_NAMES = "SELECT code, name FROM wijk ORDER BY name"

# Active objects registered before $3 (an instant), for the inspection cycle; $4 wijk and $5 kind when given.
# Rows (id, kind, supervision_level, created_at), read inside the statement of the feature that asks
# (service.supervised_objects).
SUPERVISED_OBJECTS = f"""
SELECT id, kind, supervision_level, created_at FROM establishment
WHERE status = 'active' AND created_at < $3 AND ($4::text IS NULL OR wijk = $4) AND ($5::text IS NULL OR kind = $5)
  AND {VISIBLE}"""

# --- addressees: append-only, the newest row is current -----------------------------------------------------

INSERT_ADDRESSEE = """
INSERT INTO object_addressee (object_id, name, attention, street, postcode, city, email, recorded_by, letters_by_email)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

ADDRESSEE_HISTORY = """
SELECT name, attention, street, postcode, city, email, letters_by_email, recorded_at, recorded_by FROM object_addressee
WHERE object_id = $1 ORDER BY id DESC LIMIT 100
"""

CURRENT_ADDRESSEE = """
SELECT name, attention, street, postcode, city, email, letters_by_email FROM object_addressee
WHERE object_id = $1 ORDER BY id DESC LIMIT 1
"""

# The addressee that was current at $2 (what a letter sent then was addressed to).
ADDRESSEE_AS_OF = """
SELECT name, attention, street, postcode, city, email, letters_by_email FROM object_addressee
WHERE object_id = $1 AND recorded_at <= $2 ORDER BY id DESC LIMIT 1
"""
