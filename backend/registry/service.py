"""The registry's rules: who may see and change establishments, locations and permits, and what is valid.

Visibility: a caller sees a record (establishment, location; a permit through its establishment) when its
regimes share one with the caller's; a record with the sexwork regime only when the caller has sexwork too.
Sex businesses always carry the sexwork regime (checked here and in the database). A record the caller may
not see answers 404, like one that does not exist. Writes must leave a record the writer can still see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit
from backend.core.auth import Principal
from backend.core.calendar import today
from backend.core.concurrency import stale
from backend.core.errors import Conflict, FieldError, FieldProblems, NotFound, invalid, invalid_parameter
from backend.core.ids import new_id
from backend.core.pagination import PageRequest
from backend.core.visibility import Visibility
from backend.letters.models import Addressee
from backend.registry import queries
from backend.registry.models import (
    SEX_KINDS,
    AddresseeRecord,
    Establishment,
    EstablishmentPage,
    Location,
    LocationCreate,
    ObjectAddressee,
    ObjectFilters,
    ObjectWithPermits,
    ObjectWrite,
    Permit,
    PermitHistoryEntry,
    PermitList,
    PermitWrite,
    ReinstatePermit,
    SuspendPermit,
    WithdrawPermit,
)


def _scope(principal: Principal) -> tuple[list[str], bool]:
    return queries.visible_args(Visibility.of(principal))


def _visible_to(principal: Principal, regimes: Sequence[str]) -> bool:
    return principal.sees_any_regime(regimes) and ("sexwork" not in regimes or principal.sees_regime("sexwork"))


# --- addresses -----------------------------------------------------------------------------------------


def normalise_postcode(raw: str) -> str:
    """'1234 ab' -> '1234AB' (the format is checked where the value enters)."""
    return raw.replace(" ", "").upper()


def normalise_addition(raw: str | None) -> str | None:
    """' bis' -> 'BIS'; blank -> None."""
    if raw is None:
        return None
    return raw.strip().upper() or None


async def wijk_codes(conn: asyncpg.Connection) -> frozenset[str]:
    return frozenset(row["code"] for row in await conn.fetch(queries.WIJK_CODES))


async def wijk_names(conn: asyncpg.Connection) -> dict[str, str]:
    """Every wijk's name by code, in the order of the names."""
    return {row["code"]: row["name"] for row in await conn.fetch(queries.WIJK_NAMES)}


def supervised_objects(
    regimes: list[str], sees_sexwork: bool, *, before: datetime, wijk: str | None, kind: str | None
) -> tuple[str, list[Any]]:
    """The active objects registered before `before` under any of `regimes` (sex work only with `sees_sexwork`),
    in a wijk and of a kind when given: what the inspection cycle is about (the performance indicators). Given as
    a statement with its bind values ($1-$5), rows (id, kind, supervision_level, created_at), for the caller to
    read inside its own statement: a city's tens of thousands of objects are counted where they are, not fetched
    and sent back."""
    return queries.SUPERVISED_OBJECTS, [regimes, sees_sexwork, before, wijk, kind]


async def ensure_known_wijk_filter(conn: asyncpg.Connection, wijk: str | None) -> None:
    """A filter on a wijk that does not exist is a mistake to report (422), not a search with no results."""
    if wijk is not None and wijk not in await wijk_codes(conn):
        raise invalid_parameter("wijk", "unknown wijk")


def object_problems(data: ObjectWrite, wijken: frozenset[str]) -> list[FieldError]:
    """Rules across fields and against reference data, for the API and the CSV import alike."""
    problems = []
    if data.wijk not in wijken:
        problems.append(FieldError(detail=f"unknown wijk; one of: {', '.join(sorted(wijken))}", pointer="/wijk"))
    if (data.latitude is None) != (data.longitude is None):
        problems.append(FieldError(detail="give latitude and longitude together, or neither", pointer="/longitude"))
    if data.kind in SEX_KINDS and "sexwork" not in data.regimes:
        problems.append(FieldError(detail="a sex business carries the sexwork regime", pointer="/regimes"))
    return problems


