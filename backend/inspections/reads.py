"""Reading inspections and violations: one inspection, its revisions, the lists, and who sees which.

Visibility (queries.visible, bound from core.visibility): the inspection's regimes decide first (sex work only
for the sexwork scope); within that admins and enforcement officers see all, coordinators their teams'
inspections, inspectors their teams' planned inspections and the ones they submitted or were present at.
Anything else is 404.

Sex-work inspections record data about sex workers (counts, signals of coercion, minors present): who read one
is logged, as registry logs reads of sex-work locations (DOMAIN.md, sensitive data: every read). The GET, the
revisions, the list and the violations list write one `inspection.read` event per sex-work inspection they show
(for violations: the inspection they belong to), in a transaction of their own before the answer goes out; a
read without one writes nothing and opens no transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit, calendar
from backend.core.auth import Principal
from backend.core.errors import FieldError, NotFound, Unprocessable
from backend.core.pagination import PageRequest
from backend.core.visibility import Visibility
from backend.inspections import queries
from backend.inspections.models import (
    AssignmentOutcome,
    Inspection,
    InspectionFilters,
    InspectionListItem,
    InspectionPage,
    InspectionSummary,
    PhotoEvidence,
    ReturnedInspection,
    Revision,
    RevisionList,
    Violation,
    ViolationFilters,
    ViolationPage,
)
from backend.registry import service as registry
from backend.users import service as users


def inspection_of(row: asyncpg.Record) -> Inspection:
    """The API's inspection from a row of the full view (queries._view)."""
    fields = dict(row)
    latitude, longitude, accuracy = fields.pop("latitude"), fields.pop("longitude"), fields.pop("position_accuracy_m")
    fields["position"] = (
        None if latitude is None else {"latitude": latitude, "longitude": longitude, "accuracy_m": accuracy}
    )
    fields["expected_photos"] = [photo["id"] for photo in fields["photos"] if not photo["received"]]
    return msgspec.convert(fields, Inspection)


async def stored_view(conn: asyncpg.Connection, inspection_id: UUID) -> Inspection:
    """The inspection as stored now, without visibility check (after a write the caller was allowed)."""
    return inspection_of(await conn.fetchrow(queries.GET_BY_ID, inspection_id))


async def get_inspection(conn: asyncpg.Connection, principal: Principal, inspection_id: UUID) -> Inspection:
    """The inspection as the caller may see it, for a feature acting on it (review, reactions): not audited as a
    read; read_inspection is the user's GET."""
    row = await conn.fetchrow(queries.GET_VISIBLE, *queries.visible_args(Visibility.of(principal)), inspection_id)
    if row is None:
        raise NotFound("No such inspection.")
    return await with_evidence(conn, principal, inspection_of(row))


async def read_inspection(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, request_id: str | None
) -> Inspection:
    """The user's read of one inspection (GET), audited when it is a sex-work inspection."""
    found = await get_inspection(conn, principal, inspection_id)
    await _record_reads(conn, principal, _sexwork_ids([found]), request_id=request_id)
    return found


# --- audited reads of sex-work inspections ---------------------------------------------------------------------

# Which of the inspections $1 are of the sexwork regime (for _sexwork_among).
_SEXWORK_AMONG = "SELECT id FROM inspection WHERE id = ANY ($1::uuid[]) AND 'sexwork' = ANY (regimes)"


def _sexwork_ids(shown: Iterable[InspectionSummary]) -> list[UUID]:
    return [item.id for item in shown if "sexwork" in item.regimes]


async def _sexwork_among(conn: asyncpg.Connection, principal: Principal, inspection_ids: list[UUID]) -> list[UUID]:
    """The sex-work inspections among these visible ones, in their order, for a read whose rows do not carry the
    regimes. Only a caller with the sexwork scope sees one, so for everyone else this asks the database nothing."""
    if not inspection_ids or not principal.sees_regime("sexwork"):
        return []
    sexwork = {row["id"] for row in await conn.fetch(_SEXWORK_AMONG, inspection_ids)}
    return [inspection_id for inspection_id in inspection_ids if inspection_id in sexwork]


