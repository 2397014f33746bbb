"""HTTP for enforcement (/api/v1/enforcement): cases, their proposal and steps, the deadlines view and the
approvals worklist. Lists carry what a worklist shows of each item (worklists.py).

Every change answers the whole case with its new ETag; one ETag (the case's version) guards the case and
its steps, so If-Match always carries the version last read of the case.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody

from backend.core import commands
from backend.core.auth import AuthRequest
from backend.core.commands import Command, Creation
from backend.core.db import Db
from backend.core.logging import request_id_of
from backend.core.pagination import PageRequest
from backend.core.routes import command_route, list_route, read_route
from backend.enforcement import (
    approval,
    bezwaar,
    cases,
    drafting,
    letter,
    outcomes,
    proposing,
    reading,
    sending,
    worklists,
)
from backend.enforcement.models import (
    ApprovalPage,
    BezwaarChange,
    Case,
    CaseClose,
    CaseFilters,
    CaseListPage,
    CaseMerge,
    CaseOpen,
    DeadlineQuery,
    DeadlineWorklist,
    LetterFilters,
    LetterToPostPage,
    Proposal,
    ReadyToSendPage,
    StepCreate,
    StepFilters,
    StepOutcome,
    StepPosted,
    StepSend,
    StepWithdraw,
    ZienswijzeRecord,
)
from backend.letters.service import Letters, letters_for

READERS = ("enforcement_officer", "admin")
OFFICERS = ("enforcement_officer",)
BASE = "/api/v1/enforcement"


def _case_url(case: Case) -> str:
    return f"{BASE}/cases/{case.id}"


def _located(case: Case) -> Response[Case]:
    """A command that adds to the case answers 201 with the case's Location."""
    return commands.with_etag(case, 201, _case_url(case))


def _letters(request: AuthRequest) -> Letters:
    return letters_for(request.app.state.settings)


