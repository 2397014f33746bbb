"""Inspections' rules: submissions from phones (idempotent PUT to the phone's id), corrections, review and
return by coordinators, photos arriving, and who sees which inspection and violation.

A submission is checked whole before anything is written (every problem in one 422): its target and
assignment through the registry and planning services (what the caller may not see counts as missing), its
checklist versions and answers through the checklists service and validator, its inspectors through the
users service. Then one statement stores the inspection, its first revision, checklists, violations,
photo manifest and audit event. The submission, review and return are announced as domain events
(inspection.submitted, .corrected, .reviewed, .returned) in their transaction; planning, photos and enforcement react to
them (backend/reactions.py), so this module imports none of the features that follow it.

Idempotency: the canonical body (sorted keys) is hashed. Sending a body whose hash equals any stored
revision's answers the current stored inspection and writes nothing. A submission without base_revision is
checked and inserted with INSERT ... ON CONFLICT DO NOTHING first (nearly every PUT is new); when the id
exists (a resend, or a concurrent duplicate that committed first) it takes the path of an existing id. Another body for an existing id is 409,
unless it corrects a returned inspection (`base_revision` = the current revision).

Visibility (queries.visible): the inspection's regimes decide first (sex work only for the sexwork scope);
within that admins and enforcement officers see all, coordinators their teams' inspections, inspectors
their teams' planned inspections and the ones they submitted or were present at. Anything else is 404.
"""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.checklists import service as checklists
from backend.checklists import validator
from backend.checklists.models import AnswerProblem, AnswersRejected, ChecklistVersion
from backend.core import audit, calendar, events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound, Unprocessable
from backend.core.pagination import decode_cursor, keyset_page
from backend.inspections import queries
from backend.inspections.models import (
    AssignmentOutcome,
    ExpectedPhoto,
    Inspection,
    InspectionListItem,
    InspectionPage,
    InspectionSubmission,
    PhotoEvidence,
    PhotoManifestEntry,
    PhotoReceipt,
    ReturnedInspection,
    Revision,
    RevisionList,
    Violation,
    ViolationPage,
)
from backend.planning import service as planning
from backend.planning.models import Assignment
from backend.registry import service as registry
from backend.users import service as users
from backend.users.service import actor_of

# Phones set their clocks from the network; more than an hour off means a clock set by hand or reset.
CLOCK_TOLERANCE = timedelta(hours=1)
# No inspection is finished a month after we receive it: such a time is a wrong date (e.g. year 2099),
# refused so the phone's user fixes it rather than it landing in deadlines.
FAR_FUTURE = timedelta(days=30)
# Phones may stay offline for weeks, but an inspection started more than a quarter before it arrives
# most likely carries a reset clock (e.g. 1970) and is flagged.
MAX_AGE = timedelta(days=90)
# One visit; a longer span means the start or finish time is wrong.
MAX_DURATION = timedelta(hours=24)
# Templates filled in more than once per inspection: a NIX18 control has one form per purchase attempt.
REPEATABLE_TEMPLATES = frozenset({"nix18-purchase-attempt"})
REVIEWERS = ("coordinator", "admin")


class StaleRevision(Conflict):
    """A correction of a revision that is no longer the current one; the problem names the current one."""

    code = "stale_revision"

    def __init__(self, current_revision: int) -> None:
        super().__init__(f"The inspection is at revision {current_revision}; correct that revision.")
        self.current_revision = current_revision


def _scope(principal: Principal) -> tuple[Any, ...]:
    """The bind values of queries.visible for this caller."""
    inspector = principal.has_role("inspector")
    return (
        sorted(principal.regimes),
        principal.sees_regime("sexwork"),
        principal.has_role("admin", "enforcement_officer"),
        sorted(principal.teams) if principal.has_role("coordinator") else [],
        sorted(principal.teams) if inspector else [],
        principal.user_id if inspector else None,
    )


def _refused(problems: list[FieldError]) -> None:
    if problems:
        raise Unprocessable("The request has invalid fields.", errors=problems)


def canonical(data: InspectionSubmission) -> tuple[dict[str, Any], str]:
    """The body as stored (builtins) and the SHA-256 of its canonical JSON (sorted keys): equal bodies, equal hash."""
    body = msgspec.to_builtins(data)
    return body, hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


# --- the device clock ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    skew_seconds: int | None
    suspect: bool
    inspected_at: datetime
    problems: list[FieldError]