def object_row(data: ObjectWrite) -> tuple[Any, ...]:
    """The column values of an establishment (after id), normalised, in queries.INSERT_OBJECT order."""
    return (
        data.name.strip(),
        data.trade_name.strip() if data.trade_name else None,
        data.street.strip(),
        data.house_number,
        normalise_addition(data.house_number_addition),
        normalise_postcode(data.postcode),
        data.city.strip(),
        data.wijk,
        data.latitude,
        data.longitude,
        data.kvk_number,
        data.kind,
        data.employee_class,
        data.supervision_level,
        data.status,
        sorted(set(data.regimes)),
    )


# --- establishments -------------------------------------------------------------------------------------


def _establishment(row: asyncpg.Record) -> Establishment:
    return msgspec.convert(dict(row), Establishment)


def _audit_fields(value: Establishment) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(value)
    for key in ("id", "version", "created_at", "updated_at"):
        fields.pop(key)
    return fields


async def get_object(conn: asyncpg.Connection, principal: Principal, object_id: UUID) -> Establishment:
    """The establishment, if the caller may see it (other features call this too)."""
    row = await conn.fetchrow(queries.GET_OBJECT, *_scope(principal), object_id)
    if row is None:
        raise NotFound("No such object.")
    return _establishment(row)


async def employee_class_on(conn: asyncpg.Connection, principal: Principal, object_id: UUID, day: date) -> str:
    """The object's employee class on `day` from the registry's history (other features call this: the fine
    column is the size on the day of the violation). NotFound when the caller may not see the object."""
    current = await get_object(conn, principal, object_id)
    return await conn.fetchval(queries.EMPLOYEE_CLASS_ON, object_id, day) or current.employee_class


async def search_objects(
    conn: asyncpg.Connection, principal: Principal, filters: ObjectFilters, page: PageRequest
) -> EstablishmentPage:
    await ensure_known_wijk_filter(conn, filters.wijk)
    prepared = _prepared_filters(filters)
    async with conn.transaction(readonly=True):
        # A cached generic plan cannot use the search values: for `q` it took 10 ms where a plan for the values
        # takes 1-2 ms (tests/bench/bench_registry.py). Plan each search for its own values.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        items, next_cursor = await queries.OBJECT_SEARCH.page(
            conn, prepared, page, scope_args=_scope(principal), item=_establishment
        )
    return EstablishmentPage(items=items, next_cursor=next_cursor)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prepared_filters(filters: ObjectFilters) -> dict[str, Any]:
    """Filter values as the search SQL compares them: substrings and prefixes as LIKE patterns."""
    prepared = filters.filter_values()
    if filters.q is not None:
        prepared["q"] = f"%{_like_escape(filters.q.strip())}%"
    if filters.postcode is not None:
        prepared["postcode"] = normalise_postcode(filters.postcode) + "%"
    if filters.street is not None:
        prepared["street"] = _like_escape(filters.street.strip().lower()) + "%"
    return prepared


async def create_object(
    tx: asyncpg.Connection, principal: Principal, data: ObjectWrite, *, request_id: str | None
) -> Establishment:
    await _check_object(tx, principal, data)
    row = await _write_object(tx, queries.INSERT_OBJECT, new_id(), *object_row(data))
    created = _establishment(row)
    await audit.record_user_action(
        tx, principal, "establishment", created.id, "created", request_id=request_id, after=_audit_fields(created)
    )
    return created