class EnforcementController(Controller):
    path = BASE
    tags = ["Enforcement"]

    @list_route(
        "/cases",
        operation_id="ListEnforcementCases",
        summary="Cases of your regimes, newest first (keyset)",
        roles=READERS,
    )
    async def list_cases(self, request: AuthRequest, db: Db, filters: CaseFilters, page: PageRequest) -> CaseListPage:
        """Enforcement officers and admins, for the cases of their regimes (sex-work cases need the sexwork regime).
        Newest first, in pages (keyset `cursor`); filters by regime, status, open, establishment, location and wijk.
        Each case with its establishment's name and address (or the location's) and who opened it."""
        await worklists.check_wijk(db, filters.wijk)
        cases = await reading.list_cases(db, request.user, filters, page)
        return await worklists.case_page(db, request.user, cases, request_id=request_id_of(request))

    @command_route(
        "/cases",
        operation_id="OpenEnforcementCase",
        summary="Open a case by hand, with a reason",
        roles=OFFICERS,
        status_code=201,
    )
    async def open_case(self, data: JSONBody[CaseOpen], creation: Creation) -> Response[Case]:
        """Enforcement officers. Opens a case by hand for an establishment or location with a reason (a reviewed
        inspection with violations opens one by itself). 201 with Location and ETag; 409 when an open case of that
        target and regime exists."""
        return await creation.run(cases.open_case, data, location=_case_url)

    @read_route(
        "/cases/{case_id:uuid}",
        operation_id="GetEnforcementCase",
        summary="One case with its violations, steps, deadlines and status history; its ETag",
        roles=READERS,
    )
    async def get_case(self, request: AuthRequest, db: Db, case_id: FromPath[UUID]) -> Response[Case]:
        """Enforcement officers and admins who may see the case (404 otherwise). The case with its violations,
        steps, deadlines and status history; its ETag guards every change of the case and its steps."""
        return commands.with_etag(await reading.get_case(db, request.user, case_id, request_id=request_id_of(request)))

    @read_route(
        "/cases/{case_id:uuid}/proposal",
        operation_id="ProposeEnforcementStep",
        summary="The next step the sanction rules propose, and why",
        roles=READERS,
    )
    async def proposal(self, request: AuthRequest, db: Db, case_id: FromPath[UUID]) -> Proposal:
        """Enforcement officers and admins. The next step the sanction rules (schemas/sanctions) propose for the
        case, such as a warning, a fine with its amount or a last onder dwangsom, and the reasons (recidive, three
        strikes); an officer may deviate with a written reason."""
        return await proposing.get_proposal(db, request.user, case_id)

    @command_route(
        "/cases/{case_id:uuid}/close",
        operation_id="CloseEnforcementCase",
        summary="Close the case with a result and a reason; If-Match",
        roles=OFFICERS,
    )
    async def close(self, case_id: FromPath[UUID], data: JSONBody[CaseClose], command: Command) -> Response[Case]:
        """Enforcement officers. Closes the case with a result and a reason. If-Match (the case's ETag) is required:
        428 without it, 412 when stale; 409 `case_closed` when it is closed already."""
        return await command.run(cases.close_case, case_id, data)

    @command_route(
        "/cases/{case_id:uuid}/merge",
        operation_id="MergeEnforcementCases",
        summary="Merge another open case of the regime into this one; If-Match",
        roles=OFFICERS,
    )
    async def merge(self, case_id: FromPath[UUID], data: JSONBody[CaseMerge], command: Command) -> Response[Case]:
        """Enforcement officers. Merges another open case of the same regime that has no steps yet into this one.
        If-Match of this case is required: 428 without it, 412 when stale; 409 when the other case is closed or
        has steps."""
        return await command.run(cases.merge_cases, case_id, data)

    @command_route(
        "/cases/{case_id:uuid}/steps",
        operation_id="DraftEnforcementStep",
        summary="Draft a step (warning, voornemen, besluit, invordering) or register a bezwaar; If-Match",
        roles=OFFICERS,
        status_code=201,
    )
    async def draft_step(self, case_id: FromPath[UUID], data: JSONBody[StepCreate], command: Command) -> Response[Case]:
        """Enforcement officers. Drafts a step (warning, voornemen, besluit, invordering) or registers a bezwaar
        against a sent decision; a besluit needs approval by a second officer before it can be sent. If-Match of the
        case is required; 201 with the case."""
        letters = _letters(command.request)
        return await command.run(drafting.create_step, case_id, data, letters=letters, respond=_located)

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/approve",
        operation_id="ApproveEnforcementStep",
        summary="Approve a drafted decision as the second officer; If-Match",
        roles=OFFICERS,
    )
    async def approve(self, case_id: FromPath[UUID], step_id: FromPath[UUID], command: Command) -> Response[Case]:
        """Enforcement officers other than the drafter and the inspectors of its violations (vier-ogenprincipe; 403
        otherwise). Approves a drafted decision. If-Match of the case is required: 428 without it, 412 when stale."""
        return await command.run(approval.approve_step, case_id, step_id, letters=_letters(command.request))

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/send",
        operation_id="SendEnforcementStep",
        summary="Send a step on the day of sending (default today; a decision only once approved); final then; "
        "If-Match",
        roles=OFFICERS,
    )
    async def send(
        self, case_id: FromPath[UUID], step_id: FromPath[UUID], command: Command, data: JSONBody[StepSend | None] = None
    ) -> Response[Case]:
        """Enforcement officers. Records that the step was sent on a date; from then on it is final, and its legal
        terms (zienswijze, begunstigingstermijn, bezwaar) start. A decision must be approved first (409). If-Match
        of the case is required."""
        terms = command.request.app.state.settings.atw_authority_terms
        letters = _letters(command.request)
        return await command.run(
            sending.send_step, case_id, step_id, data or StepSend(), atw_terms=terms, letters=letters
        )

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/withdraw",
        operation_id="WithdrawEnforcementDecision",
        summary="Withdraw a sent decision, with a reason; it stays on record; If-Match",
        roles=OFFICERS,
    )
    async def withdraw(
        self, case_id: FromPath[UUID], step_id: FromPath[UUID], data: JSONBody[StepWithdraw], command: Command
    ) -> Response[Case]:
        """Enforcement officers. Withdraws a sent besluit (intrekking by the authority) on the day and with the
        reason given; the decision stays on record and a withdrawn boete no longer counts as recidive. 409 when
        the step is not a sent decision."""
        return await command.run(outcomes.withdraw_step, case_id, step_id, data)

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/posted",
        operation_id="RecordEnforcementLetterPosted",
        summary="Record that a sent letter marked for post was printed and posted, with the day; once; If-Match",
        roles=OFFICERS,
    )
    async def posted(
        self,
        case_id: FromPath[UUID],
        step_id: FromPath[UUID],
        command: Command,
        data: JSONBody[StepPosted | None] = None,
    ) -> Response[Case]:
        """Enforcement officers. Records once that the back office posted a sent letter marked for post, or whose
        e-mail failed for good, on the day given (default today; not before the day of sending). 409
        `not_for_post` for a letter the e-mail delivers, `already_posted` the second time, `step_withdrawn` for
        a decision withdrawn before it was posted."""
        return await command.run(sending.record_posted, case_id, step_id, data or StepPosted())

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/zienswijze",
        operation_id="RecordZienswijze",
        summary="Record the zienswijze on a sent voornemen (received, or not within the term); If-Match",
        roles=OFFICERS,
    )
    async def zienswijze(
        self, case_id: FromPath[UUID], step_id: FromPath[UUID], data: JSONBody[ZienswijzeRecord], command: Command
    ) -> Response[Case]:
        """Enforcement officers. Records on a sent voornemen that the zienswijze was received (with its content) or
        not within the term. If-Match of the case is required: 428 without it, 412 when stale."""
        return await command.run(outcomes.record_zienswijze, case_id, step_id, data)

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/outcome",
        operation_id="RecordEnforcementOutcome",
        summary="Record a hercontrole's outcome (complied / forfeited) or a bezwaar's decision; If-Match",
        roles=OFFICERS,
    )
    async def outcome(
        self, case_id: FromPath[UUID], step_id: FromPath[UUID], data: JSONBody[StepOutcome], command: Command
    ) -> Response[Case]:
        """Enforcement officers. Records a hercontrole's outcome (complied, or forfeited with the sum, never above
        the maximum) or the decision on a bezwaar. If-Match of the case is required: 428 without it, 412 when stale."""
        return await command.run(outcomes.record_outcome, case_id, step_id, data)

    @command_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/bezwaar-changes",
        operation_id="ChangeBezwaar",
        summary="Excuse a bezwaar's lateness or move its decision term (committee, extension, postponement with "
        "consent), with a reason; If-Match",
        roles=OFFICERS,
    )
    async def bezwaar_change(
        self, case_id: FromPath[UUID], step_id: FromPath[UUID], data: JSONBody[BezwaarChange], command: Command
    ) -> Response[Case]:
        """Enforcement officers. On a bezwaar step: excuses its lateness (Awb 6:11) or changes its decision term
        (advisory committee: 12 weeks; one extension by 6 weeks; postponement with the objector's consent, Awb
        7:10), each recorded with its reason. 409 when the change is not allowed (e.g. a second extension)."""
        return await command.run(bezwaar.change_bezwaar, case_id, step_id, data)

    @read_route(
        "/cases/{case_id:uuid}/steps/{step_id:uuid}/document",
        operation_id="GetEnforcementStepDocument",
        summary="The step's letter as PDF/A: the stored document once sent, a preview before; every read audited",
        roles=READERS,
        media_type="application/pdf",
    )
    async def document(
        self,
        request: AuthRequest,
        db: Db,
        case_id: FromPath[UUID],
        step_id: FromPath[UUID],
    ) -> Response[bytes]:
        """Enforcement officers and admins who may see the case. The letter of a warning, voornemen, besluit or
        invordering as a PDF/A download, ETag = its SHA-256: once sent, the document stored then (409
        `document_tampered` when it no longer matches its hash, never the changed bytes); before, a preview
        rendered now and dated today (422 naming what the letter lacks). Every read is audited."""
        pdf, sha = await letter.step_document(
            db, request.user, _letters(request), case_id, step_id, request_id=request_id_of(request)
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "ETag": f'"{sha}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="brief-{step_id}.pdf"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    @list_route(
        "/deadlines",
        operation_id="ListEnforcementDeadlines",
        summary="Deadlines expiring from today up to `until`, and those overdue",
        roles=READERS,
    )
    async def deadlines(self, request: AuthRequest, db: Db, query: DeadlineQuery) -> DeadlineWorklist:
        """Enforcement officers and admins. The legal deadlines of their regimes' cases that expire from today up to
        `until`, and those already overdue, earliest first; each with its case's wijk and the name and address of
        its establishment or location."""
        view = await reading.deadlines(db, request.user, query)
        return await worklists.deadline_worklist(db, request.user, view, request_id=request_id_of(request))

    @list_route(
        "/letters-to-post",
        operation_id="ListEnforcementLettersToPost",
        summary="Sent letters marked for post (or whose e-mail failed) not recorded as posted yet, oldest first",
        roles=OFFICERS,
    )
    async def letters_to_post(
        self, request: AuthRequest, db: Db, filters: LetterFilters, page: PageRequest
    ) -> LetterToPostPage:
        """Enforcement officers. The letters of their regimes' cases that were sent while marked for post (no e-mail
        address on record, no mail server, or sent on an earlier day), or whose e-mail failed for good, and that
        nobody recorded as posted; not a decision withdrawn before it was posted. Oldest sending first, in pages
        (keyset `cursor`); each with its case's ETag value (`case_version`, the If-Match of `posted`) and the
        target's name and address."""
        return await worklists.letters_to_post(db, request.user, filters, page, request_id=request_id_of(request))

    @list_route(
        "/approvals",
        operation_id="ListEnforcementApprovals",
        summary="Drafted decisions awaiting your approval as the second officer (never your own drafts)",
        roles=OFFICERS,
    )
    async def approvals(self, request: AuthRequest, db: Db, filters: StepFilters, page: PageRequest) -> ApprovalPage:
        """Enforcement officers. The drafted besluiten and invorderingen of open cases of their regimes that they may
        approve (vier-ogenprincipe): never their own drafts, nor decisions resting on a violation they inspected.
        Longest waiting first, in pages (keyset `cursor`); each with its case's ETag value (`case_version`, the
        If-Match of the approval), the target's name and address and the drafter's name."""
        return await worklists.approvals(db, request.user, filters, page, request_id=request_id_of(request))

    @list_route(
        "/ready-to-send",
        operation_id="ListEnforcementStepsReadyToSend",
        summary="Drafted warnings and voornemens and approved decisions not sent yet, longest waiting first",
        roles=OFFICERS,
    )
    async def ready_to_send(
        self, request: AuthRequest, db: Db, filters: StepFilters, page: PageRequest
    ) -> ReadyToSendPage:
        """Enforcement officers. The steps of open cases of their regimes that may be sent now and were not: a
        drafted warning or voornemen (no approval needed), or a besluit or invordering a second officer approved.
        Longest waiting first, in pages (keyset `cursor`); each with its case's ETag value (`case_version`, the
        If-Match of `send`), the target's name and address and the drafter's name. A step leaves the list when it
        is sent, or when its case closes."""
        return await worklists.ready_to_send(db, request.user, filters, page, request_id=request_id_of(request))
