"""Who may call what: one table of every operation and the roles let in (ROLE_MATRIX). Tests check that the
table covers every operation of the OpenAPI document, that the service lets in exactly those roles (403
`forbidden` for every other role, through HTTP), and that the README's endpoint table names the same roles.

The table holds the role check of each operation; which objects a caller may then see (teams, regimes, sex
work, their own records) is checked per object and tested with each feature."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from backend.core.config import PROJECT_ROOT

ROLES = ("inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor")
ANY_USER = ROLES
PUBLIC = None  # no token needed
EVIDENCE = ("enforcement_officer", "auditor")
PLANNERS = ("coordinator", "admin")
HANDLERS = ("complaints_officer", "admin")
ENFORCERS = ("enforcement_officer",)
ENFORCEMENT_READERS = ("enforcement_officer", "admin")
AUDITORS = ("auditor", "admin")
REPORT_READERS = ("coordinator", "admin", "auditor", "enforcement_officer")

ROLE_MATRIX: dict[str, tuple[str, ...] | None] = {
    "GetLiveness": PUBLIC,
    "GetReadiness": PUBLIC,
    "GetMe": ANY_USER,
    "ListUsers": PLANNERS,
    "GetUser": PLANNERS,
    "ActivateUser": ("admin",),
    "DeactivateUser": ("admin",),
    "ListAuditEvents": AUDITORS,
    "ExportReads": AUDITORS,
    "SearchObjects": ANY_USER,
    "CreateObject": PLANNERS,
    "ImportObjects": PLANNERS,
    "GetObject": ANY_USER,
    "ReplaceObject": PLANNERS,
    "GetObjectAddressee": ANY_USER,
    "SetObjectAddressee": ("coordinator", "enforcement_officer", "admin"),
    "ListObjectPermits": ANY_USER,
    "CreatePermit": PLANNERS,
    "GetPermit": ANY_USER,
    "ReplacePermit": PLANNERS,
    "SuspendPermit": PLANNERS,
    "WithdrawPermit": PLANNERS,
    "ReinstatePermit": PLANNERS,
    "CreateLocation": ("inspector", "coordinator", "complaints_officer", "admin"),
    "GetLocation": ANY_USER,
    "ListChecklists": ANY_USER,
    "GetChecklistVersion": ANY_USER,
    "PublishChecklist": ("admin",),
    "CreateAssignment": PLANNERS,
    "ListAssignments": ANY_USER,
    "GetAssignment": ANY_USER,
    "ReassignAssignment": PLANNERS,
    "RescheduleAssignment": PLANNERS,
    "CancelAssignment": PLANNERS,
    "SubmitInspection": ("inspector",),
    "ListInspections": ANY_USER,
    "GetInspection": ANY_USER,
    "ListInspectionRevisions": ANY_USER,
    "ReviewInspection": PLANNERS,
    "ReturnInspection": PLANNERS,
    "ListViolations": ANY_USER,
    "Sync": ("inspector",),
    "UploadPhoto": ANY_USER,
    "GetPhotoThumbnail": ANY_USER,
    "GetPhotoDisplay": ANY_USER,
    "DownloadPhotoOriginal": EVIDENCE,
    "GetPhotoUploadOffset": ANY_USER,
    "AppendPhotoUpload": ANY_USER,
    "CancelPhotoUpload": ANY_USER,
    "ListEnforcementCases": ENFORCEMENT_READERS,
    "GetEnforcementCase": ENFORCEMENT_READERS,
    "OpenEnforcementCase": ENFORCERS,
    "CloseEnforcementCase": ENFORCERS,
    "MergeEnforcementCases": ENFORCERS,
    "ProposeEnforcementStep": ENFORCEMENT_READERS,
    "DraftEnforcementStep": ENFORCERS,
    "ApproveEnforcementStep": ENFORCERS,
    "SendEnforcementStep": ENFORCERS,
    "GetEnforcementStepDocument": ENFORCEMENT_READERS,
    "RecordZienswijze": ENFORCERS,
    "RecordEnforcementOutcome": ENFORCERS,
    "WithdrawEnforcementDecision": ENFORCERS,
    "RecordEnforcementLetterPosted": ENFORCERS,
    "ChangeBezwaar": ENFORCERS,
    "ListEnforcementDeadlines": ENFORCEMENT_READERS,
    "ListEnforcementApprovals": ENFORCERS,
    "ListEnforcementStepsReadyToSend": ENFORCERS,
    "ListEnforcementLettersToPost": ENFORCERS,
    "CreateComplaint": HANDLERS,
    "ListComplaints": ANY_USER,
    "GetComplaint": ANY_USER,
    "TransitionComplaint": HANDLERS,
    "AssignComplaintHandler": HANDLERS,
    "PlanComplaintInspection": PLANNERS,
    "ListComplaintDeadlines": HANDLERS,
    "ListComplaintReportersToInform": HANDLERS,
    "RecordComplaintReporterInformed": HANDLERS,
    "ListComplaintHotSpots": ("coordinator", "complaints_officer", "admin"),
    "SuggestComplaintObjects": HANDLERS,
    "ListComplaintCategories": ANY_USER,
    "GetIndicators": REPORT_READERS,
    "GetIndicatorTrend": REPORT_READERS,
    "GetComplianceChart": REPORT_READERS,
    "GetTrendChart": REPORT_READERS,
    "CreateSubscription": ("admin",),
    "ListSubscriptions": ("admin",),
    "GetSubscription": ("admin",),
    "DeleteSubscription": ("admin",),
    "RotateSubscriptionSecret": ("admin",),
    "ListOutboxMessages": ("admin",),
    "GetOutboxMessage": ("admin",),
    "ReplayOutboxMessage": ("admin",),
}
# Bodies that get an allowed caller past the media-type check to the handler (which then refuses them).
BODY_TYPES = {"ImportObjects": "text/csv", "UploadPhoto": "image/jpeg"}


def operations() -> dict[str, tuple[str, str]]:
    """operationId -> (method, path template) from the committed OpenAPI document."""
    doc = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    return {
        op["operationId"]: (method.upper(), path) for path, item in doc["paths"].items() for method, op in item.items()
    }


def test_every_operation_of_the_openapi_document_is_in_the_role_matrix():
    assert sorted(operations()) == sorted(ROLE_MATRIX)


async def call(client, operation_id: str, headers: dict[str, str]):
    method, template = operations()[operation_id]
    path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
    if method in ("GET", "DELETE"):
        return await client.request(method, path, headers=headers)
    media_type = BODY_TYPES.get(operation_id, "application/json")
    body = b"{}" if media_type == "application/json" else b"x"
    return await client.request(method, path, content=body, headers={**headers, "Content-Type": media_type})


def refused_for_role(response) -> bool:
    return response.status_code == 403 and response.json()["code"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
async def test_the_service_lets_in_exactly_the_roles_of_the_matrix(client, auth, role):
    headers = auth(
        f"role-{role}",
        roles=[role],
        regimes=["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"],
        teams=["team-a"],
    )
    wrong = {}
    for operation_id, allowed in ROLE_MATRIX.items():
        if allowed is PUBLIC:
            continue
        response = await call(client, operation_id, headers)
        assert response.status_code != 500, (operation_id, response.text)
        if refused_for_role(response) == (role in allowed):
            wrong[operation_id] = response.status_code
    assert wrong == {}, f"{role}: status per operation where the matrix says otherwise"


async def test_public_operations_need_no_token_and_the_others_do(client):
    for operation_id, allowed in ROLE_MATRIX.items():
        response = await call(client, operation_id, {})
        if allowed is PUBLIC:
            assert response.status_code in (200, 503), operation_id
        else:
            assert response.status_code == 401, operation_id


# --- the README's endpoint table -------------------------------------------------------------------------------

ENDPOINT = re.compile(r"`(GET|HEAD|POST|PUT|DELETE|PATCH) (/[^`?\s]*)[^`]*`")
ROLE_NAME = re.compile(r"`([a-z_]+)`")


def readme_endpoint_rows() -> list[tuple[list[tuple[str, str]], str]]:
    """(endpoints, roles cell) of each row of the README's "Endpoints" table."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Endpoints", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and ENDPOINT.search(cells[0]):
            rows.append((ENDPOINT.findall(cells[0]), cells[1]))
    return rows