async def replace_object(
    tx: asyncpg.Connection,
    principal: Principal,
    object_id: UUID,
    data: ObjectWrite,
    *,
    version: int,
    request_id: str | None,
) -> Establishment:
    current = await get_object(tx, principal, object_id)
    await _check_object(tx, principal, data)
    row = await _write_object(tx, queries.UPDATE_OBJECT, object_id, version, *object_row(data))
    if row is None:
        raise stale(current.version)
    updated = _establishment(row)
    await audit.record_user_update(
        tx,
        principal,
        "establishment",
        object_id,
        "updated",
        _audit_fields(current),
        _audit_fields(updated),
        request_id=request_id,
    )
    return updated


async def _check_object(tx: asyncpg.Connection, principal: Principal, data: ObjectWrite) -> None:
    problems = FieldProblems()
    problems.extend(object_problems(data, await wijk_codes(tx)))
    if not problems and not _visible_to(principal, data.regimes):
        problems.add("/regimes", "include a regime you are scoped for (sexwork needs the sexwork scope)")
    problems.raise_if_any()


async def _write_object(tx: asyncpg.Connection, sql: str, *args: Any) -> asyncpg.Record | None:
    try:
        return await tx.fetchrow(sql, *args)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "An active object with this name is already registered at this address.", code="duplicate_object"
        ) from None


# --- locations -------------------------------------------------------------------------------------------


async def create_location(
    tx: asyncpg.Connection, principal: Principal, data: LocationCreate, *, request_id: str | None
) -> Location:
    problems = FieldProblems()
    if data.wijk not in await wijk_codes(tx):
        problems.add("/wijk", "unknown wijk")
    if (data.latitude is None) != (data.longitude is None):
        problems.add("/longitude", "give latitude and longitude together, or neither")
    if not set(data.regimes) <= principal.regimes:
        problems.add("/regimes", "a location is created for regimes you are scoped for")
    problems.raise_if_any()
    postcode, addition = normalise_postcode(data.postcode), normalise_addition(data.house_number_addition)
    matches = await tx.fetch(queries.ACTIVE_OBJECTS_AT, postcode, data.house_number, addition or "")
    object_id = matches[0]["id"] if len(matches) == 1 else None  # several businesses at one address: no guess
    row = await tx.fetchrow(
        queries.INSERT_LOCATION,
        new_id(),
        object_id,
        data.street.strip(),
        data.house_number,
        addition,
        postcode,
        data.city.strip(),
        data.wijk,
        data.latitude,
        data.longitude,
        data.description,
        sorted(set(data.regimes)),
        principal.user_id,
    )
    location = await _shown_location(tx, principal, row)
    await audit.record_user_action(
        tx,
        principal,
        "location",
        location.id,
        "created",
        request_id=request_id,
        after={"object_id": str(object_id) if object_id else None, "regimes": location.regimes},
    )
    return location


async def get_location(
    tx: asyncpg.Connection, principal: Principal, location_id: UUID, *, request_id: str | None
) -> Location:
    row = await tx.fetchrow(queries.GET_LOCATION, *_scope(principal), location_id)
    if row is None:
        raise NotFound("No such location.")
    location = await _shown_location(tx, principal, row)
    if "sexwork" in location.regimes:
        # A sex-work address may be someone's home: who looked at it is logged (DOMAIN.md, sensitive data).
        await audit.record_user_action(tx, principal, "location", location_id, "read", request_id=request_id)
    return location


async def target_of(
    conn: asyncpg.Connection,
    principal: Principal,
    object_id: UUID | None,
    location_id: UUID | None,
    problems: FieldProblems,
    *,
    request_id: str | None,
) -> Establishment | Location | None:
    """The object or the location a record is about, given as exactly one of `object_id` and `location_id` (the
    fields `/object_id` and `/location_id` of a request); one the caller may not see counts as missing. None with
    the problem added when there is no such target."""
    if (object_id is None) == (location_id is None):
        problems.add("/object_id", "give exactly one of object_id and location_id")
        return None
    if object_id is not None:
        try:
            return await get_object(conn, principal, object_id)
        except NotFound:
            problems.add("/object_id", "no such object")
            return None
    assert location_id is not None
    try:
        return await get_location(conn, principal, location_id, request_id=request_id)
    except NotFound:
        problems.add("/location_id", "no such location")
        return None


