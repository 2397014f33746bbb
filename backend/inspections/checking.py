"""Checking a submission whole before anything is written: every problem in one 422.

Its target and assignment through the registry and planning services (what the caller may not see counts as
missing), its checklist versions and answers through the checklists service and validator, its inspectors
through the users service, its device times (inspections.clock). What passes becomes a `Prepared`: the rows
to store and what the server derived (regimes, violations, the time deadlines count from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.checklists import service as checklists
from backend.checklists import validator
from backend.checklists.models import AnswerProblem, AnswersRejected, ChecklistVersion
from backend.core.auth import Principal
from backend.core.errors import FieldProblems, Forbidden, NotFound
from backend.inspections import queries
from backend.inspections.clock import Clock, assess_clock, day_of, time_problems
from backend.inspections.models import InspectionSubmission, PhotoManifestEntry
from backend.planning import service as planning
from backend.planning.models import Assignment
from backend.registry import service as registry
from backend.registry.models import Establishment
from backend.users import service as users

# Templates filled in more than once per inspection: a NIX18 control has one form per purchase attempt.
REPEATABLE_TEMPLATES = frozenset({"nix18-purchase-attempt"})


@dataclass
class Target:
    object_id: UUID | None
    location_id: UUID | None
    regimes: list[str]
    wijk: str
    object_kind: str | None  # the establishment's kind; None for a location


@dataclass
class Prepared:
    """A submission that passed every check, with what the server derived from it."""

    target: Target
    assignment: Assignment | None
    team_id: str
    regimes: list[str]
    clock: Clock
    checklists: list[queries.ChecklistRow]
    violations: list[queries.ViolationRow]
    photos: list[queries.PhotoRow]
    codes: list[str] = field(default_factory=list)

    @property
    def observed_on(self) -> date:
        return day_of(self.clock.inspected_at)

    def fields(self, data: InspectionSubmission) -> queries.InspectionFields:
        """The inspection's columns this submission decides."""
        position = data.position
        return queries.InspectionFields(
            assignment_id=data.assignment_id,
            establishment_id=self.target.object_id,
            location_id=self.target.location_id,
            team_id=self.team_id,
            wijk=self.target.wijk,
            regimes=self.regimes,
            inspector_ids=data.inspector_ids,
            partners=sorted(data.partners),
            observations=data.observations or None,
            started_at=data.started_at,
            finished_at=data.finished_at,
            clock_skew_seconds=self.clock.skew_seconds,
            clock_suspect=self.clock.suspect,
            inspected_at=self.clock.inspected_at,
            latitude=position.latitude if position else None,
            longitude=position.longitude if position else None,
            position_accuracy_m=position.accuracy_m if position else None,
        )


async def _assignment(
    conn: asyncpg.Connection, principal: Principal, data: InspectionSubmission, problems: FieldProblems
) -> Assignment | None:
    if data.assignment_id is None:
        return None
    try:
        assignment = await planning.get_assignment(conn, principal, data.assignment_id)
    except NotFound:
        problems.add("/assignment_id", "no such assignment")
        return None
    if principal.user_id not in assignment.inspector_ids and assignment.team_id not in principal.teams:
        raise Forbidden(
            "You submit inspections of your team's assignments or those assigned to you.", code="not_your_assignment"
        )
    if (data.object_id, data.location_id) != (assignment.object_id, assignment.location_id):
        pointer = "/object_id" if assignment.object_id is not None else "/location_id"
        problems.add(pointer, "is not the target of the assignment")
    return assignment


async def _target(
    conn: asyncpg.Connection,
    principal: Principal,
    data: InspectionSubmission,
    request_id: str | None,
    problems: FieldProblems,
) -> Target | None:
    """The object or location inspected; one the caller may not see counts as missing. A closed object is
    accepted: the visit happened (and may show it still trades)."""
    found = await registry.target_of(conn, principal, data.object_id, data.location_id, problems, request_id=request_id)
    if found is None:
        return None
    if isinstance(found, Establishment):
        return Target(found.id, None, list(found.regimes), found.wijk, found.kind)
    return Target(None, found.id, list(found.regimes), found.wijk, None)


