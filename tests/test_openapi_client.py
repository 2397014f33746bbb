"""A client generated from the committed OpenAPI document works: openapi-python-client generates it without a
single warning (nothing dropped), and a phone's working day runs through it over HTTP: who am I, sync, submit an
inspection of the synced assignment, read it back."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest

from backend.core.config import PROJECT_ROOT
from tests.conftest import app_client
from tests.inspection_helpers import HORECA_OK, build_world, iso, plan

DOCUMENT = PROJECT_ROOT / "openapi" / "openapi.json"
PACKAGE = "toezicht_client"
# The generator has no models for binary bodies (photos, charts, letters, the CSV import, resumable upload parts); as
# bytes they are complete.
GENERATOR_CONFIG = {
    "project_name_override": PACKAGE,
    "package_name_override": PACKAGE,
    "content_type_overrides": dict.fromkeys(
        ("image/jpeg", "image/png", "image/webp", "text/csv", "application/pdf", "application/partial-upload"),
        "application/octet-stream",
    ),
    "post_hooks": [],
}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, str]]:
    """The client package generated once per run, importable, with what the generator printed."""
    root = tmp_path_factory.mktemp("generated-client")
    config = root / "config.json"
    config.write_text(json.dumps(GENERATOR_CONFIG), encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(DOCUMENT),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), run.stdout + run.stderr
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_client_is_generated_without_warnings(generated):
    _, output = generated
    assert "warning" not in output.lower(), output
    assert "Unable" not in output and "Cannot" not in output, output


def test_every_operation_has_a_function_in_the_generated_client(generated):
    package, _ = generated
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    missing = []
    for item in document["paths"].values():
        for operation in item.values():
            tag = operation["tags"][0].lower()
            module = _snake(operation["operationId"])
            try:
                importlib.import_module(f"{package.__name__}.api.{tag}.{module}")
            except ModuleNotFoundError:
                missing.append(operation["operationId"])
    assert missing == []


def _snake(pascal: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in pascal).lstrip("_")


async def test_a_phone_works_through_the_generated_client(generated, settings, auth):
    package, _ = generated
    api = _modules(
        package,
        "api.users.get_me",
        "api.sync.sync",
        "api.inspections.submit_inspection",
        "api.inspections.get_inspection",
        "models",
    )
    runner = app_client(settings)
    async with runner as back_office:
        world = await build_world(back_office, auth, users=("admin", "coord_a", "insp_a1", "insp_a2"))
        assignment = await plan(back_office, world)
        transport = httpx.ASGITransport(app=runner.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=world.h["insp_a1"]
        ) as http:
            phone = package.Client(base_url="http://testserver", raise_on_unexpected_status=True)
            phone.set_async_httpx_client(http)

            me = await api["api.users.get_me"].asyncio(client=phone)
            assert isinstance(me, api["models"].Me) and str(me.id) == world.ids["insp_a1"]

            page = await api["api.sync.sync"].asyncio(client=phone)
            assert isinstance(page, api["models"].SyncPage), page
            assert [str(a.id) for a in page.assignments] == [assignment["id"]]
            synced = page.assignments[0]
            assert {str(c.id) for c in page.checklist_versions} >= {str(v) for v in synced.checklist_version_ids}

            inspection_id = uuid.uuid4()
            body = api["models"].InspectionSubmission.from_dict(_submission(world, synced))
            stored = await api["api.inspections.submit_inspection"].asyncio(inspection_id, client=phone, body=body)
            assert isinstance(stored, api["models"].Inspection), stored
            assert str(stored.assignment_id) == assignment["id"]

            read = await api["api.inspections.get_inspection"].asyncio(inspection_id, client=phone)
            assert isinstance(read, api["models"].Inspection), read
            assert read.id == inspection_id and read.checklists[0].answers.to_dict() == HORECA_OK


def _modules(package: ModuleType, *names: str) -> dict[str, Any]:
    return {name: importlib.import_module(f"{package.__name__}.{name}") for name in names}


def _submission(world, assignment) -> dict[str, Any]:
    """The planned inspection as the phone fills it in: the synced assignment's object and checklist."""
    finished = datetime.now(UTC) - timedelta(minutes=5)
    return {
        "assignment_id": str(assignment.id),
        "object_id": str(assignment.object_id),
        "team_id": assignment.team_id,
        "checklists": [{"checklist_version_id": str(assignment.checklist_version_ids[0]), "answers": dict(HORECA_OK)}],
        "started_at": iso(finished - timedelta(minutes=30)),
        "finished_at": iso(finished),
        "inspector_ids": [world.ids["insp_a1"]],
    }