async def _shown_location(conn: asyncpg.Connection, principal: Principal, row: asyncpg.Record) -> Location:
    """The location as this caller may see it: the linked establishment only if they may see that too."""
    fields = dict(row)
    if fields["object_id"] is not None and not await conn.fetchval(
        queries.OBJECT_VISIBLE, *_scope(principal), fields["object_id"]
    ):
        fields["object_id"] = None
    return msgspec.convert(fields, Location)


# --- permits -------------------------------------------------------------------------------------------


def _permit_type(data: PermitWrite) -> str:
    tag = data.__struct_config__.tag
    assert isinstance(tag, str)  # every PermitWrite class is tagged with its type's name (models.py)
    return tag


def permit_state(row: asyncpg.Record) -> dict[str, Any]:
    """A permit's fields as its history records them."""
    state: dict[str, Any] = msgspec.to_builtins(
        {
            "number": row["number"],
            "holder": row["holder"],
            "valid_from": row["valid_from"],
            "valid_to": row["valid_to"],
            "conditions": row["conditions"],
            "withdrawn_on": row["withdrawn_on"],
            "suspensions": [[s["starts_on"], s["ends_on"]] for s in _suspensions(row)],
        }
    )
    return state


def _suspensions(row: asyncpg.Record) -> list[dict[str, date]]:
    # A daterange comes back half-open: [start, day after the last day).
    return [{"starts_on": r.lower, "ends_on": r.upper - timedelta(days=1)} for r in row["suspensions"]]