def _team(
    principal: Principal, data: InspectionSubmission, assignment: Assignment | None, problems: FieldProblems
) -> str | None:
    if assignment is not None:
        if data.team_id is not None and data.team_id != assignment.team_id:
            problems.add("/team_id", f"the assignment is planned for team {assignment.team_id}")
        return assignment.team_id
    if data.team_id is None:
        if len(principal.teams) == 1:
            return next(iter(principal.teams))
        detail = "give the team you inspect for" if principal.teams else "you are in no team; ask a coordinator"
        problems.add("/team_id", detail)
        return None
    if data.team_id not in principal.teams:
        problems.add("/team_id", "is not one of your teams")
        return None
    return data.team_id


async def _versions(
    conn: asyncpg.Connection, principal: Principal, data: InspectionSubmission, problems: FieldProblems
) -> list[ChecklistVersion | None]:
    versions: list[ChecklistVersion | None] = []
    seen: set[str] = set()
    for index, entry in enumerate(data.checklists):
        pointer = f"/checklists/{index}/checklist_version_id"
        try:
            version = await checklists.get_version_cached(conn, principal, entry.checklist_version_id)
        except NotFound:
            problems.add(pointer, "no such checklist version")
            versions.append(None)
            continue
        if version.key in seen and version.key not in REPEATABLE_TEMPLATES:
            problems.add(pointer, f"checklist {version.key} is already in this inspection")
        seen.add(version.key)
        versions.append(version)
    found = [version for version in versions if version is not None]
    if found and not any(version.kind == "inspection" for version in found):
        problems.add("/checklists", "give at least one inspection checklist; add-ons accompany one")
    return versions


def _regimes(versions: list[ChecklistVersion | None], target: Target | None, problems: FieldProblems) -> list[str]:
    """The inspection's regimes: those of its checklists; each must be one the target is supervised under."""
    regimes: list[str] = sorted({v.regime for v in versions if v is not None} - {checklists.ANY_REGIME})
    if target is None or not any(versions):
        return regimes
    for index, version in enumerate(versions):
        if version is not None and version.regime != checklists.ANY_REGIME and version.regime not in target.regimes:
            problems.add(
                f"/checklists/{index}/checklist_version_id",
                f"a {version.regime} checklist; the target is not supervised under {version.regime}",
            )
    if not regimes:
        problems.add("/checklists", "give a checklist of a regime")
    elif "sexwork" in target.regimes and "sexwork" not in regimes:
        # Otherwise users without the sexwork scope would learn of a sex-work target through the inspection.
        problems.add("/checklists", "a sex-work target is inspected with a sexwork checklist")
    return regimes


def _manifest(data: InspectionSubmission, problems: FieldProblems) -> dict[int, dict[str, list[str]]]:
    """The photo ids per checklist and question (the validator's evidence); duplicates and bad indexes."""
    evidence: dict[int, dict[str, list[str]]] = {}
    seen: set[UUID] = set()
    for index, photo in enumerate(data.photos):
        if photo.id in seen:
            problems.add(f"/photos/{index}/id", "this photo id is listed twice")
            continue
        seen.add(photo.id)
        if photo.checklist >= len(data.checklists):
            problems.add(f"/photos/{index}/checklist", f"there is no checklist {photo.checklist}")
        elif photo.question is not None:
            evidence.setdefault(photo.checklist, {}).setdefault(photo.question, []).append(str(photo.id))
    return evidence


def _evidence_problem(index: int, problem: AnswerProblem, photos: list[PhotoManifestEntry]) -> tuple[str, str]:
    """A validator problem with /evidence/<key> points at the manifest: the photo concerned, or /photos
    (pointer and detail)."""
    key = problem.pointer.removeprefix("/evidence/").replace("~1", "/").replace("~0", "~")
    detail = f"checklist {index}, question {key}: {problem.detail}"
    if problem.kind != "photo_required":
        for at, photo in enumerate(photos):
            if photo.checklist == index and photo.question == key:
                return f"/photos/{at}/question", detail
    return "/photos", detail


def _photo_answer_problems(
    index: int, version: ChecklistVersion, answers: dict[str, Any], manifest: set[str], problems: FieldProblems
) -> None:
    """A photo-type answer lists photo ids: each must be in the manifest, or it would never be uploaded."""
    for key, item in validator.questions(version.content).items.items():
        value = answers.get(key)
        if item["answer"]["type"] == "photo" and isinstance(value, list):
            missing = [v for v in value if isinstance(v, str) and v.lower() not in manifest]
            if missing:
                problems.add(
                    f"/checklists/{index}" + validator.pointer("answers", key),
                    "lists photos that are not in the photo manifest (photos)",
                )