def clock_skew(date_header: str | None, received_at: datetime) -> int | None:
    """The phone's clock minus ours, from its HTTP Date header (when it sent); None without a usable one."""
    if not date_header:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(date_header)
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        return round(sent.timestamp() - received_at.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # RFC 9110: a recipient ignores an invalid Date


def _shifted(moment: datetime, seconds: float) -> datetime | None:
    try:
        return (moment + timedelta(seconds=seconds)).astimezone(UTC)
    except OverflowError:
        return None


def assess_clock(started: datetime, finished: datetime, reference: datetime, skew: int | None) -> Clock:
    """Whether to trust the device times, and the time deadlines count from (see the constants above).
    `reference` is when the inspection was first received."""
    known = skew or 0
    ref = reference.timestamp()
    problems = [
        FieldError(detail="in the far future: check the phone's date and time", pointer=f"/{name}")
        for name, moment in (("started_at", started), ("finished_at", finished))
        if moment.timestamp() - known > ref + FAR_FUTURE.total_seconds()
    ]
    suspect = (
        (skew is not None and abs(skew) > CLOCK_TOLERANCE.total_seconds())
        or finished.timestamp() > ref + CLOCK_TOLERANCE.total_seconds()
        or started.timestamp() - known < ref - MAX_AGE.total_seconds()
    )
    if skew is not None:
        inspected_at = _shifted(finished, -skew) or reference
    else:
        inspected_at = reference if suspect else (_shifted(finished, 0) or reference)
    if not problems and _day(inspected_at) > _day(reference):
        # The inspection date is the violation date: a fact cannot lie after the day we received it.
        problems.append(
            FieldError(
                pointer="/finished_at",
                detail=f"with the phone's clock correction the "
                f"inspection ends on {_day(inspected_at)}, after the day it was received",
            )
        )
    return Clock(skew, suspect, inspected_at, problems)


def _day(moment: datetime) -> date:
    return moment.astimezone(calendar.AMSTERDAM).date()


def _time_problems(data: InspectionSubmission) -> list[FieldError]:
    problems = []
    for name in ("started_at", "finished_at"):
        if _shifted(getattr(data, name), 0) is None:
            problems.append(FieldError(detail="is out of range", pointer=f"/{name}"))
    if problems:
        return problems
    if data.finished_at < data.started_at:
        problems.append(FieldError(detail="is before started_at", pointer="/finished_at"))
    elif data.finished_at - data.started_at > MAX_DURATION:
        problems.append(FieldError(detail="is more than 24 hours after started_at", pointer="/finished_at"))
    return problems


# --- checking a submission ---------------------------------------------------------------------------------


@dataclass
class Target:
    object_id: UUID | None
    location_id: UUID | None
    regimes: list[str]
    wijk: str


@dataclass
class Prepared:
    """A submission that passed every check, with what the server derived from it."""

    target: Target
    assignment: Assignment | None
    team_id: str
    regimes: list[str]
    clock: Clock
    checklist_rows: list[dict[str, Any]]
    violation_rows: list[dict[str, Any]]
    photo_rows: list[dict[str, Any]]
    codes: list[str] = field(default_factory=list)

    @property
    def observed_on(self) -> date:
        return self.clock.inspected_at.astimezone(calendar.AMSTERDAM).date()


async def _assignment(
    conn: asyncpg.Connection, principal: Principal, data: InspectionSubmission, problems: list[FieldError]
) -> Assignment | None:
    if data.assignment_id is None:
        return None
    try:
        assignment = await planning.get_assignment(conn, principal, data.assignment_id)
    except NotFound:
        problems.append(FieldError(detail="no such assignment", pointer="/assignment_id"))
        return None
    if principal.user_id not in assignment.inspector_ids and assignment.team_id not in principal.teams:
        raise Forbidden(
            "You submit inspections of your team's assignments or those assigned to you.", code="not_your_assignment"
        )
    if (data.object_id, data.location_id) != (assignment.object_id, assignment.location_id):
        pointer = "/object_id" if assignment.object_id is not None else "/location_id"
        problems.append(FieldError(detail="is not the target of the assignment", pointer=pointer))
    return assignment


async def _target(
    conn: asyncpg.Connection,
    principal: Principal,
    data: InspectionSubmission,
    request_id: str | None,
    problems: list[FieldError],
) -> Target | None:
    """The object or location inspected; one the caller may not see counts as missing. A closed object is
    accepted: the visit happened (and may show it still trades)."""
    if (data.object_id is None) == (data.location_id is None):
        problems.append(FieldError(detail="give exactly one of object_id and location_id", pointer="/object_id"))
        return None
    if data.object_id is not None:
        try:
            found = await registry.get_object(conn, principal, data.object_id)
        except NotFound:
            problems.append(FieldError(detail="no such object", pointer="/object_id"))
            return None
        return Target(found.id, None, list(found.regimes), found.wijk)
    assert data.location_id is not None
    try:
        location = await registry.get_location(conn, principal, data.location_id, request_id=request_id)
    except NotFound:
        problems.append(FieldError(detail="no such location", pointer="/location_id"))
        return None
    return Target(None, location.id, list(location.regimes), location.wijk)


def _team(
    principal: Principal, data: InspectionSubmission, assignment: Assignment | None, problems: list[FieldError]
) -> str | None:
    if assignment is not None:
        if data.team_id is not None and data.team_id != assignment.team_id:
            problems.append(
                FieldError(detail=f"the assignment is planned for team {assignment.team_id}", pointer="/team_id")
            )
        return assignment.team_id
    if data.team_id is None:
        if len(principal.teams) == 1:
            return next(iter(principal.teams))
        detail = "give the team you inspect for" if principal.teams else "you are in no team; ask a coordinator"
        problems.append(FieldError(detail=detail, pointer="/team_id"))
        return None
    if data.team_id not in principal.teams:
        problems.append(FieldError(detail="is not one of your teams", pointer="/team_id"))
        return None
    return data.team_id


async def _versions(
    conn: asyncpg.Connection, principal: Principal, data: InspectionSubmission, problems: list[FieldError]
) -> list[ChecklistVersion | None]:
    versions: list[ChecklistVersion | None] = []
    seen: set[str] = set()
    for index, entry in enumerate(data.checklists):
        pointer = f"/checklists/{index}/checklist_version_id"
        try:
            version = await checklists.get_version_cached(conn, principal, entry.checklist_version_id)
        except NotFound:
            problems.append(FieldError(detail="no such checklist version", pointer=pointer))
            versions.append(None)
            continue
        if version.key in seen and version.key not in REPEATABLE_TEMPLATES:
            problems.append(
                FieldError(detail=f"checklist {version.key} is already in this inspection", pointer=pointer)
            )
        seen.add(version.key)
        versions.append(version)
    found = [version for version in versions if version is not None]
    if found and not any(version.kind == "inspection" for version in found):
        problems.append(
            FieldError(detail="give at least one inspection checklist; add-ons accompany one", pointer="/checklists")
        )
    return versions


def _regimes(versions: list[ChecklistVersion | None], target: Target | None, problems: list[FieldError]) -> list[str]:
    """The inspection's regimes: those of its checklists; each must be one the target is supervised under."""
    regimes = sorted({v.regime for v in versions if v is not None} - {checklists.ANY_REGIME})
    if target is None or not any(versions):
        return regimes
    for index, version in enumerate(versions):
        if version is not None and version.regime != checklists.ANY_REGIME and version.regime not in target.regimes:
            problems.append(
                FieldError(
                    detail=f"a {version.regime} checklist; the target is not supervised under {version.regime}",
                    pointer=f"/checklists/{index}/checklist_version_id",
                )
            )
    if not regimes:
        problems.append(FieldError(detail="give a checklist of a regime", pointer="/checklists"))
    elif "sexwork" in target.regimes and "sexwork" not in regimes:
        # Otherwise users without the sexwork scope would learn of a sex-work target through the inspection.
        problems.append(
            FieldError(detail="a sex-work target is inspected with a sexwork checklist", pointer="/checklists")
        )
    return regimes


def _manifest(data: InspectionSubmission, problems: list[FieldError]) -> dict[int, dict[str, list[str]]]:
    """The photo ids per checklist and question (the validator's evidence); duplicates and bad indexes."""
    evidence: dict[int, dict[str, list[str]]] = {}
    seen: set[UUID] = set()
    for index, photo in enumerate(data.photos):
        if photo.id in seen:
            problems.append(FieldError(detail="this photo id is listed twice", pointer=f"/photos/{index}/id"))
            continue
        seen.add(photo.id)
        if photo.checklist >= len(data.checklists):
            problems.append(
                FieldError(detail=f"there is no checklist {photo.checklist}", pointer=f"/photos/{index}/checklist")
            )
        elif photo.question is not None:
            evidence.setdefault(photo.checklist, {}).setdefault(photo.question, []).append(str(photo.id))
    return evidence


def _evidence_problem(index: int, problem: AnswerProblem, photos: list[PhotoManifestEntry]) -> FieldError:
    """A validator problem with /evidence/<key> points at the manifest: the photo concerned, or /photos."""
    key = problem.pointer.removeprefix("/evidence/").replace("~1", "/").replace("~0", "~")
    detail = f"checklist {index}, question {key}: {problem.detail}"
    if problem.kind != "photo_required":
        for at, photo in enumerate(photos):
            if photo.checklist == index and photo.question == key:
                return FieldError(detail=detail, pointer=f"/photos/{at}/question")
    return FieldError(detail=detail, pointer="/photos")


def _photo_answer_problems(
    index: int, version: ChecklistVersion, answers: dict[str, Any], manifest: set[str]
) -> list[FieldError]:
    """A photo-type answer lists photo ids: each must be in the manifest, or it would never be uploaded."""
    problems = []
    for key, item in validator.questions(version.content).items.items():
        value = answers.get(key)
        if item["answer"]["type"] == "photo" and isinstance(value, list):
            missing = [v for v in value if isinstance(v, str) and v.lower() not in manifest]
            if missing:
                problems.append(
                    FieldError(
                        detail="lists photos that are not in the photo manifest (photos)",
                        pointer=f"/checklists/{index}" + validator.pointer("answers", key),
                    )
                )
    return problems


def _answers(
    data: InspectionSubmission,
    versions: list[ChecklistVersion | None],
    evidence: dict[int, dict[str, list[str]]],
    problems: list[FieldError],
) -> list[tuple[int, ChecklistVersion, Any]]:
    """Validate every checklist's answers; every problem of every checklist is reported."""
    manifest = {str(photo.id) for photo in data.photos}
    found = []
    for index, (entry, version) in enumerate(zip(data.checklists, versions, strict=True)):
        if version is None:
            continue
        result = validator.validate(version.content, entry.answers, evidence.get(index, {}))
        if isinstance(result, AnswersRejected):
            for problem in result.problems:
                if problem.pointer.startswith("/answers/"):
                    problems.append(FieldError(detail=problem.detail, pointer=f"/checklists/{index}{problem.pointer}"))
                else:
                    problems.append(_evidence_problem(index, problem, data.photos))
        else:
            found += [(index, version, violation) for violation in result.violations]
        problems += _photo_answer_problems(index, version, entry.answers, manifest)
    return found


def _free_text_problems(data: InspectionSubmission, versions: list[ChecklistVersion | None]) -> list[FieldError]:
    """A sex-work inspection holds no free text: what is written about sex workers is special-category personal
    data (AVG art. 9), which the sex-work checklists avoid by asking only closed questions. So neither the
    inspection's observations nor a text answer of an add-on (the ondermijning OM-99) is accepted: the facts go
    into the closed answers and the photos."""
    problems = []
    if data.observations:
        problems.append(
            FieldError(detail="no free text on a sex-work inspection: leave out observations", pointer="/observations")
        )
    for index, (entry, version) in enumerate(zip(data.checklists, versions, strict=True)):
        if version is None:
            continue
        for key, item in validator.questions(version.content).items.items():
            if item["answer"]["type"] == "text" and entry.answers.get(key) not in (None, ""):
                problems.append(
                    FieldError(
                        detail="no free text on a sex-work inspection: leave out this text answer",
                        pointer=f"/checklists/{index}" + validator.pointer("answers", key),
                    )
                )
    return problems


async def _inspector_problems(
    conn: asyncpg.Connection, principal: Principal, inspector_ids: list[UUID]
) -> list[FieldError]:
    problems = []
    if len(set(inspector_ids)) != len(inspector_ids):
        problems.append(FieldError(detail="an inspector is listed twice", pointer="/inspector_ids"))
    if principal.user_id not in inspector_ids:
        problems.append(FieldError(detail="list yourself among the inspectors present", pointer="/inspector_ids"))
    for index, user_id in enumerate(inspector_ids):
        if user_id == principal.user_id:
            continue
        _user, problem = await users.as_inspector(conn, user_id)
        if problem is not None:
            problems.append(FieldError(detail=problem, pointer=f"/inspector_ids/{index}"))
    return problems


async def _prepare(
    conn: asyncpg.Connection,
    principal: Principal,
    data: InspectionSubmission,
    *,
    reference: datetime,
    skew: int | None,
    request_id: str | None,
) -> Prepared:
    """Check the whole submission; raise 422 listing every problem, or return what to store."""
    problems: list[FieldError] = []
    assignment = await _assignment(conn, principal, data, problems)
    target = await _target(conn, principal, data, request_id, problems)
    team_id = _team(principal, data, assignment, problems)
    versions = await _versions(conn, principal, data, problems)
    regimes = _regimes(versions, target, problems)
    evidence = _manifest(data, problems)
    found = _answers(data, versions, evidence, problems)
    if "sexwork" in regimes:
        problems += _free_text_problems(data, versions)
    problems += await _inspector_problems(conn, principal, data.inspector_ids)
    if len(set(data.partners)) != len(data.partners):
        problems.append(FieldError(detail="a partner is listed twice", pointer="/partners"))
    time_problems = _time_problems(data)
    clock = None if time_problems else assess_clock(data.started_at, data.finished_at, reference, skew)
    problems += clock.problems if clock else time_problems
    _refused(problems)
    assert target is not None and team_id is not None and clock is not None
    return Prepared(
        target=target,
        assignment=assignment,
        team_id=team_id,
        regimes=regimes,
        clock=clock,
        checklist_rows=[
            {
                "position": index,
                "checklist_version_id": str(entry.checklist_version_id),
                "template_key": version.key,
                "regime": version.regime,
                "answers": entry.answers,
            }
            for index, (entry, version) in enumerate(zip(data.checklists, versions, strict=True))
            if version
        ],
        violation_rows=[
            {
                "checklist_version_id": str(version.id),
                "checklist_position": index,
                "question_key": violation.key,
                "code": violation.code,
                "article": msgspec.to_builtins(violation.article),
                "severity": violation.severity,
                "evidence_photo_ids": evidence.get(index, {}).get(violation.key, []),
            }
            for index, version, violation in found
        ],
        photo_rows=[
            {
                "id": str(photo.id),
                "position": index,
                "checklist_position": photo.checklist,
                "question_key": photo.question,
                "sha256": photo.sha256,
                "size_bytes": photo.size,
            }
            for index, photo in enumerate(data.photos)
        ],
        codes=sorted({violation.code for _, _, violation in found}),
    )


# --- submitting ------------------------------------------------------------------------------------------


async def submit(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    data: InspectionSubmission,
    *,
    date_header: str | None,
    request_id: str | None,
) -> Inspection:
    """Store a submission, answer a resend of a stored revision, or apply a correction (see the module)."""
    received_at = datetime.now(UTC)
    skew = clock_skew(date_header, received_at)
    body, digest = canonical(data)
    if data.base_revision is None:
        stored = await _submit_new(tx, principal, inspection_id, data, body, digest, received_at, skew, request_id)
        if stored is not None:
            return stored
    existing = await tx.fetchrow(queries.EXISTING, *_scope(principal), inspection_id)
    if existing is None:  # only a correction gets here without a stored inspection
        _refused([FieldError(detail="there is no inspection with this id to correct", pointer="/base_revision")])
    for _attempt in range(2):
        result = await _on_existing(
            tx, principal, inspection_id, data, existing, body, digest, received_at, skew, request_id
        )
        if result is not None:
            return await _with_evidence(tx, principal, result)
        # A concurrent correction moved the inspection on meanwhile: decide again on what is stored now.
        existing = await tx.fetchrow(queries.EXISTING, *_scope(principal), inspection_id)
    raise Conflict("The inspection changed while you corrected it; read it again.", code="inspection_conflict")


async def _submit_new(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    data: InspectionSubmission,
    body: dict[str, Any],
    digest: str,
    received_at: datetime,
    skew: int | None,
    request_id: str | None,
) -> Inspection | None:
    """Store the first submission under this id; None when the id exists (nothing stored). Nearly every PUT
    is new, so it is checked and inserted before asking whether the id exists; a resend that no longer passes
    the checks (say the object was closed since) still gets the answer stored for it."""
    try:
        prepared = await _prepare(tx, principal, data, reference=received_at, skew=skew, request_id=request_id)
    except (Unprocessable, Forbidden):
        if await tx.fetchval(queries.ID_TAKEN, inspection_id):
            return None
        raise
    submitted = _audit_event(principal, inspection_id, prepared, "submitted", 1, digest, request_id)
    view = await _insert(tx, principal, inspection_id, prepared, body, digest, received_at, data, submitted)
    if view is None:
        return None  # a resend, a concurrent duplicate that committed first, or another body under this id
    # Its assignment is done, and photos the phone uploaded before it may attach now (planning and photos react).
    await events.announce(tx, _event("inspection.submitted", principal, view, request_id), principal)
    if prepared.photo_rows:
        view = await _view(tx, inspection_id)
    return await _with_evidence(tx, principal, view)


def _event(type: str, principal: Principal, view: Inspection, request_id: str | None) -> events.Event:
    concerned = {"assignment": view.assignment_id, "object": view.object_id, "location": view.location_id}
    related = {role: value for role, value in concerned.items() if value is not None}
    return events.event(
        type,
        actor=principal.user_id,
        subject_type="inspection",
        subject_id=view.id,
        related=related,
        regimes=list(view.regimes),
        request_id=request_id,
    )


async def _insert(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    prepared: Prepared,
    body: dict[str, Any],
    digest: str,
    received_at: datetime,
    data: InspectionSubmission,
    event: audit.Event,
) -> Inspection | None:
    """One statement for every row and the audit event, answering the stored view; None when the id exists
    already (nothing inserted)."""
    position = data.position
    try:
        row = await tx.fetchrow(
            queries.INSERT,
            inspection_id,
            "submitted" if prepared.photo_rows else "complete",
            data.assignment_id,
            prepared.target.object_id,
            prepared.target.location_id,
            prepared.team_id,
            prepared.target.wijk,
            prepared.regimes,
            principal.user_id,
            data.inspector_ids,
            sorted(data.partners),
            data.observations or None,
            data.started_at,
            data.finished_at,
            received_at,
            prepared.clock.skew_seconds,
            prepared.clock.suspect,
            prepared.clock.inspected_at,
            position.latitude if position else None,
            position.longitude if position else None,
            position.accuracy_m if position else None,
            body,
            digest,
            prepared.checklist_rows,
            prepared.violation_rows,
            prepared.observed_on,
            prepared.photo_rows,
            [event],
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "inspection_photo_pkey":
            raise _photo_in_use() from None
        raise
    return None if row is None else _inspection(row)


def _photo_in_use() -> Conflict:
    return Conflict(
        "A photo id in the manifest belongs to another inspection; give each photo its own id.", code="photo_id_in_use"
    )


def _audit_event(
    principal: Principal,
    inspection_id: UUID,
    prepared: Prepared,
    action: str,
    revision: int,
    digest: str,
    request_id: str | None,
) -> audit.Event:
    """The submission's audit event (never answers or observations: personal data)."""
    state = "corrected" if action == "corrected" else ("submitted" if prepared.photo_rows else "complete")
    return audit.event(
        actor=actor_of(principal),
        action=f"inspection.{action}",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        after={
            "revision": revision,
            "state": state,
            "body_sha256": digest,
            "violation_codes": prepared.codes,
            "clock_suspect": prepared.clock.suspect,
        },
    )


async def _on_existing(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    data: InspectionSubmission,
    existing: asyncpg.Record,
    body: dict[str, Any],
    digest: str,
    received_at: datetime,
    skew: int | None,
    request_id: str | None,
) -> Inspection | None:
    """A PUT to an id that exists: a resend, a correction, or a conflict. None: the correction lost a race."""
    if not existing["visible"]:
        # Do not reveal what it is: the id is simply taken.
        raise Conflict("An inspection with this id exists already.", code="inspection_conflict")
    if digest in existing["hashes"]:
        return await _view(tx, inspection_id)
    current = existing["revision"]
    if existing["state"] == "returned" and data.base_revision == current:
        return await _correct(tx, principal, inspection_id, data, existing, body, digest, received_at, skew, request_id)
    if data.base_revision is not None and data.base_revision != current:
        raise StaleRevision(current)
    if data.base_revision is not None:
        raise Conflict(
            f"The inspection is {existing['state']}; it can be corrected only after it was returned.",
            code="inspection_conflict",
        )
    raise Conflict("An inspection with this id exists already with other content.", code="inspection_conflict")


async def _correct(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    data: InspectionSubmission,
    existing: asyncpg.Record,
    body: dict[str, Any],
    digest: str,
    received_at: datetime,
    skew: int | None,
    request_id: str | None,
) -> Inspection | None:
    if principal.user_id != existing["submitted_by"] and principal.user_id not in existing["inspector_ids"]:
        raise Forbidden(
            "Only the inspector who submitted it or one who was present corrects an inspection.",
            code="not_your_inspection",
        )
    # The visit's times are judged against its first receipt; without a Date header the known skew stays.
    skew = skew if skew is not None else existing["clock_skew_seconds"]
    prepared = await _prepare(tx, principal, data, reference=existing["received_at"], skew=skew, request_id=request_id)
    await _check_photo_changes(tx, inspection_id, data.photos)
    position = data.position
    row = await tx.fetchrow(
        queries.CORRECT,
        inspection_id,
        data.base_revision,
        data.assignment_id,
        prepared.target.object_id,
        prepared.target.location_id,
        prepared.team_id,
        prepared.target.wijk,
        prepared.regimes,
        data.inspector_ids,
        sorted(data.partners),
        data.observations or None,
        data.started_at,
        data.finished_at,
        prepared.clock.skew_seconds,
        prepared.clock.suspect,
        prepared.clock.inspected_at,
        position.latitude if position else None,
        position.longitude if position else None,
        position.accuracy_m if position else None,
    )
    if row is None:
        return None
    revision = row["revision"]
    await tx.execute(
        queries.INSERT_REVISION,
        inspection_id,
        revision,
        data.base_revision,
        body,
        digest,
        principal.user_id,
        received_at,
    )
    await tx.execute(queries.DELETE_CHECKLISTS, inspection_id)
    await tx.execute(queries.INSERT_CHECKLISTS, inspection_id, prepared.checklist_rows)
    await tx.execute(queries.REPLACE_PHOTOS, inspection_id, prepared.photo_rows)
    await _replace_violations(tx, inspection_id, revision, prepared)
    view = await _view(tx, inspection_id)
    await events.announce(tx, _event("inspection.corrected", principal, view, request_id), principal)
    await audit.write(tx, _audit_event(principal, inspection_id, prepared, "corrected", revision, digest, request_id))
    return view


async def _check_photo_changes(tx: asyncpg.Connection, inspection_id: UUID, photos: list[PhotoManifestEntry]) -> None:
    """A correction keeps every photo already received, and a photo id keeps its hash and size."""
    rows = await tx.fetch(queries.PHOTOS_BY_ID, [photo.id for photo in photos]) if photos else []
    stored = {row["id"]: row for row in rows}
    if any(row["inspection_id"] != inspection_id for row in rows):
        raise _photo_in_use()
    problems = []
    for index, photo in enumerate(photos):
        row = stored.get(photo.id)
        if row is not None and (row["sha256"], row["size_bytes"]) != (photo.sha256, photo.size):
            problems.append(
                FieldError(
                    detail="this photo id was listed with another hash or size; a new photo gets a new id",
                    pointer=f"/photos/{index}/sha256",
                )
            )
    listed = {photo.id for photo in photos}
    for row in await tx.fetch(queries.RECEIVED_PHOTOS, inspection_id):
        if row["id"] not in listed:
            problems.append(
                FieldError(detail=f"photo {row['id']} has been received; it stays in the manifest", pointer="/photos")
            )
    _refused(problems)


async def _replace_violations(tx: asyncpg.Connection, inspection_id: UUID, revision: int, prepared: Prepared) -> None:
    """Violations the correction establishes again stay (with the new date and evidence); those it no
    longer establishes are withdrawn, not deleted; new ones are added with this revision."""
    current = {
        (str(row["checklist_version_id"]), row["checklist_position"], row["question_key"], row["code"]): row["id"]
        for row in await tx.fetch(queries.CURRENT_VIOLATIONS, inspection_id)
    }
    kept, added = [], []
    for row in prepared.violation_rows:
        identity = (row["checklist_version_id"], row["checklist_position"], row["question_key"], row["code"])
        if identity in current:
            kept.append({"id": str(current.pop(identity)), "evidence_photo_ids": row["evidence_photo_ids"]})
        else:
            added.append(row)
    target = prepared.target
    if current:
        await tx.execute(queries.WITHDRAW_VIOLATIONS, list(current.values()))
    if kept:
        await tx.execute(queries.REFRESH_VIOLATIONS, kept, target.object_id, target.location_id, prepared.observed_on)
    if added:
        await tx.execute(
            queries.INSERT_VIOLATIONS,
            inspection_id,
            revision,
            target.object_id,
            target.location_id,
            prepared.observed_on,
            added,
        )


# --- reading -------------------------------------------------------------------------------------------------


def _inspection(row: asyncpg.Record) -> Inspection:
    fields = dict(row)
    latitude, longitude, accuracy = fields.pop("latitude"), fields.pop("longitude"), fields.pop("position_accuracy_m")
    fields["position"] = (
        None if latitude is None else {"latitude": latitude, "longitude": longitude, "accuracy_m": accuracy}
    )
    fields["expected_photos"] = [photo["id"] for photo in fields["photos"] if not photo["received"]]
    return msgspec.convert(fields, Inspection)


async def _view(conn: asyncpg.Connection, inspection_id: UUID) -> Inspection:
    return _inspection(await conn.fetchrow(queries.GET_BY_ID, inspection_id))


async def get_inspection(conn: asyncpg.Connection, principal: Principal, inspection_id: UUID) -> Inspection:
    row = await conn.fetchrow(queries.GET_VISIBLE, *_scope(principal), inspection_id)
    if row is None:
        raise NotFound("No such inspection.")
    return await _with_evidence(conn, principal, _inspection(row))


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


async def _with_evidence(conn: asyncpg.Connection, principal: Principal, view: Inspection) -> Inspection:
    """The view with what the photos feature knows of each received photo (for this caller)."""
    received = [photo.id for photo in view.photos if photo.received]
    if not received:
        return view
    evidence = await _evidence_reader(conn, principal, received)
    shown = [msgspec.structs.replace(photo, evidence=evidence.get(photo.id)) for photo in view.photos]
    return msgspec.structs.replace(view, photos=shown)


async def visible_to(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, whole_regimes: bool = False
) -> bool:
    """Whether the caller sees the inspection. `whole_regimes`: judged as for enforcement officers, on the
    regimes alone (every inspection of the caller's regimes; sex work only with the sexwork scope)."""
    scope = _scope(principal)
    if whole_regimes:
        scope = (scope[0], scope[1], True, [], [], None)
    return bool(await conn.fetchval(queries.IS_VISIBLE, *scope, inspection_id))


async def returned_to(
    conn: asyncpg.Connection, principal: Principal, inspection_ids: list[UUID] | None = None
) -> list[ReturnedInspection]:
    """The caller's returned inspections (those they may correct), all of them or those among the ids."""
    rows = await conn.fetch(queries.RETURNED_TO, *_scope(principal), inspection_ids)
    return [msgspec.convert(dict(row), ReturnedInspection) for row in rows]


async def list_revisions(conn: asyncpg.Connection, principal: Principal, inspection_id: UUID) -> RevisionList:
    if not await conn.fetchval(queries.IS_VISIBLE, *_scope(principal), inspection_id):
        raise NotFound("No such inspection.")
    rows = await conn.fetch(queries.REVISIONS, inspection_id)
    return RevisionList(items=[msgspec.convert(dict(row), Revision) for row in rows])


async def list_inspections(
    conn: asyncpg.Connection, principal: Principal, *, filters: dict[str, Any], cursor: str | None, limit: int
) -> InspectionPage:
    if filters.get("from") is not None and filters.get("to") is not None and filters["to"] < filters["from"]:
        raise BadRequest("`to` is before `from`.", code="invalid_date_range")
    after = decode_cursor(cursor, tuple[datetime, UUID])
    await registry.ensure_known_wijk_filter(conn, filters.get("wijk"))
    sql, args = queries.list_inspections(filters, scope=_scope(principal), after=after, limit=limit + 1)
    rows = await conn.fetch(sql, *args)
    items, next_cursor = keyset_page(
        rows,
        limit,
        lambda row: msgspec.convert(dict(row), InspectionListItem),
        lambda last: (last.inspected_at.isoformat(), str(last.id)),
    )
    return InspectionPage(items=items, next_cursor=next_cursor)


async def list_violations(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    object_id: UUID | None,
    location_id: UUID | None,
    inspection_id: UUID | None,
    include_withdrawn: bool,
    cursor: str | None,
    limit: int,
) -> ViolationPage:
    """An object's, location's or inspection's violations, newest first (the history recidive counts from)."""
    if object_id is None and location_id is None and inspection_id is None:
        raise Unprocessable(
            "Name what the violations are of.",
            errors=[
                FieldError(detail="give object_id, location_id or inspection_id", parameter=name)
                for name in ("object_id", "location_id", "inspection_id")
            ],
        )
    after = decode_cursor(cursor, tuple[date, UUID])
    filters = {
        "object_id": object_id,
        "location_id": location_id,
        "inspection_id": inspection_id,
        "active_only": None if include_withdrawn else True,
    }
    sql, args = queries.list_violations(filters, scope=_scope(principal), after=after, limit=limit + 1)
    rows = await conn.fetch(sql, *args)
    items, next_cursor = keyset_page(
        rows,
        limit,
        lambda row: msgspec.convert(dict(row), Violation),
        lambda last: (last.observed_on.isoformat(), str(last.id)),
    )
    return ViolationPage(items=items, next_cursor=next_cursor)


async def outcomes_of_assignments(
    conn: asyncpg.Connection, assignment_ids: list[UUID]
) -> dict[UUID, AssignmentOutcome]:
    """The latest inspection of each assignment, with its active violation codes (for the complaints feature,
    which shows it as a follow-up summary to callers who may see the complaint). No visibility check here."""
    if not assignment_ids:
        return {}
    rows = await conn.fetch(queries.OUTCOMES_OF_ASSIGNMENTS, assignment_ids)
    return {row["assignment_id"]: msgspec.convert(dict(row), AssignmentOutcome) for row in rows}


# --- review and return ---------------------------------------------------------------------------------------


async def _reviewable(tx: asyncpg.Connection, principal: Principal, inspection_id: UUID) -> Inspection:
    current = await get_inspection(tx, principal, inspection_id)
    if not (principal.has_role("admin") or (principal.has_role("coordinator") and current.team_id in principal.teams)):
        raise Forbidden("You review and return only your own teams' inspections.", code="not_your_team")
    return current


async def review(
    tx: asyncpg.Connection, principal: Principal, inspection_id: UUID, *, version: int, request_id: str | None
) -> Inspection:
    """A coordinator accepts the inspection. Vier-ogen: not someone who was there or submitted it."""
    current = await _reviewable(tx, principal, inspection_id)
    if principal.user_id in current.inspector_ids or principal.user_id == current.submitted_by:
        raise Forbidden(
            "You were present at this inspection; another coordinator reviews it (vier-ogenprincipe).", code="four_eyes"
        )
    if current.state not in ("complete", "corrected") or current.expected_photos:
        waiting = f" and waits for {len(current.expected_photos)} photo(s)" if current.expected_photos else ""
        raise Conflict(f"The inspection is {current.state}{waiting}; it cannot be reviewed now.", code="not_reviewable")
    if await tx.fetchrow(queries.REVIEW, inspection_id, version, principal.user_id) is None:
        raise stale(current.version)
    view = await _with_evidence(tx, principal, await _view(tx, inspection_id))
    await audit.record(
        tx,
        actor=actor_of(principal),
        action="inspection.reviewed",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        before={"state": current.state},
        after={"state": "reviewed", "revision": current.revision},
    )
    # Reviewed findings are established: violations open or join an enforcement case, and a planned hercontrole
    # takes its outcome from them, in this transaction (the enforcement feature reacts).
    await events.announce(tx, _event("inspection.reviewed", principal, view, request_id), principal)
    return view


async def return_(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    reason: str,
    *,
    version: int,
    request_id: str | None,
) -> Inspection:
    """A coordinator sends the inspection back to its inspectors with a reason; they correct it."""
    current = await _reviewable(tx, principal, inspection_id)
    if current.state not in ("submitted", "complete", "corrected"):
        raise Conflict(f"The inspection is {current.state}; it cannot be returned now.", code="not_returnable")
    reason = reason.strip()
    if await tx.fetchrow(queries.RETURN, inspection_id, version, reason) is None:
        raise stale(current.version)
    view = await _with_evidence(tx, principal, await _view(tx, inspection_id))
    await audit.record(
        tx,
        actor=actor_of(principal),
        action="inspection.returned",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        reason=reason,
        before={"state": current.state},
        after={"state": "returned", "revision": current.revision},
    )
    await events.announce(tx, _event("inspection.returned", principal, view, request_id), principal)
    return view


# --- photos ----------------------------------------------------------------------------------------------------


async def photo_received(
    tx: asyncpg.Connection,
    photo_id: UUID,
    sha256: str,
    size: int,
    *,
    actor: audit.Actor = audit.SYSTEM,
    request_id: str | None = None,
) -> PhotoReceipt:
    """A photo of a manifest arrived (the photos feature calls this in its transaction): mark it received,
    give the inspection a new version (its ETag: the photo list changed) and move a submitted inspection to
    complete when no photo is missing; audited as inspection.photo_received. Receiving it again changes
    nothing."""
    photo = await tx.fetchrow(queries.PHOTO, photo_id)
    if photo is None:
        raise NotFound("No inspection expects this photo.")
    if (photo["sha256"], photo["size_bytes"]) != (sha256, size):
        raise Unprocessable("The photo does not match its manifest entry (SHA-256 and size).", code="photo_mismatch")
    inspection_id = photo["inspection_id"]
    # The inspection first, then the photo (as corrections do): concurrent uploads of one inspection's
    # photos take turns, so the last of them sees that none is missing.
    state = await tx.fetchval(queries.LOCK_INSPECTION, inspection_id)
    if await tx.fetchval(queries.MARK_PHOTO_RECEIVED, photo_id) is None:
        if await tx.fetchrow(queries.PHOTO, photo_id) is None:  # a correction dropped it meanwhile
            raise NotFound("No inspection expects this photo.")
        return PhotoReceipt(inspection_id=inspection_id, state=state, already_received=True)
    after = await tx.fetchval(queries.PHOTO_ARRIVED, inspection_id)
    await audit.record(
        tx,
        actor=actor,
        action="inspection.photo_received",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        before={"state": state},
        after={"state": after, "photo_id": str(photo_id), "sha256": sha256},
    )
    return PhotoReceipt(inspection_id=inspection_id, state=after, already_received=False)


async def photo_slot(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, photo_id: UUID
) -> ExpectedPhoto | None:
    """Where an uploaded photo goes: its manifest entry in the inspection, or None when no inspection with
    this id has arrived yet (the photo waits for it). NotFound when the caller may not see the inspection;
    422 photo_not_in_manifest when its manifest does not list the photo; 409 photo_id_in_use when the
    inspection has not arrived but another one lists this photo id."""
    row = await conn.fetchrow(queries.PHOTO_SLOT, *_scope(principal), inspection_id, photo_id)
    if row is None:
        if await conn.fetchrow(queries.PHOTO, photo_id) is not None:
            raise Conflict(
                "Another inspection lists this photo id; give each photo its own id.", code="photo_id_in_use"
            )
        return None
    if not row["visible"]:
        raise NotFound("No such inspection.")
    if row["sha256"] is None:
        raise Unprocessable("The inspection's photo list does not contain this photo.", code="photo_not_in_manifest")
    return ExpectedPhoto(sha256=row["sha256"], size=row["size_bytes"])
