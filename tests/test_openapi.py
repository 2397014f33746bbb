"""The OpenAPI document: committed copy up to date, and every endpoint fuzzed against it (schemathesis)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.transport.requests import binary_serializer

from backend.app import create_app
from backend.cli import openapi_document
from backend.complaints import reference as complaint_reference
from backend.complaints.models import ComplaintCreate
from backend.core.config import PROJECT_ROOT
from backend.core.errors import PROBLEM_JSON
from backend.enforcement.models import CaseOpen
from backend.inspections.models import InspectionSubmission
from backend.planning.models import AssignmentCreate
from backend.registry.models import AlcoholPermitWrite, LocationCreate, ObjectWrite, SuspendPermit
from tests.conftest import bearer, create_database, make_settings, with_database

ALL_ROLES = ["inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor"]
ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
EVERY_ROLE = "every_role"

# The appends of resumable photo uploads carry raw bytes under the draft's media type.
schemathesis.serializer("application/partial-upload")(binary_serializer)


def test_committed_openapi_is_current(settings):
    committed = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    generated = json.loads(openapi_document(settings))
    assert committed == generated, "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_openapi_declares_bearer_auth_and_operation_ids(settings):
    document = json.loads(openapi_document(settings))
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    operation_ids = [operation["operationId"] for path in document["paths"].values() for operation in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert all(op[0].isupper() for op in operation_ids), "operation ids are explicit PascalCase names"


def _document() -> dict:
    return json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_is_valid_openapi_3_1():
    errors = [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in OpenAPIV31SpecValidator(_document()).iter_errors()
    ]
    assert errors == []


def test_schema_names_are_the_struct_names():
    """Two structs of one name would be renamed after their modules (`registry_models_Location`), which client
    generators choke on; every component is named after its struct alone."""
    names = list(_document()["components"]["schemas"])
    assert [name for name in names if not name.isidentifier() or "_models_" in name or "_" in name] == []


def test_every_error_response_is_the_problem_the_server_sends():
    document = _document()
    wrong = [
        (method, path, status)
        for method, path, operation in _operations(document)
        for status, response in operation["responses"].items()
        if int(status) >= 400 and not _is_problem(response.get("content", {}))
    ]
    assert wrong == []
    assert all("400" in operation["responses"] for _, _, operation in _operations(document)), (
        "every operation can answer 400 (a malformed request)"
    )


def _is_problem(content: dict) -> bool:
    """Only problem+json, with the Problem schema (or one that extends it, like the import's report)."""
    return list(content) == [PROBLEM_JSON] and content[PROBLEM_JSON]["schema"].get("$ref", "").endswith("Problem")


def test_if_match_is_required_wherever_it_is_accepted():
    headers = [
        (path, parameter)
        for _, path, operation in _operations(_document())
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "If-Match"
    ]
    assert len(headers) > 20
    assert [path for path, parameter in headers if parameter["required"] is not True] == []
    for _, parameter in headers:
        pattern = re.compile(parameter["schema"]["pattern"])
        assert pattern.search('"12"') and pattern.search('W/"12"') and not pattern.search("12")


def test_idempotency_key_states_its_length_and_characters():
    keys = [
        parameter["schema"]
        for _, _, operation in _operations(_document())
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    ]
    assert keys and all(schema == keys[0] for schema in keys)
    pattern = re.compile(keys[0]["pattern"])
    assert pattern.fullmatch("k" * 255) and pattern.fullmatch("phone-7/retry:1")
    assert not pattern.fullmatch("k" * 256) and not pattern.fullmatch("") and not pattern.fullmatch("with space")


def test_every_201_names_the_created_resource_in_location():
    created = [
        (path, operation["responses"]["201"])
        for _, path, operation in _operations(_document())
        if "201" in operation["responses"]
    ]
    assert len(created) >= 10  # the nine creates and the resumable photo upload
    assert [path for path, response in created if "Location" not in response.get("headers", {})] == []


def test_every_response_header_has_a_schema():
    missing = [
        (path, status, name)
        for _, path, operation in _operations(_document())
        for status, response in operation["responses"].items()
        for name, header in response.get("headers", {}).items()
        if "schema" not in header
    ]
    assert missing == []


def test_json_request_bodies_refuse_unknown_fields_in_the_schema():
    """The server refuses unknown members (forbid_unknown_fields); the schema says so with additionalProperties."""
    document = _document()
    components = document["components"]["schemas"]
    open_bodies = []
    for method, path, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = content["application/json"]["schema"]
        for ref in [schema.get("$ref")] + [arm.get("$ref") for arm in schema.get("oneOf", [])]:
            if ref and components[ref.rsplit("/", 1)[1]].get("additionalProperties") is not False:
                open_bodies.append((method, path, ref))
    assert open_bodies == []


def test_every_operation_says_who_may_call_it_and_what_it_does():
    undescribed = [
        operation["operationId"]
        for _, _, operation in _operations(_document())
        if len(operation.get("description", "")) < 60
    ]
    assert undescribed == []


EXAMPLED = [
    ObjectWrite,
    LocationCreate,
    AlcoholPermitWrite,
    SuspendPermit,
    AssignmentCreate,
    InspectionSubmission,
    ComplaintCreate,
    CaseOpen,
]


@pytest.mark.parametrize("struct", EXAMPLED, ids=lambda struct: struct.__name__)
def test_main_request_bodies_show_an_example_the_server_accepts(struct):
    msgspec.convert(struct.example, struct)  # raises when the example breaks a constraint
    document = _document()
    assert document["components"]["schemas"][struct.__name__]["examples"] == [struct.example]
    schema = {"$ref": f"#/components/schemas/{struct.__name__}", "components": document["components"]}
    assert [error.message for error in OAS31Validator(schema).iter_errors(struct.example)] == []


def _enumerations(document: dict, name: str) -> list[list]:
    """The enum of every property and parameter called `name` (of its non-null arm when it is nullable)."""
    found = [
        schema
        for component in document["components"]["schemas"].values()
        for key, schema in component.get("properties", {}).items()
        if key == name
    ]
    found += [
        parameter["schema"]
        for _, _, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == name
    ]
    arms = [arm for schema in found for arm in schema.get("anyOf", [schema])]
    return [arm.get("enum", []) for arm in arms if arm != {"type": "null"}]


async def test_wijk_and_category_fields_enumerate_the_reference_data_the_server_checks(db):
    document = _document()
    wijken = sorted(row["code"] for row in await db.fetch("SELECT code FROM wijk"))
    wijk_fields = _enumerations(document, "wijk")
    input_fields = [values for values in wijk_fields if values]
    assert len(input_fields) >= 12 and all(sorted(values) == wijken for values in input_fields)
    categories = sorted(complaint_reference.categories())
    category_fields = [values for values in _enumerations(document, "category") if values]
    assert len(category_fields) >= 3 and all(sorted(values) == categories for values in category_fields)


@pytest.fixture(scope="module")
def fuzz_target(pg_server_url: str, template_url: str, data_dir: Path, make_token):
    """The app on its own database, and a token per role (all regimes) plus one with every role, so each
    endpoint is reached both by callers it refuses and by callers it serves."""
    name = asyncio.run(create_database(pg_server_url))
    app = create_app(make_settings(with_database(pg_server_url, name), data_dir))
    tokens = {
        role: make_token(f"fuzzer-{role}", roles=[role], regimes=ALL_REGIMES, teams=["team-fuzz"]) for role in ALL_ROLES
    }
    tokens[EVERY_ROLE] = make_token("fuzzer", roles=ALL_ROLES, regimes=ALL_REGIMES, teams=["team-fuzz"])
    return app, tokens


@pytest.fixture(scope="module")
def api_schema(fuzz_target):
    app, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


def _committed_operations() -> list[tuple[str, str]]:
    document = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


# Examples per operation and caller: the caller with every role gets the most, as it gets past the guards.
EXAMPLES = {EVERY_ROLE: 30, **dict.fromkeys(ALL_ROLES, 3)}


@pytest.mark.parametrize("caller", [EVERY_ROLE, *ALL_ROLES])
@pytest.mark.parametrize(("method", "path"), _committed_operations())
def test_api_conforms_to_its_schema(api_schema, fuzz_target, method, path, caller):
    """Generated requests (valid and invalid) by every role never produce a 500, and every response (status,
    headers, body) is one the document describes."""
    _, tokens = fuzz_target
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES[caller], deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case):
        # Random ids and versions cannot satisfy preconditions (If-Match, existing user), so "valid data must
        # be accepted" does not apply; every other check does.
        response = case.call_and_validate(headers=bearer(tokens[caller]), excluded_checks=[positive_data_acceptance])
        assert _refused_for_a_hidden_rule(response) == []

    check()


# A schema-valid request refused for one of these reasons means the document hides a rule the server enforces:
# a type, length, bound or field msgspec checks, NUL in a query string, a report date out of range, or a value the
# database cannot store. (Regex mismatches are left out: JSON Schema and Python differ on what `\s` matches.)
_HIDDEN_RULE = re.compile(
    r"^(Expected `(?!.*matching regex)|Object contains unknown field|must not contain NUL|"
    r"must be between)"
)


def _refused_for_a_hidden_rule(response) -> list:
    if response.status_code != 422:
        return []
    body = response.json()
    if body["code"] == "invalid_value":
        return [body["detail"]]
    return [error for error in body.get("errors") or [] if _HIDDEN_RULE.search(error["detail"])]
