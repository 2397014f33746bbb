"""Review and return: a coordinator of the inspection's team (or an admin) accepts a complete or corrected
inspection, or returns it to its inspectors with a reason. Vier-ogen: nobody who was present at it or submitted it
accepts it. Both are audited and announced (inspection.reviewed: enforcement and planning react, in this
transaction; inspection.returned)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.core import audit, events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, Forbidden
from backend.inspections import queries
from backend.inspections.models import Inspection
from backend.inspections.reads import get_inspection, stored_view, with_evidence
from backend.inspections.trail import domain_event

REVIEWERS = ("coordinator", "admin")


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
    # Reviewed findings are established: violations open or join an enforcement case, and a planned hercontrole
    # takes its outcome from them, in this transaction (the enforcement feature reacts).
    return await _record(tx, principal, current, "reviewed", request_id=request_id)


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
    return await _record(tx, principal, current, "returned", request_id=request_id, reason=reason)


async def _record(
    tx: asyncpg.Connection,
    principal: Principal,
    before: Inspection,
    state: str,
    *,
    request_id: str | None,
    reason: str | None = None,
) -> Inspection:
    """Audit and announce the move from `before` to `state` (inspection.<state>); the inspection as it is now."""
    view = await with_evidence(tx, principal, await stored_view(tx, before.id))
    await audit.record_user_action(
        tx,
        principal,
        "inspection",
        before.id,
        state,
        request_id=request_id,
        reason=reason,
        before={"state": before.state},
        after={"state": state, "revision": before.revision},
    )
    await events.announce(tx, domain_event(f"inspection.{state}", principal, view, request_id), principal)
    return view
