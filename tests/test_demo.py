"""The demo data and what the README and `make run` say about it: the demo users as documented, every token
example minting a demo user's own claims (a token's claims update the stored user), the printed hint working
when pasted, and demo data that keeps the rules the API enforces."""

from __future__ import annotations

import re
import shlex
import uuid

import msgspec
import pytest

from backend import cli, demo, demo_case, demo_month
from backend.checklists import templates as checklist_templates
from backend.checklists.service import publish_directory as publish_checklists
from backend.complaints.reference import wijk_of_postcode
from backend.core.config import PROJECT_ROOT
from backend.letters import templates as letter_templates
from backend.letters.service import publish_directory as publish_letters
from backend.registry.models import ObjectWrite
from tests.conftest import AUDIENCE, ISSUER
from tests.helpers import run_toezicht
from tests.letter_helpers import pdf_text

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
TOKEN_LINE = re.compile(r"^\s*TOKEN=\$\((.*)\)\s*$")
CURL_LINE = re.compile(r"^\s*curl .*$")
CELL_VALUES = re.compile(r"`([^`]+)`")


def demo_claims(subject: str) -> dict[str, object]:
    _, sub, name, roles, regimes, teams = next(user for user in demo.DEMO_USERS if user[1] == subject)
    return {"sub": sub, "name": name, "roles": sorted(roles), "regimes": sorted(regimes), "teams": sorted(teams)}


def token_claims(command: str) -> dict[str, object]:
    """The claims a pasted `toezicht token` command asks for, as the CLI parses it."""
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/toezicht", command
    args = cli._parser().parse_args(argv[1:])
    return {
        "sub": args.sub,
        "name": args.name,
        "roles": sorted(args.role),
        "regimes": sorted(args.regime),
        "teams": sorted(args.team),
    }


def readme_examples() -> list[tuple[str, str]]:
    """(token command, curl line) of every example in the README."""
    lines = README.splitlines()
    examples = []
    for index, line in enumerate(lines):
        match = TOKEN_LINE.match(line)
        if match:
            assert CURL_LINE.match(lines[index + 1]), f"no curl after the token example: {line}"
            examples.append((match.group(1), lines[index + 1].strip()))
    return examples


def test_the_readme_lists_the_demo_users_with_their_roles_regimes_and_teams():
    table = README.split("| subject | name | roles | regimes | teams |", 1)[1].split("\n\n", 1)[0]
    documented = {}
    for row in table.strip().splitlines()[1:]:
        subject, name, roles, regimes, teams = (cell.strip() for cell in row.strip().strip("|").split("|"))
        documented[subject.strip("`")] = {
            "sub": subject.strip("`"),
            "name": name,
            "roles": sorted(CELL_VALUES.findall(roles)),
            "regimes": sorted(CELL_VALUES.findall(regimes)),
            "teams": sorted(CELL_VALUES.findall(teams)),
        }
    assert documented == {user[1]: demo_claims(user[1]) for user in demo.DEMO_USERS}


def test_every_token_example_in_the_readme_mints_a_demo_users_own_claims():
    examples = readme_examples()
    assert len(examples) >= 2
    for command, _ in examples:
        claims = token_claims(command)
        assert claims == demo_claims(str(claims["sub"])), command


@pytest.fixture
async def demo_loaded(db) -> None:
    await demo.load_demo_data(db, ISSUER)