def _answers(
    data: InspectionSubmission,
    versions: list[ChecklistVersion | None],
    evidence: dict[int, dict[str, list[str]]],
    problems: FieldProblems,
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
                    problems.add(f"/checklists/{index}{problem.pointer}", problem.detail)
                else:
                    problems.add(*_evidence_problem(index, problem, data.photos))
        else:
            found += [(index, version, violation) for violation in result.violations]
        _photo_answer_problems(index, version, entry.answers, manifest, problems)
    return found


def _free_text_problems(
    data: InspectionSubmission, versions: list[ChecklistVersion | None], problems: FieldProblems
) -> None:
    """A sex-work inspection holds no free text: what is written about sex workers is special-category personal
    data (AVG art. 9), which the sex-work checklists avoid by asking only closed questions. So neither the
    inspection's observations nor a text answer of an add-on (the ondermijning OM-99) is accepted: the facts go
    into the closed answers and the photos."""
    if data.observations:
        problems.add("/observations", "no free text on a sex-work inspection: leave out observations")
    for index, (entry, version) in enumerate(zip(data.checklists, versions, strict=True)):
        if version is None:
            continue
        for key, item in validator.questions(version.content).items.items():
            if item["answer"]["type"] == "text" and entry.answers.get(key) not in (None, ""):
                problems.add(
                    f"/checklists/{index}" + validator.pointer("answers", key),
                    "no free text on a sex-work inspection: leave out this text answer",
                )


async def _inspector_problems(
    conn: asyncpg.Connection, principal: Principal, inspector_ids: list[UUID], problems: FieldProblems
) -> None:
    if len(set(inspector_ids)) != len(inspector_ids):
        problems.add("/inspector_ids", "an inspector is listed twice")
    if principal.user_id not in inspector_ids:
        problems.add("/inspector_ids", "list yourself among the inspectors present")
    for index, user_id in enumerate(inspector_ids):
        if user_id == principal.user_id:
            continue
        _user, problem = await users.as_inspector(conn, user_id)
        if problem is not None:
            problems.add(f"/inspector_ids/{index}", problem)


async def prepare(
    conn: asyncpg.Connection,
    principal: Principal,
    data: InspectionSubmission,
    *,
    reference: datetime,
    skew: int | None,
    request_id: str | None,
) -> Prepared:
    """Check the whole submission; raise 422 listing every problem, or return what to store."""
    problems = FieldProblems()
    assignment = await _assignment(conn, principal, data, problems)
    target = await _target(conn, principal, data, request_id, problems)
    team_id = _team(principal, data, assignment, problems)
    versions = await _versions(conn, principal, data, problems)
    regimes = _regimes(versions, target, problems)
    evidence = _manifest(data, problems)
    found = _answers(data, versions, evidence, problems)
    if "sexwork" in regimes:
        _free_text_problems(data, versions, problems)
    await _inspector_problems(conn, principal, data.inspector_ids, problems)
    if len(set(data.partners)) != len(data.partners):
        problems.add("/partners", "a partner is listed twice")
    own_problems = time_problems(data)
    clock = None if own_problems else assess_clock(data.started_at, data.finished_at, reference, skew)
    problems.extend(clock.problems if clock else own_problems)
    problems.raise_if_any()
    assert target is not None and team_id is not None and clock is not None
    return Prepared(
        target=target,
        assignment=assignment,
        team_id=team_id,
        regimes=regimes,
        clock=clock,
        checklists=[
            queries.ChecklistRow(
                position=index,
                checklist_version_id=entry.checklist_version_id,
                template_key=version.key,
                regime=version.regime,
                answers=entry.answers,
            )
            for index, (entry, version) in enumerate(zip(data.checklists, versions, strict=True))
            if version
        ],
        violations=[
            queries.ViolationRow(
                checklist_version_id=version.id,
                checklist_position=index,
                question_key=violation.key,
                code=violation.code,
                article=msgspec.to_builtins(violation.article),
                severity=violation.severity,
                evidence_photo_ids=evidence.get(index, {}).get(violation.key, []),
            )
            for index, version, violation in found
        ],
        photos=[
            queries.PhotoRow(
                id=photo.id,
                position=index,
                checklist_position=photo.checklist,
                question_key=photo.question,
                sha256=photo.sha256,
                size_bytes=photo.size,
            )
            for index, photo in enumerate(data.photos)
        ],
        codes=sorted({violation.code for _, _, violation in found}),
    )
