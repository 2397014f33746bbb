"""API shapes for the registry: establishments (objects), locations and permits."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, get_args
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from msgspec import Meta

from backend.core.config import PROJECT_ROOT
from backend.core.pagination import Page
from backend.core.query_groups import QueryGroup
from backend.users.models import Regime

# --- values ------------------------------------------------------------------------------------------

# One kind per sex business type under APV Utrecht hoofdstuk 3 (research/domain.md 4.1).
SexBusinessType = Literal[
    "seks_prive_huis",
    "seks_club",
    "seks_raamprostitutie",
    "seks_escortbedrijf",
    "seks_massagesalon",
    "seks_prostitutiehotel",
    "seks_bioscoop",
    "seks_theater",
    "seks_parenclub",
    "seks_sauna",
]
Kind = Literal[
    "horeca_hoogdrempelig",
    "horeca_laagdrempelig",
    "slijterij",
    "supermarkt",
    "paracommercie",
    "coffeeshop",
    SexBusinessType,
    "speelautomatenhal",
    "other",
]
SEX_KINDS = frozenset(get_args(SexBusinessType))
KINDS = frozenset(get_args(Kind))
REGIMES = frozenset(get_args(Regime))
EmployeeClass = Literal["under_50", "50_or_more"]
EmployeeClassField = Annotated[
    EmployeeClass,
    Meta(description="Fewer than 50 employees, or 50 and more: picks the column of the Alcoholbesluit fine table"),
]
SupervisionLevel = Literal["regular", "verscherpt"]
ObjectStatus = Literal["active", "closed"]
PermitStatus = Annotated[
    Literal["granted", "suspended", "withdrawn"],
    Meta(
        description="withdrawn: a withdrawal is recorded; suspended: a suspension runs now or is announced; "
        "otherwise granted (also after valid_to: ask /objects/{id}/permits?on= what was in force)"
    ),
]

# PostgreSQL text cannot hold NUL; NOT_BLANK also wants a visible character somewhere: names made only of spaces
# are as good as missing.
NO_NUL = "^[^\x00]*$"
NOT_BLANK = "^[^\x00]*[^\x00\\s][^\x00]*$"
Text200 = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
City = Annotated[str, Meta(min_length=1, max_length=100, pattern=NOT_BLANK)]
HouseNumber = Annotated[int, Meta(ge=1, le=99999)]
Addition = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=10,
        pattern=r"^[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*$",
        description="huisletter/toevoeging, e.g. A, bis, 2hg; stored upper-case",
    ),
]
PostcodeInput = Annotated[
    str,
    Meta(
        pattern=r"^[1-9][0-9]{3} ?[A-Za-z]{2}$",
        description="Dutch postcode 1234 AB; a space and lower case are accepted, stored as 1234AB",
    ),
]
Postcode = Annotated[str, Meta(pattern=r"^[1-9][0-9]{3}[A-Z]{2}$")]
# The wijk codes are reference data (schemas/wijken.json, equal to the wijk table); the service checks input
# against the table, the document lists them as an enumeration.
WIJK_CODES = [wijk["code"] for wijk in json.loads((PROJECT_ROOT / "schemas" / "wijken.json").read_bytes())["wijken"]]
_WIJK_DESCRIPTION = "One of Utrecht's ten wijken"
WijkCode = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description=_WIJK_DESCRIPTION,
        extra_json_schema={"enum": WIJK_CODES},
    ),
]
WijkFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=64,
        description=_WIJK_DESCRIPTION,
        schema_extra={"enum": WIJK_CODES},
    ),
]
RegimeFilter = Annotated[Regime | None, QueryParameter()]


class ObjectFilters(QueryGroup, frozen=True):
    """SearchObjects' filters."""

    q: Annotated[
        str | None,
        QueryParameter(min_length=1, max_length=100, description="Part of the name or trade name (case-insensitive)"),
    ] = None
    postcode: Annotated[
        str | None,
        QueryParameter(
            pattern=r"^[1-9][0-9]{3}( ?[A-Za-z]{2})?$", description="A postcode (1234 AB) or its four digits"
        ),
    ] = None
    street: Annotated[
        str | None,
        QueryParameter(min_length=1, max_length=200, description="Start of the street name (case-insensitive)"),
    ] = None
    house_number: Annotated[int | None, QueryParameter(ge=1, le=99999)] = None
    wijk: WijkFilter = None
    kind: Annotated[Kind | None, QueryParameter()] = None
    regime: RegimeFilter = None
    status: Annotated[ObjectStatus | None, QueryParameter()] = None