def roles_of_cell(cell: str) -> tuple[str, ...] | None:
    if cell.startswith("anyone"):
        return PUBLIC
    if cell.startswith("any user"):
        return ANY_USER
    return tuple(ROLE_NAME.findall(cell))


def test_the_readme_endpoint_table_names_every_operation_with_the_roles_of_the_matrix():
    by_endpoint = {endpoint: operation_id for operation_id, endpoint in operations().items()}
    documented: dict[str, tuple[str, ...] | None] = {}
    for endpoints, cell in readme_endpoint_rows():
        for endpoint in endpoints:
            assert endpoint in by_endpoint, f"the README names {endpoint}, which the service does not have"
            operation_id = by_endpoint[endpoint]
            assert operation_id not in documented, f"{endpoint} is in the README twice"
            documented[operation_id] = roles_of_cell(cell)
    assert sorted(documented) == sorted(ROLE_MATRIX), "operations missing from the README's endpoint table"
    differs = {
        op: (documented[op], ROLE_MATRIX[op])
        for op in ROLE_MATRIX
        if (documented[op] is None) != (ROLE_MATRIX[op] is None)
        or set(documented[op] or ()) != set(ROLE_MATRIX[op] or ())
    }
    assert differs == {}, "README roles (left) differ from the matrix (right)"
