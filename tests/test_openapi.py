"""The OpenAPI document: committed copy up to date, and every endpoint fuzzed against it (schemathesis)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.transport.requests import binary_serializer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from backend.app import create_app
from backend.cli import openapi_document
from backend.core.config import PROJECT_ROOT
from tests.conftest import bearer, create_database, make_settings, with_database

ALL_ROLES = ["inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor"]
ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]

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
    operation_ids = [
        operation["operationId"] for path in document["paths"].values() for operation in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    assert all(op[0].isupper() for op in operation_ids), "operation ids are explicit PascalCase names"


@pytest.fixture(scope="module")
def fuzz_target(pg_server_url: str, template_url: str, data_dir: Path, make_token):
    """The app on its own database, and a token with every role and regime so each endpoint is reachable."""
    name = asyncio.run(create_database(pg_server_url))
    app = create_app(make_settings(with_database(pg_server_url, name), data_dir))
    token = make_token("fuzzer", roles=ALL_ROLES, regimes=ALL_REGIMES, teams=["team-fuzz"])
    return app, token


@pytest.fixture(scope="module")
def api_schema(fuzz_target):
    app, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


def _committed_operations() -> list[tuple[str, str]]:
    document = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


@pytest.mark.parametrize(("method", "path"), _committed_operations())
def test_api_conforms_to_its_schema(api_schema, fuzz_target, method, path):
    """Generated requests (valid and invalid) never produce a 500 and every response matches the schema."""
    _, token = fuzz_target
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        # Random ids and versions cannot satisfy preconditions (If-Match, existing user), so "valid data must
        # be accepted" does not apply; every other check does.
        case.call_and_validate(headers=bearer(token), excluded_checks=[positive_data_acceptance])

    check()