# The Netherlands' bounding box: catches swapped or zeroed coordinates.
Latitude = Annotated[float, Meta(ge=50.7, le=53.6)]
Longitude = Annotated[float, Meta(ge=3.3, le=7.3)]
KvkNumber = Annotated[str, Meta(pattern=r"^[0-9]{8}$", description="Kamer van Koophandel number, 8 digits")]
Regimes = Annotated[list[Regime], Meta(min_length=1, max_length=5)]
Reason = Annotated[str, Meta(min_length=3, max_length=1000, pattern=NO_NUL)]
PersonName = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# --- establishments (objects) ------------------------------------------------------------------------


class ObjectWrite(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An establishment as created (POST) or replaced as a whole (PUT: omitted optional fields are cleared)."""

    name: Text200
    trade_name: Text200 | None = None
    street: Text200
    house_number: HouseNumber
    house_number_addition: Addition | None = None
    postcode: PostcodeInput
    city: City = "Utrecht"
    wijk: WijkCode
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    kvk_number: KvkNumber | None = None
    kind: Kind
    employee_class: EmployeeClassField
    supervision_level: SupervisionLevel = "regular"
    status: ObjectStatus = "active"
    regimes: Regimes

    example: ClassVar[dict[str, Any]] = {
        "name": "Café De Domtoren",
        "trade_name": "De Domtoren",
        "street": "Domplein",
        "house_number": 12,
        "postcode": "3512 JC",
        "wijk": "binnenstad",
        "latitude": 52.0907,
        "longitude": 5.1214,
        "kvk_number": "12345678",
        "kind": "horeca_hoogdrempelig",
        "employee_class": "under_50",
        "regimes": ["alcohol", "nix18"],
    }


class Establishment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    trade_name: str | None
    street: str
    house_number: int
    house_number_addition: str | None
    postcode: Postcode
    city: str
    wijk: str
    latitude: float | None
    longitude: float | None
    kvk_number: str | None
    kind: Kind
    employee_class: EmployeeClassField
    supervision_level: SupervisionLevel
    status: ObjectStatus
    regimes: list[Regime]
    version: int
    created_at: datetime
    updated_at: datetime


class EstablishmentPage(Page[Establishment], frozen=True):
    pass


# --- locations ----------------------------------------------------------------------------------------


class LocationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An address an inspection targets. When it is an active establishment's address, the location is linked
    to it. `regimes` (your own) decide who may see the location."""

    street: Text200
    house_number: HouseNumber
    house_number_addition: Addition | None = None
    postcode: PostcodeInput
    city: City = "Utrecht"
    wijk: WijkCode
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    description: Annotated[str, Meta(min_length=1, max_length=2000, pattern=NO_NUL)] | None = None
    regimes: Regimes

    example: ClassVar[dict[str, Any]] = {
        "street": "Vleutenseweg",
        "house_number": 301,
        "postcode": "3532 HN",
        "wijk": "west",
        "description": "Adres uit een advertentie; geen vergunning bekend",
        "regimes": ["sexwork"],
    }


class Location(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    object_id: Annotated[UUID | None, Meta(description="The establishment at this address, if you may see it")]
    street: str
    house_number: int
    house_number_addition: str | None
    postcode: Postcode
    city: str
    wijk: str
    latitude: float | None
    longitude: float | None
    description: str | None
    regimes: list[Regime]
    created_by: UUID
    created_at: datetime


# --- permits: conditions per type ----------------------------------------------------------------------


class OpeningPeriod(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Open on these days from `opens` to `closes` (a `closes` at or before `opens` is the next morning)."""

    days: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]
    opens: ClockTime
    closes: ClockTime


OpeningHours = Annotated[list[OpeningPeriod], Meta(max_length=14)]


# Subclasses of a frozen Struct say frozen=True again: msgspec inherits it, but type checkers (dataclass_transform)
# read only the class's own keywords.
class Conditions(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


class AlcoholConditions(Conditions, frozen=True):
    # The aanhangsel: who may be in charge (art. 8, 30b Alcoholwet). Personal data: shown only to users
    # with the alcohol regime.
    leidinggevenden: Annotated[list[PersonName], Meta(min_length=1, max_length=100)]


class AlcoholConditionsRead(Conditions, frozen=True):
    leidinggevenden: Annotated[
        list[str] | None, Meta(description="The leidinggevenden on the aanhangsel; absent without the alcohol regime")
    ] = None


class HorecaConditions(Conditions, frozen=True):
    opening_hours: OpeningHours = []


class GedoogConditions(Conditions, frozen=True):
    opening_hours: OpeningHours = []
    handelsvoorraad_gram: Annotated[int, Meta(ge=1, le=500, description="Permitted trade stock (at most 500 g)")] = 500


class SexBusinessConditions(Conditions, frozen=True):
    business_type: SexBusinessType
    opening_hours: OpeningHours = []
    beheerders: Annotated[list[PersonName], Meta(max_length=100)] = []


class MachineConditions(Conditions, frozen=True):
    machines: Annotated[int, Meta(ge=1, le=100, description="Permitted number of kansspelautomaten")]


class ArcadeConditions(Conditions, frozen=True):
    machines: Annotated[int, Meta(ge=1, le=1000)] | None = None
    opening_hours: OpeningHours = []


class EventConditions(Conditions, frozen=True):
    event: Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK, description="The event it is for")]
    opening_hours: OpeningHours = []


# --- permits: write bodies (one per type, tagged by `type`) ------------------------------------------


class _PermitWrite(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="type"):
    number: Annotated[str, Meta(min_length=1, max_length=64, pattern=NOT_BLANK)]
    holder: Text200
    valid_from: date
    valid_to: Annotated[date | None, Meta(description="Last day of validity; null: open-ended")] = None


class AlcoholPermitWrite(_PermitWrite, tag="alcoholvergunning"):
    conditions: AlcoholConditions

    example: ClassVar[dict[str, Any]] = {
        "type": "alcoholvergunning",
        "number": "AV-2024-0137",
        "holder": "Domtoren Horeca B.V.",
        "valid_from": "2024-03-01",
        "conditions": {"leidinggevenden": ["J. de Vries", "A. Bakker"]},
    }


class HorecaPermitWrite(_PermitWrite, tag="horeca_exploitatievergunning"):
    conditions: HorecaConditions = msgspec.field(default_factory=HorecaConditions)


class GedoogPermitWrite(_PermitWrite, tag="coffeeshop_gedoogverklaring"):
    conditions: GedoogConditions = msgspec.field(default_factory=GedoogConditions)


class SexBusinessPermitWrite(_PermitWrite, tag="exploitatievergunning_seksinrichting"):
    conditions: SexBusinessConditions


class MachinePermitWrite(_PermitWrite, tag="aanwezigheidsvergunning_kansspelautomaten"):
    conditions: MachineConditions


class ArcadePermitWrite(_PermitWrite, tag="vergunning_speelautomatenhal"):
    conditions: ArcadeConditions = msgspec.field(default_factory=ArcadeConditions)


class EventPermitWrite(_PermitWrite, tag="ontheffing_art35"):
    conditions: EventConditions


PermitWrite = (
    AlcoholPermitWrite
    | HorecaPermitWrite
    | GedoogPermitWrite
    | SexBusinessPermitWrite
    | MachinePermitWrite
    | ArcadePermitWrite
    | EventPermitWrite
)


# --- permits: read shapes --------------------------------------------------------------------------


class Suspension(msgspec.Struct, frozen=True):
    starts_on: date
    ends_on: date


class PermitHistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    action: Literal["granted", "updated", "suspended", "withdrawn", "reinstated"]
    occurred_at: datetime
    actor_id: UUID | None
    reason: str | None
    state: Annotated[dict[str, Any], Meta(description="The permit's fields after this change")]


class _PermitRead(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type"):
    id: UUID
    object_id: UUID
    number: str
    holder: str
    valid_from: date
    valid_to: date | None
    status: PermitStatus
    suspensions: list[Suspension]
    withdrawn_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    history: Annotated[list[PermitHistoryEntry] | None, Meta(description="Only on GET /permits/{id}")] = None


class AlcoholPermit(_PermitRead, tag="alcoholvergunning", frozen=True):
    conditions: AlcoholConditionsRead


class HorecaPermit(_PermitRead, tag="horeca_exploitatievergunning", frozen=True):
    conditions: HorecaConditions


class GedoogPermit(_PermitRead, tag="coffeeshop_gedoogverklaring", frozen=True):
    conditions: GedoogConditions


class SexBusinessPermit(_PermitRead, tag="exploitatievergunning_seksinrichting", frozen=True):
    conditions: SexBusinessConditions


class MachinePermit(_PermitRead, tag="aanwezigheidsvergunning_kansspelautomaten", frozen=True):
    conditions: MachineConditions


class ArcadePermit(_PermitRead, tag="vergunning_speelautomatenhal", frozen=True):
    conditions: ArcadeConditions


class EventPermit(_PermitRead, tag="ontheffing_art35", frozen=True):
    conditions: EventConditions


Permit = AlcoholPermit | HorecaPermit | GedoogPermit | SexBusinessPermit | MachinePermit | ArcadePermit | EventPermit


class ObjectWithPermits(Establishment, frozen=True, kw_only=True):
    """An establishment with all its permits (in force or not), as phones keep it for offline work."""

    permits: list[Permit]


class PermitList(msgspec.Struct, frozen=True):
    on: Annotated[date | None, Meta(description="The date asked about; null: every permit, in force or not")]
    items: list[Permit]


# --- permits: status changes -------------------------------------------------------------------------


class SuspendPermit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    starts_on: date
    ends_on: Annotated[date, Meta(description="Last day of the suspension (inclusive)")]
    reason: Reason

    example: ClassVar[dict[str, Any]] = {
        "starts_on": "2025-06-02",
        "ends_on": "2025-06-29",
        "reason": "Schorsing na herhaalde overtreding art. 20 lid 1",
    }


class WithdrawPermit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    effective_on: Annotated[date, Meta(description="First day the permit is no longer in force")]
    reason: Reason


class ReinstatePermit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Lift a suspension or a withdrawal from `effective_on` (default today); days before it stay as they were.
    An `effective_on` at or before the start undoes the suspension or withdrawal entirely (e.g. after bezwaar)."""

    effective_on: date | None = None
    reason: Reason


# --- CSV import ----------------------------------------------------------------------------------------


class ImportIssue(msgspec.Struct, frozen=True, omit_defaults=True):
    row: Annotated[int, Meta(description="Line in the file: 1 is the header, 2 the first data row")]
    reason: str
    column: str | None = None


class ImportReport(msgspec.Struct, frozen=True):
    rows: Annotated[int, Meta(description="Data rows in the file")]
    imported: int
    rejected: Annotated[int, Meta(description="Rows with at least one issue")]
    stored: Annotated[bool, Meta(description="Whether anything was stored")]
    issues: list[ImportIssue]


class AddresseeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One addressee as recorded, with when and by whom."""

    name: str
    attention: str | None
    street: str
    postcode: str
    city: str
    email: str | None
    letters_by_email: bool
    recorded_at: datetime
    recorded_by: UUID | None


class ObjectAddressee(msgspec.Struct, frozen=True, kw_only=True):
    """Who receives the establishment's letters now (None: nobody recorded yet), and the history, newest first."""

    object_id: UUID
    current: AddresseeRecord | None
    history: list[AddresseeRecord]