async def _record_reads(
    conn: asyncpg.Connection, principal: Principal, inspection_ids: list[UUID], *, request_id: str | None
) -> None:
    """One inspection.read event per sex-work inspection shown; no transaction at all when there is none."""
    if not inspection_ids:
        return
    async with conn.transaction():
        await audit.record_user_actions(conn, principal, "inspection", inspection_ids, "read", request_id=request_id)


async def record_evidence_read(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, request_id: str | None
) -> None:
    """A read of an inspection's evidence (a photo) is a read of the inspection: logged when it is a sex-work one."""
    await _record_reads(conn, principal, await _sexwork_among(conn, principal, [inspection_id]), request_id=request_id)


# --- the photos' evidence ------------------------------------------------------------------------------------

EvidenceReader = Callable[[asyncpg.Connection, Principal, list[UUID]], Awaitable[dict[UUID, PhotoEvidence]]]


async def _no_evidence(
    conn: asyncpg.Connection, principal: Principal, photo_ids: list[UUID]
) -> dict[UUID, PhotoEvidence]:
    return {}


_evidence_reader: EvidenceReader = _no_evidence


def read_evidence_with(reader: EvidenceReader) -> None:
    """Where the detail's photo evidence comes from: the photos feature's reader, given at start (backend/
    reactions.py), so this feature does not import the one that depends on it."""
    global _evidence_reader
    _evidence_reader = reader


async def with_evidence(conn: asyncpg.Connection, principal: Principal, view: Inspection) -> Inspection:
    """The view with what the photos feature knows of each received photo (for this caller)."""
    received = [photo.id for photo in view.photos if photo.received]
    if not received:
        return view
    evidence = await _evidence_reader(conn, principal, received)
    shown = [msgspec.structs.replace(photo, evidence=evidence.get(photo.id)) for photo in view.photos]
    return msgspec.structs.replace(view, photos=shown)


# --- who sees what ---------------------------------------------------------------------------------------------


async def visible_to(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, whole_regimes: bool = False
) -> bool:
    """Whether the caller sees the inspection. `whole_regimes`: judged as for enforcement officers, on the
    regimes alone (every inspection of the caller's regimes; sex work only with the sexwork scope)."""
    seen = Visibility.of(principal)
    if whole_regimes:
        seen = seen.by_regime_only()
    return bool(await conn.fetchval(queries.IS_VISIBLE, *queries.visible_args(seen), inspection_id))


async def returned_to(
    conn: asyncpg.Connection, principal: Principal, inspection_ids: list[UUID] | None = None
) -> list[ReturnedInspection]:
    """The caller's returned inspections (those they may correct), all of them or those among the ids."""
    rows = await conn.fetch(queries.RETURNED_TO, *queries.visible_args(Visibility.of(principal)), inspection_ids)
    return [msgspec.convert(dict(row), ReturnedInspection) for row in rows]


# --- lists -------------------------------------------------------------------------------------------------------


async def list_revisions(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, request_id: str | None
) -> RevisionList:
    """Every revision as the phone sent it (its answers): audited as a read of a sex-work inspection."""
    if not await visible_to(conn, principal, inspection_id):
        raise NotFound("No such inspection.")
    rows = await conn.fetch(queries.REVISIONS, inspection_id)
    await _record_reads(conn, principal, await _sexwork_among(conn, principal, [inspection_id]), request_id=request_id)
    return RevisionList(items=[msgspec.convert(dict(row), Revision) for row in rows])