@pytest.fixture
def cli_env(monkeypatch, data_dir) -> None:
    """The environment `toezicht token` runs in: the test app's issuer, audience and signing key."""
    monkeypatch.setenv("TOEZICHT_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("TOEZICHT_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("TOEZICHT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TOEZICHT_AUTH_MODE", "dev")


async def run_pasted(client, capsys, command: str, curl: str):
    """What a shell does with the two pasted lines: TOKEN=$(command), then the curl (its path on our app)."""
    capsys.readouterr()
    assert cli.main(shlex.split(command)[1:]) == 0
    token = capsys.readouterr().out.strip()
    argv = shlex.split(curl)
    assert argv[:2] == ["curl", "-H"] and argv[2] == "Authorization: Bearer $TOKEN", curl
    name, _, value = argv[2].replace("$TOKEN", token).partition(": ")
    path = re.sub(r"^https?://[^/]+", "", argv[3])
    return await client.get(path, headers={name: value})


async def stored_user(db, subject: str) -> dict:
    row = await db.fetchrow(
        "SELECT display_name, roles, regimes, teams, version FROM app_user WHERE subject = $1", subject
    )
    return dict(row)


async def test_the_hint_make_run_prints_works_when_pasted(client, db, capsys, cli_env, demo_loaded, settings):
    before = await stored_user(db, demo.DEMO_TOKEN_USER)
    capsys.readouterr()
    cli._print_banner(settings)
    banner = capsys.readouterr().err.splitlines()
    at = next(index for index, line in enumerate(banner) if TOKEN_LINE.match(line))
    response = await run_pasted(client, capsys, TOKEN_LINE.match(banner[at]).group(1), banner[at + 1].strip())
    assert response.status_code == 200, response.text
    me = response.json()
    claims = demo_claims(demo.DEMO_TOKEN_USER)
    assert (sorted(me["roles"]), sorted(me["regimes"]), sorted(me["teams"])) == (
        claims["roles"],
        claims["regimes"],
        claims["teams"],
    )
    assert await stored_user(db, demo.DEMO_TOKEN_USER) == before  # the demo user is as the demo made them


async def test_the_readme_examples_work_and_leave_the_demo_users_as_they_are(client, db, capsys, cli_env, demo_loaded):
    for command, curl in readme_examples():
        subject = str(token_claims(command)["sub"])
        before = await stored_user(db, subject)
        response = await run_pasted(client, capsys, command, curl)
        assert response.status_code == 200, (command, response.text)
        assert await stored_user(db, subject) == before, command


async def test_the_demo_data_keeps_the_rules(client, db, auth, demo_loaded):
    admin = auth(**{key: value for key, value in demo_claims("admin-hans").items() if key != "name"})
    objects = await client.get("/api/v1/objects", params={"limit": 200}, headers=admin)
    assert objects.status_code == 200, objects.text
    assert len(objects.json()["items"]) == len(demo.DEMO_ESTABLISHMENTS)
    for item in objects.json()["items"]:
        assert wijk_of_postcode(item["postcode"]) == item["wijk"], (item["name"], item["postcode"], item["wijk"])
        # Written back as it is, every object passes the registry's checks.
        current = await client.get(f"/api/v1/objects/{item['id']}", headers=admin)
        body = msgspec.to_builtins(
            msgspec.convert(
                {k: v for k, v in current.json().items() if k in ObjectWrite.__struct_fields__}, ObjectWrite
            )
        )
        replaced = await client.put(
            f"/api/v1/objects/{item['id']}", json=body, headers={**admin, "If-Match": current.headers["etag"]}
        )
        assert replaced.status_code == 200, (item["name"], replaced.text)
        permits = await client.get(f"/api/v1/objects/{item['id']}/permits", headers=admin)
        assert permits.status_code == 200, permits.text
    assert {uuid.UUID(p[1]) for p in demo.DEMO_PERMITS} <= {uuid.UUID(o["id"]) for o in objects.json()["items"]}


@pytest.fixture
async def demo_case_loaded(db, settings, demo_loaded) -> int:
    """What `toezicht demo` loads: the demo data, the shipped templates, then the demo case."""
    await publish_checklists(db, checklist_templates.DEFAULT_DIRECTORY)
    await publish_letters(db, letter_templates.DEFAULT_DIRECTORY)
    return await demo_case.load_demo_case(db, settings)


async def test_the_demo_has_a_case_with_a_sent_boete_whose_letter_downloads(client, auth, demo_case_loaded):
    assert demo_case_loaded == 1
    officer = auth(**{key: value for key, value in demo_claims("jur-frank").items() if key != "name"})
    cases = await client.get("/api/v1/enforcement/cases", headers=officer)
    assert cases.status_code == 200, cases.text
    [listed] = cases.json()["items"]
    case = (await client.get(f"/api/v1/enforcement/cases/{listed['id']}", headers=officer)).json()
    besluit = case["steps"][-1]
    assert (besluit["type"], besluit["decision"], besluit["amount_cents"]) == ("besluit", "boete", demo_case.FINE_CENTS)
    assert besluit["sent_on"] is not None and besluit["letter_sha256"] == besluit["approved_sha256"]
    response = await client.get(
        f"/api/v1/enforcement/cases/{case['id']}/steps/{besluit['id']}/document", headers=officer
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for part in ("Domtoren Horeca B.V.", "1.020,00", "bezwaar", "zes weken", "Eva Smit"):
        assert part in text, part


async def test_loading_the_demo_twice_adds_nothing(db, settings, demo_case_loaded):
    counts = [
        await db.fetchval(f"SELECT count(*) FROM {table}")  # constant table names
        for table in ("inspection", "enforcement_case", "enforcement_step", "audit_event")
    ]
    assert await demo.load_demo_data(db, ISSUER) == 0
    assert await demo_case.load_demo_case(db, settings) == 0
    assert [
        await db.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("inspection", "enforcement_case", "enforcement_step", "audit_event")
    ] == counts


async def test_toezicht_demo_in_a_process_of_its_own_builds_the_case_and_the_month(database_url, data_dir, db):
    """`make run` loads the demo before any app exists, so nothing may rely on what creating an app wires."""
    code, out = await run_toezicht(database_url, data_dir, "demo")
    assert code == 0, out
    sent = await db.fetchval(
        "SELECT count(*) FROM enforcement_step s JOIN enforcement_case_violation v ON v.case_id = s.case_id "
        "WHERE v.inspection_id = $1 AND s.type = 'besluit' AND s.decision = 'boete' AND s.sent_on IS NOT NULL",
        demo_case.DEMO_INSPECTION_ID,
    )
    assert sent == 1, out
    # The month follows, made through the API by an app of this process's own.
    month = [inspection.visit.id for inspection in demo_month.INSPECTED]
    assert await db.fetchval("SELECT count(*) FROM inspection WHERE id = ANY($1::uuid[])", month) == len(month), out