def _masked(permit_type: str, conditions: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The aanhangsel names people: only users with the alcohol regime see them."""
    if permit_type == "alcoholvergunning" and not principal.sees_regime("alcohol"):
        return {k: v for k, v in conditions.items() if k != "leidinggevenden"}
    return conditions


def _permit(row: asyncpg.Record, principal: Principal, history: list[PermitHistoryEntry] | None = None) -> Permit:
    fields = dict(row)
    suspensions = _suspensions(row)
    on = today()
    if fields["withdrawn_on"] is not None:
        status = "withdrawn"
    elif any(s["ends_on"] >= on for s in suspensions):
        status = "suspended"
    else:
        status = "granted"
    fields.update(
        status=status, suspensions=suspensions, conditions=_masked(fields["type"], fields["conditions"], principal)
    )
    permit: Permit = msgspec.convert(fields, Permit)
    return permit if history is None else msgspec.structs.replace(permit, history=history)


async def _visible_permit(conn: asyncpg.Connection, principal: Principal, permit_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.GET_PERMIT, *_scope(principal), permit_id)
    if row is None:
        raise NotFound("No such permit.")
    return row


async def list_permits(conn: asyncpg.Connection, principal: Principal, object_id: UUID, on: date | None) -> PermitList:
    await get_object(conn, principal, object_id)
    if on is None:
        rows = await conn.fetch(queries.LIST_PERMITS, object_id)
    else:
        rows = await conn.fetch(queries.PERMITS_IN_FORCE, object_id, on)
    return PermitList(on=on, items=[_permit(row, principal) for row in rows])


async def get_permit(conn: asyncpg.Connection, principal: Principal, permit_id: UUID) -> Permit:
    row = await _visible_permit(conn, principal, permit_id)
    history = [
        PermitHistoryEntry(
            version=h["version"],
            action=h["action"],
            occurred_at=h["occurred_at"],
            actor_id=h["actor_id"],
            reason=h["reason"],
            state={**h["state"], "conditions": _masked(row["type"], h["state"]["conditions"], principal)},
        )
        for h in await conn.fetch(queries.LIST_HISTORY, permit_id)
    ]
    return _permit(row, principal, history)


def _check_validity(data: PermitWrite) -> None:
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise invalid("/valid_to", "valid_to is before valid_from")


def _check_fits_object(data: PermitWrite, establishment: Establishment) -> None:
    if _permit_type(data) == "exploitatievergunning_seksinrichting" and "sexwork" not in establishment.regimes:
        raise invalid(
            "/type",
            "a seksinrichting permit belongs to an object with the sexwork regime",
            code="permit_type_not_applicable",
        )


async def _write_permit(tx: asyncpg.Connection, sql: str, *args: Any) -> asyncpg.Record | None:
    try:
        return await tx.fetchrow(sql, *args)
    except asyncpg.ExclusionViolationError:
        raise Conflict(
            "Another permit of this type is granted to this object for an overlapping period; end or withdraw "
            "that one first.",
            code="permit_overlap",
        ) from None


async def _record_change(
    tx: asyncpg.Connection,
    principal: Principal,
    row: asyncpg.Record,
    action: str,
    *,
    reason: str | None,
    request_id: str | None,
    before: dict[str, Any] | None = None,
) -> None:
    state = permit_state(row)
    await tx.execute(queries.INSERT_HISTORY, row["id"], row["version"], action, principal.user_id, reason, state)
    await audit.record_user_action(
        tx, principal, "permit", row["id"], action, request_id=request_id, reason=reason, before=before, after=state
    )


async def create_permit(
    tx: asyncpg.Connection, principal: Principal, object_id: UUID, data: PermitWrite, *, request_id: str | None
) -> Permit:
    establishment = await get_object(tx, principal, object_id)
    _check_validity(data)
    _check_fits_object(data, establishment)
    row = await _write_permit(
        tx,
        queries.INSERT_PERMIT,
        new_id(),
        object_id,
        _permit_type(data),
        data.number.strip(),
        data.holder.strip(),
        data.valid_from,
        data.valid_to,
        msgspec.to_builtins(data.conditions),
    )
    await _record_change(tx, principal, row, "granted", reason=None, request_id=request_id)
    return _permit(row, principal)


async def replace_permit(
    tx: asyncpg.Connection,
    principal: Principal,
    permit_id: UUID,
    data: PermitWrite,
    *,
    version: int,
    request_id: str | None,
) -> Permit:
    current = await _visible_permit(tx, principal, permit_id)
    if _permit_type(data) != current["type"]:
        raise invalid(
            "/type", f"a permit's type cannot change (this one is {current['type']})", code="permit_type_immutable"
        )
    _check_validity(data)
    if current["withdrawn_on"] is not None and current["withdrawn_on"] < data.valid_from:
        raise invalid("/valid_from", "the permit was withdrawn before this valid_from")
    row = await _write_permit(
        tx,
        queries.UPDATE_PERMIT,
        permit_id,
        version,
        data.number.strip(),
        data.holder.strip(),
        data.valid_from,
        data.valid_to,
        msgspec.to_builtins(data.conditions),
    )
    if row is None:
        raise stale(current["version"])
    await _record_change(
        tx, principal, row, "updated", reason=None, request_id=request_id, before=permit_state(current)
    )
    return _permit(row, principal)


async def suspend_permit(
    tx: asyncpg.Connection,
    principal: Principal,
    permit_id: UUID,
    data: SuspendPermit,
    *,
    version: int,
    request_id: str | None,
) -> Permit:
    current = await _visible_permit(tx, principal, permit_id)
    if current["withdrawn_on"] is not None:
        raise Conflict("The permit is withdrawn; a withdrawn permit cannot be suspended.", code="permit_withdrawn")
    if data.ends_on < data.starts_on:
        raise invalid("/ends_on", "ends_on is before starts_on")
    if data.starts_on < current["valid_from"]:
        raise invalid("/starts_on", "the suspension starts before the permit is valid")
    if current["valid_to"] is not None and data.ends_on > current["valid_to"]:
        raise invalid("/ends_on", "the suspension ends after the permit's valid_to")
    return await _change_status(
        tx,
        principal,
        current,
        "suspended",
        data.reason,
        request_id,
        queries.SUSPEND_PERMIT,
        version,
        data.starts_on,
        data.ends_on,
    )


async def withdraw_permit(
    tx: asyncpg.Connection,
    principal: Principal,
    permit_id: UUID,
    data: WithdrawPermit,
    *,
    version: int,
    request_id: str | None,
) -> Permit:
    current = await _visible_permit(tx, principal, permit_id)
    if current["withdrawn_on"] is not None:
        raise Conflict("The permit is already withdrawn.", code="permit_withdrawn")
    if data.effective_on < current["valid_from"]:
        raise invalid("/effective_on", "the withdrawal takes effect before the permit is valid")
    if current["valid_to"] is not None and data.effective_on > current["valid_to"]:
        raise invalid("/effective_on", "the permit has expired by then")
    return await _change_status(
        tx,
        principal,
        current,
        "withdrawn",
        data.reason,
        request_id,
        queries.WITHDRAW_PERMIT,
        version,
        data.effective_on,
    )


async def reinstate_permit(
    tx: asyncpg.Connection,
    principal: Principal,
    permit_id: UUID,
    data: ReinstatePermit,
    *,
    version: int,
    request_id: str | None,
) -> Permit:
    current = await _visible_permit(tx, principal, permit_id)
    effective_on = data.effective_on or today()
    lifts_suspension = any(s["ends_on"] >= effective_on for s in _suspensions(current))
    if current["withdrawn_on"] is None and not lifts_suspension:
        raise Conflict("The permit is neither withdrawn nor suspended from that day on.", code="nothing_to_reinstate")
    return await _change_status(
        tx, principal, current, "reinstated", data.reason, request_id, queries.REINSTATE_PERMIT, version, effective_on
    )


async def _change_status(
    tx: asyncpg.Connection,
    principal: Principal,
    current: asyncpg.Record,
    action: str,
    reason: str,
    request_id: str | None,
    sql: str,
    version: int,
    *args: Any,
) -> Permit:
    row = await _write_permit(tx, sql, current["id"], version, *args)
    if row is None:
        raise stale(current["version"])
    await _record_change(tx, principal, row, action, reason=reason, request_id=request_id, before=permit_state(current))
    return _permit(row, principal)


# --- batch reads (phone sync) ----------------------------------------------------------------------------


async def objects_with_permits(
    conn: asyncpg.Connection, principal: Principal, object_ids: list[UUID]
) -> list[ObjectWithPermits]:
    """The establishments of `object_ids` the caller may see, each with all its permits; two queries for any
    number of them."""
    if not object_ids:
        return []
    rows = await conn.fetch(queries.GET_OBJECTS, *_scope(principal), object_ids)
    permits: dict[UUID, list[Permit]] = {row["id"]: [] for row in rows}
    for permit_row in await conn.fetch(queries.PERMITS_OF_OBJECTS, list(permits)):
        permits[permit_row["object_id"]].append(_permit(permit_row, principal))
    return [
        ObjectWithPermits(**msgspec.structs.asdict(_establishment(row)), permits=permits[row["id"]]) for row in rows
    ]


async def get_objects(conn: asyncpg.Connection, principal: Principal, object_ids: list[UUID]) -> list[Establishment]:
    """The establishments of `object_ids` the caller may see, in one query (other features' lists call this)."""
    if not object_ids:
        return []
    return [_establishment(row) for row in await conn.fetch(queries.GET_OBJECTS, *_scope(principal), object_ids)]


def address_line(place: Establishment | Location) -> str:
    """An establishment's or location's address on one line, as letters and worklists show it: the postcode as
    the Dutch write it (1234 AB), though it is stored without the space."""
    number = f"{place.house_number}{place.house_number_addition or ''}"
    postcode = f"{place.postcode[:4]} {place.postcode[4:]}" if len(place.postcode) == 6 else place.postcode
    return f"{place.street} {number}, {postcode} {place.city}"


async def get_locations(conn: asyncpg.Connection, principal: Principal, location_ids: list[UUID]) -> list[Location]:
    """The locations of `location_ids` the caller may see, in one query. Reading sex-work locations must be
    audited: callers pass what they show to record_location_reads."""
    if not location_ids:
        return []
    rows = await conn.fetch(queries.GET_LOCATIONS, *_scope(principal), location_ids)
    return [msgspec.convert(dict(row), Location) for row in rows]


async def objects_by_id(conn: asyncpg.Connection, object_ids: list[UUID]) -> dict[UUID, Establishment]:
    """The establishments of `object_ids`, in one query. No visibility check: for a feature showing the object of
    a record the caller may see (the record's visibility decides)."""
    if not object_ids:
        return {}
    return {row["id"]: _establishment(row) for row in await conn.fetch(queries.OBJECTS_BY_ID, object_ids)}


async def object_kind(conn: asyncpg.Connection, object_id: UUID) -> str:
    """The establishment's kind (NotFound when there is none). No visibility check, like objects_by_id: for a
    feature classifying a record it was allowed to write, which needs nothing else of the object."""
    kind = await conn.fetchval(queries.OBJECT_KIND, object_id)
    if kind is None:
        raise NotFound("No such object.")
    return str(kind)


async def record_location_reads(
    tx: asyncpg.Connection, principal: Principal, locations: list[Location], *, request_id: str | None
) -> None:
    """The location.read audit events get_location writes, for locations read with get_locations: one statement
    for all of them."""
    sexwork = [location.id for location in locations if "sexwork" in location.regimes]
    await audit.record_user_actions(tx, principal, "location", sexwork, "read", request_id=request_id)


# --- addressees -----------------------------------------------------------------------------------------------


async def get_addressee(conn: asyncpg.Connection, principal: Principal, object_id: UUID) -> ObjectAddressee:
    """Who receives the establishment's letters, with the history (404 when the caller may not see it)."""
    await get_object(conn, principal, object_id)
    history = [
        msgspec.convert(dict(row), AddresseeRecord) for row in await conn.fetch(queries.ADDRESSEE_HISTORY, object_id)
    ]
    return ObjectAddressee(object_id=object_id, current=history[0] if history else None, history=history)


async def set_addressee(
    tx: asyncpg.Connection, principal: Principal, object_id: UUID, data: Addressee, *, request_id: str | None
) -> ObjectAddressee:
    """Record a new addressee; the earlier ones stay as history. Audited without the address itself (personal
    data stays in its table)."""
    await get_object(tx, principal, object_id)
    problems = FieldProblems()
    data.problems(problems)
    problems.raise_if_any()
    await tx.execute(
        queries.INSERT_ADDRESSEE,
        object_id,
        data.name,
        data.attention,
        data.street,
        data.postcode,
        data.city,
        data.email,
        principal.user_id,
        data.letters_by_email,
    )
    await audit.record_user_action(
        tx,
        principal,
        "establishment",
        object_id,
        "addressee_set",
        request_id=request_id,
        after={"addressee": "replaced", "email": data.email is not None, "letters_by_email": data.letters_by_email},
    )
    return await get_addressee(tx, principal, object_id)


async def current_addressee(conn: asyncpg.Connection, object_id: UUID) -> Addressee | None:
    """The establishment's current addressee as a letter takes it (other features call this)."""
    row = await conn.fetchrow(queries.CURRENT_ADDRESSEE, object_id)
    return msgspec.convert(dict(row), Addressee) if row is not None else None


async def addressee_as_of(conn: asyncpg.Connection, object_id: UUID, at: datetime) -> Addressee | None:
    """The establishment's addressee as it was at `at`: who a letter sent then was addressed to."""
    row = await conn.fetchrow(queries.ADDRESSEE_AS_OF, object_id, at)
    return msgspec.convert(dict(row), Addressee) if row is not None else None