async def list_inspections(
    conn: asyncpg.Connection,
    principal: Principal,
    filters: InspectionFilters,
    page: PageRequest,
    *,
    request_id: str | None,
) -> InspectionPage:
    calendar.ensure_in_order(filters.from_, filters.to)
    await registry.ensure_known_wijk_filter(conn, filters.wijk)
    prepared = filters.filter_values()
    prepared["awaiting_review_by"] = principal.user_id if prepared.pop("awaiting_my_review") else None
    items, next_cursor = await queries.INSPECTION_LIST.page(
        conn, prepared, page, scope_args=queries.visible_args(Visibility.of(principal)), item=lambda row: row
    )
    shown = await _list_items(conn, items)
    await _record_reads(conn, principal, _sexwork_ids(shown), request_id=request_id)
    return InspectionPage(items=shown, next_cursor=next_cursor)


async def _list_items(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[InspectionListItem]:
    """What a worklist row shows besides the summary: the object's name and address (none for an inspection of a
    location without an object) and the inspectors' names, ordered by name; one query each for the whole page."""
    objects = await registry.objects_by_id(conn, _distinct(row["object_id"] for row in rows))
    names = await users.names_in_order(conn, _distinct(uid for row in rows for uid in row["inspector_ids"]))
    items = []
    for row in rows:
        found = objects.get(row["object_id"])
        present = set(row["inspector_ids"])
        fields = dict(row)
        fields.update(
            object_name=found.name if found else None,
            street=found.street if found else None,
            house_number=found.house_number if found else None,
            house_number_addition=found.house_number_addition if found else None,
            postcode=found.postcode if found else None,
            inspector_names=[name for user_id, name in names if user_id in present],
        )
        items.append(msgspec.convert(fields, InspectionListItem))
    return items


def _distinct(ids: Iterable[UUID | None]) -> list[UUID]:
    return sorted({found for found in ids if found is not None})


async def list_violations(
    conn: asyncpg.Connection,
    principal: Principal,
    filters: ViolationFilters,
    page: PageRequest,
    *,
    request_id: str | None,
) -> ViolationPage:
    """An object's, location's or inspection's violations, newest first (the history recidive counts from). A
    read of the violations of a sex-work inspection is a read of that inspection: audited once per inspection."""
    if filters.object_id is None and filters.location_id is None and filters.inspection_id is None:
        raise Unprocessable(
            "Name what the violations are of.",
            errors=[
                FieldError(detail="give object_id, location_id or inspection_id", parameter=name)
                for name in ("object_id", "location_id", "inspection_id")
            ],
        )
    prepared = filters.filter_values()
    prepared["active_only"] = None if prepared.pop("include_withdrawn") else True
    items, next_cursor = await queries.VIOLATION_LIST.page(
        conn,
        prepared,
        page,
        scope_args=queries.visible_args(Visibility.of(principal)),
        item=lambda row: msgspec.convert(dict(row), Violation),
    )
    of_inspections = list(dict.fromkeys(violation.inspection_id for violation in items))
    await _record_reads(conn, principal, await _sexwork_among(conn, principal, of_inspections), request_id=request_id)
    return ViolationPage(items=items, next_cursor=next_cursor)


async def outcomes_of_assignments(
    conn: asyncpg.Connection, principal: Principal, assignment_ids: list[UUID]
) -> dict[UUID, AssignmentOutcome]:
    """The latest inspection of each assignment, with its active violation codes, for the complaints feature (a
    follow-up summary on the complaint). Only inspections the caller may see judged on their regimes alone (as
    `visible_to(whole_regimes=True)`): whoever may see the complaint, whatever their team, but sex-work results
    only with the sexwork scope, because a complaint of another regime can lead to a sex-work inspection."""
    if not assignment_ids:
        return {}
    seen = Visibility.of(principal).by_regime_only()
    rows = await conn.fetch(queries.OUTCOMES_OF_ASSIGNMENTS, *queries.visible_args(seen), assignment_ids)
    return {row["assignment_id"]: msgspec.convert(dict(row), AssignmentOutcome) for row in rows}
