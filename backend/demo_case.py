"""The demo's enforcement case: an alcohol inspection of Café De Domtoren finds no leidinggevende present, and the
procedure runs to a sent besluit boete, so a newcomer can download a real letter.

Built through the services the API calls (submission, review, addressee, steps, approval, sending), so the case
keeps every rule a real one does. Idempotent: the inspection has a fixed id; when it exists nothing is added.
The whole case is one transaction, so an interrupted load leaves nothing half built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend import reactions
from backend.core.auth import Principal
from backend.core.config import Settings
from backend.demo_answers import HORECA_NO_MANAGER
from backend.enforcement import approval, drafting, outcomes, reading, sending
from backend.enforcement.models import Case, StepCreate, StepSend, ZienswijzeRecord
from backend.inspections import service as inspections
from backend.inspections.models import InspectionSubmission
from backend.letters.models import Addressee
from backend.letters.service import letters_for
from backend.registry import service as registry
from backend.users import service as users

DEMO_INSPECTION_ID = UUID("30000000-0000-4000-8000-000000000001")
DEMO_CAFE_ID = UUID("10000000-0000-4000-8000-000000000001")  # Café De Domtoren

ADDRESSEE = Addressee(
    name="Domtoren Horeca B.V.",
    attention="mevrouw M. Yilmaz",
    street="Domplein 12",
    postcode="3512 JC",
    city="Utrecht",
    email="info@domtoren.example",
)
MOTIVERING = (
    "Bij de inspectie was geen leidinggevende aanwezig die op de vergunning staat. Het toezicht op de "
    "verstrekking van alcohol rust op die leidinggevende; zonder hem of haar is het verbod om aan jongeren "
    "te verstrekken niet gewaarborgd."
)
# The rules propose a warning for a first violation; the demo goes straight to the boete to show its letter.
DEVIATION = "Demo: de boete wordt direct opgelegd, zodat de hele procedure te zien is"
# The Alcoholbesluit table, category II, under 50 employees (schemas/sanctions/alcohol.json): above EUR 340, so
# Awb 5:53 asks for a voornemen and the zienswijze first.
FINE_CENTS = 102_000

_LATEST_CHECKLIST = "SELECT id FROM checklist_version WHERE template_key = $1 ORDER BY version DESC LIMIT 1"


async def load_demo_case(conn: asyncpg.Connection, settings: Settings) -> int:
    """Build the demo case when it is missing; return how many cases were added (0 or 1). Needs the demo users
    and establishments, and the shipped checklists and letter templates published."""
    if await conn.fetchval("SELECT 1 FROM inspection WHERE id = $1", DEMO_INSPECTION_ID):
        return 0
    # `toezicht demo` runs before (or without) an app: the review opens the case only through its reaction.
    reactions.wire()
    async with conn.transaction():
        case = await drafted_voornemen(conn, settings)
        await _sent_boete(conn, settings, case)
    return 1


async def drafted_voornemen(conn: asyncpg.Connection, settings: Settings) -> Case:
    """The case up to its first letter: the inspection submitted and reviewed (which opens the case), the
    addressee set, and the voornemen boete drafted by jur-eva, not yet sent."""
    inspector, coordinator, admin, drafter = [
        await principal(conn, subject, settings.jwt_issuer)
        for subject in ("insp-anna", "coord-dirk", "admin-hans", "jur-eva")
    ]
    await _reviewed_inspection(conn, inspector, coordinator)
    await registry.set_addressee(conn, admin, DEMO_CAFE_ID, ADDRESSEE, request_id=None)
    case_id = await conn.fetchval(
        "SELECT case_id FROM enforcement_case_violation WHERE inspection_id = $1", DEMO_INSPECTION_ID
    )
    case = await reading.get_case(conn, drafter, case_id, request_id=None)
    return await _draft(
        conn,
        settings,
        drafter,
        case,
        type="voornemen",
        decision="boete",
        amount_cents=FINE_CENTS,
        deviation_reason=DEVIATION,
    )


async def principal(conn: asyncpg.Connection, subject: str, issuer: str) -> Principal:
    """A demo user as the API sees them once signed in."""
    found = await users.stored_principal(conn, issuer, subject)
    assert found is not None, f"demo user {subject} is created before the demo acts as them"
    return found


async def _reviewed_inspection(conn: asyncpg.Connection, inspector: Principal, coordinator: Principal) -> None:
    """Submitted as the inspector's phone would (finished an hour ago), then reviewed: the review opens the case."""
    finished = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    checklist = await conn.fetchval(_LATEST_CHECKLIST, "alcohol-horeca")
    submission = msgspec.convert(
        {
            "object_id": str(DEMO_CAFE_ID),
            "checklists": [{"checklist_version_id": str(checklist), "answers": HORECA_NO_MANAGER}],
            "started_at": (finished - timedelta(minutes=35)).isoformat(),
            "finished_at": finished.isoformat(),
            "position": {"latitude": 52.0907, "longitude": 5.1214, "accuracy_m": 8.0},
            "inspector_ids": [str(inspector.user_id)],
            "observations": "Geen leidinggevende aanwezig; een barmedewerker schonk alleen.",
        },
        InspectionSubmission,
    )
    stored = await inspections.submit(
        conn, inspector, DEMO_INSPECTION_ID, submission, date_header=None, request_id=None
    )
    await inspections.review(conn, coordinator, DEMO_INSPECTION_ID, version=stored.version, request_id=None)


async def _draft(conn: asyncpg.Connection, settings: Settings, drafter: Principal, case: Case, **fields: Any) -> Case:
    return await drafting.create_step(
        conn,
        drafter,
        case.id,
        msgspec.convert(fields, StepCreate),
        version=case.version,
        letters=letters_for(settings),
        request_id=None,
    )


async def _send(conn: asyncpg.Connection, settings: Settings, officer: Principal, case: Case) -> Case:
    return await sending.send_step(
        conn,
        officer,
        case.id,
        case.steps[-1].id,
        StepSend(),
        version=case.version,
        atw_terms=settings.atw_authority_terms,
        letters=letters_for(settings),
        request_id=None,
    )


async def _sent_boete(conn: asyncpg.Connection, settings: Settings, case: Case) -> Case:
    """The voornemen sent and its zienswijze received, then the besluit boete: drafted by jur-eva, approved by
    jur-frank, sent."""
    drafter, approver = [await principal(conn, subject, settings.jwt_issuer) for subject in ("jur-eva", "jur-frank")]
    case = await _send(conn, settings, drafter, case)
    case = await outcomes.record_zienswijze(
        conn,
        drafter,
        case.id,
        case.steps[-1].id,
        ZienswijzeRecord(received=True, summary="Exploitant erkent de overtreding en belooft beterschap."),
        version=case.version,
        request_id=None,
    )
    case = await _draft(
        conn,
        settings,
        drafter,
        case,
        type="besluit",
        decision="boete",
        amount_cents=FINE_CENTS,
        document_text=MOTIVERING,
        deviation_reason=DEVIATION,
    )
    case = await approval.approve_step(
        conn, approver, case.id, case.steps[-1].id, version=case.version, letters=letters_for(settings), request_id=None
    )
    return await _send(conn, settings, drafter, case)
