"""Checklist templates: the shipped files, publishing (CLI and API) with immutable versions, and phones
fetching the current versions with ETag/304 within their regimes."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from backend.checklists import templates
from backend.checklists.validator import iter_items
from backend.core.publishing import content_sha256
from tests.helpers import assert_problem, register, run_toezicht

FILES = sorted(templates.DEFAULT_DIRECTORY.glob("*.json"))
ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
URL = "/api/v1/checklists"


def document(key: str) -> dict:
    """A shipped template file as JSON (with its $schema hint), fresh for each use."""
    return json.loads((templates.DEFAULT_DIRECTORY / f"{key}.json").read_text(encoding="utf-8"))


def pointer_of(doc: dict, key: str) -> str:
    return next(at for at, item in iter_items(doc) if item["key"] == key)


def question(doc: dict, key: str) -> dict:
    return next(item for _, item in iter_items(doc) if item["key"] == key)


async def stored(db) -> dict:
    """Everything publishing writes, to show that a refused publication wrote nothing."""
    return {
        "templates": await db.fetchval("SELECT count(*) FROM checklist_template"),
        "versions": await db.fetchval("SELECT count(*) FROM checklist_version"),
        "events": await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'checklist.published'"),
    }


@pytest.fixture
def admin(auth):
    return auth("admin-1", roles=["admin"], regimes=ALL_REGIMES)


async def publish(client, headers, doc: dict, **kwargs):
    return await client.post(URL, headers={**headers, **kwargs.pop("extra_headers", {})}, json=doc, **kwargs)


async def publish_all(client, headers) -> dict[str, dict]:
    published = {}
    for path in FILES:
        response = await publish(client, headers, document(path.stem))
        assert response.status_code == 201, response.text
        published[path.stem] = response.json()
    return published


# --- the shipped files ----------------------------------------------------------------------------------


def test_shipped_templates_cover_every_regime_and_every_research_item():
    contents = {path.stem: templates.check_template(templates.load_file(path)) for path in FILES}
    assert set(contents) == {
        "alcohol-horeca",
        "alcohol-shop",
        "alcohol-paracommercie",
        "nix18-purchase-attempt",
        "coffeeshop",
        "sexwork-establishment",
        "illegal-prostitution",
        "gambling-machines",
        "gambling-arcade",
        "ondermijning-signals",
    }
    assert {path.stem: content["key"] for path, content in zip(FILES, contents.values(), strict=True)} == {
        k: k for k in contents
    }
    assert {c["regime"] for c in contents.values()} == {*ALL_REGIMES, "any"}
    assert contents["ondermijning-signals"]["kind"] == "addon"
    keys = {item["key"] for c in contents.values() for _, item in iter_items(c)}
    research = (
        [f"AW-{n:02}" for n in range(1, 17)]
        + [f"NX-{n:02}" for n in range(1, 7)]
        + [f"CS-{n:02}" for n in range(1, 11)]
        + [f"SX-{n:02}" for n in range(1, 12)]
        + [f"KS-{n:02}" for n in range(1, 9)]
        + [f"OM-{n:02}" for n in range(1, 9)]
    )
    covered = {
        key for key in research if any(k == key or (k.startswith(key) and k[len(key) :].isalpha()) for k in keys)
    }
    assert sorted(set(research) - covered) == []
    for content in contents.values():
        assert content["sources"] and content["valid_from"]


def test_sexwork_templates_hold_no_free_text_and_nix18_no_document_numbers():
    for key in ("sexwork-establishment", "illegal-prostitution"):
        for _, item in iter_items(document(key)):
            assert item["answer"]["type"] != "text" or "pattern" in item["answer"], item["key"]
    doc = document("sexwork-establishment")
    question(doc, "SX-10")["answer"] = {"type": "text"}  # an open remark would be refused
    with pytest.raises(templates.TemplateInvalid, match="no free-form text"):
        templates.check_template(doc)
    texts = [item for _, item in iter_items(document("nix18-purchase-attempt")) if item["answer"]["type"] == "text"]
    assert all("documentnummer" in item["help"] for item in texts)


def small_template(*items: dict) -> dict:
    return {
        "key": "small",
        "regime": "alcohol",
        "kind": "inspection",
        "title": "Klein",
        "valid_from": "2025-01-01",
        "sources": [{"title": "test"}],
        "sections": [{"key": "s", "title": "S", "items": list(items)}],
    }


def yes_no(key: str, **extra) -> dict:
    return {
        "key": key,
        "question": "?",
        "legal_basis": [{"law": "Testwet", "article": "1"}],
        "answer": {"type": "yes_no_na"},
        "required": True,
        **extra,
    }


def violation(when: dict, **extra) -> dict:
    return {
        "when": when,
        "code": "T-1",
        "article": {"law": "Testwet", "article": "1"},
        "severity": "minor",
        "description": "x",
        **extra,
    }


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        (
            [yes_no("A", shown_when={"key": "A", "equals": "yes"})],
            ("/sections/0/items/0/shown_when", "shown_when conditions form a cycle: A -> A"),
        ),
        (
            [
                yes_no("A"),
                yes_no("B", shown_when={"key": "D", "answered": True}),
                yes_no("C", shown_when={"key": "B", "equals": "no"}),
                yes_no("D", shown_when={"all": [{"key": "A", "equals": "yes"}, {"not": {"key": "C", "in": ["na"]}}]}),
                yes_no("E", shown_when={"key": "C", "equals": "yes"}),
            ],
            ("/sections/0/items/1/shown_when", "shown_when conditions form a cycle: B -> D -> C -> B"),
        ),
        (
            [yes_no("A", violations=[violation({"equals": "no"}, only_if={"key": "Z", "equals": "yes"})])],
            (
                "/sections/0/items/0/violations/0/only_if/key",
                "question A: condition refers to Z, which is not a question",
            ),
        ),
        (
            [yes_no("A", violations=[violation({"greater_than": 1})])],
            ("/sections/0/items/0/violations/0/when", "question A: greater_than needs a number or count question"),
        ),
        (
            [yes_no("A"), yes_no("B", shown_when={"key": "A", "in": ["yes", "maybe"]})],
            (
                "/sections/0/items/1/shown_when",
                "question B: condition on A compares with 'maybe', which is not a valid answer",
            ),
        ),
        (
            [yes_no("A", answer={"type": "text"}, violations=[violation({"equals": "x"})])],
            ("/sections/0/items/0/violations/0", "question A: a text answer cannot be a violation"),
        ),
        (
            [yes_no("A", evidence={"photo": "on_violation"})],
            ("/sections/0/items/0/evidence", "question A requires a photo on violation but has no violation rules"),
        ),
        (
            [yes_no("A", answer={"type": "number", "minimum": 5, "maximum": 1})],
            ("/sections/0/items/0/answer", "question A: minimum is above maximum"),
        ),
        (
            [yes_no("A", answer={"type": "text", "pattern": "(["})],
            ("/sections/0/items/0/answer/pattern", "question A: pattern does not compile"),
        ),
    ],
)
def test_template_rules_beyond_the_schema_name_the_question_and_the_problem(items, problem):
    with pytest.raises(templates.TemplateInvalid) as refused:
        templates.check_template(small_template(*items))
    assert [(p.pointer, p.detail[: len(problem[1])]) for p in refused.value.problems] == [problem]


# --- publishing through the API -------------------------------------------------------------------------


async def test_admin_publishes_version_1_then_the_same_content_is_unchanged(client, admin, db):
    first = await publish(client, admin, document("alcohol-horeca"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["key"], body["version"], body["regime"], body["kind"]) == (
        "alcohol-horeca",
        1,
        "alcohol",
        "inspection",
    )
    assert first.headers["etag"] == f'"{body["content_sha256"]}"'
    assert first.headers["location"] == f"{URL}/{body['id']}"
    assert "$schema" not in body["content"] and body["content"]["key"] == "alcohol-horeca"
    assert body["published_by"] == str(await register(client, admin))
    event = await db.fetchrow("SELECT * FROM audit_event WHERE action = 'checklist.published'")
    assert (event["object_type"], event["object_id"], event["actor_id"]) == (
        "checklist_template",
        "alcohol-horeca",
        uuid.UUID(body["published_by"]),
    )
    assert event["after"] == {"version_id": body["id"], "version": 1, "content_sha256": body["content_sha256"]}

    reformatted = json.loads(json.dumps(document("alcohol-horeca"), indent=1, sort_keys=True))
    del reformatted["$schema"]  # the editor hint is not content
    again = await publish(client, admin, reformatted)
    assert again.status_code == 200, again.text
    assert again.json() == body
    assert await stored(db) == {"templates": 1, "versions": 1, "events": 1}


async def test_changed_content_becomes_version_2_and_version_1_stays_as_it_was(client, admin, db):
    v1 = (await publish(client, admin, document("coffeeshop"))).json()
    doc = document("coffeeshop")
    question(doc, "CS-07")["violations"][0]["when"] = {"greater_than": 250}
    response = await publish(client, admin, doc)
    assert response.status_code == 201, response.text
    v2 = response.json()
    assert (v2["version"], v2["key"]) == (2, "coffeeshop") and v2["id"] != v1["id"]
    assert v2["content_sha256"] != v1["content_sha256"]

    old = await client.get(f"{URL}/{v1['id']}", headers=admin)
    assert old.status_code == 200
    assert old.json() == v1
    assert question(old.json()["content"], "CS-07")["violations"][0]["when"] == {"greater_than": 500}
    assert old.headers["etag"] == f'"{v1["content_sha256"]}"'
    listed = (await client.get(URL, headers=admin)).json()["items"]
    assert [(c["key"], c["version"], c["id"]) for c in listed] == [("coffeeshop", 2, v2["id"])]
    assert await stored(db) == {"templates": 1, "versions": 2, "events": 2}


async def test_a_question_that_changes_type_is_refused_and_nothing_is_stored(client, admin, db):
    await publish(client, admin, document("alcohol-horeca"))
    before = await stored(db)
    doc = document("alcohol-horeca")
    question(doc, "AW-03")["answer"] = {"type": "count"}
    del question(doc, "AW-03")["violations"]
    question(doc, "AW-04")["shown_when"] = {"key": "AW-03", "answered": True}
    question(doc, "AW-05")["shown_when"] = {"key": "AW-03", "answered": True}
    response = await publish(client, admin, doc)
    body = assert_problem(response, 422, "question_type_changed")
    assert body["errors"] == [
        {
            "pointer": pointer_of(doc, "AW-03") + "/answer/type",
            "detail": "question AW-03 has type yes_no_na in version 1; it cannot become count",
        }
    ]
    assert await stored(db) == before


async def test_a_key_keeps_its_type_even_after_a_version_without_it(client, admin, db):
    doc = document("gambling-machines")
    assert (await publish(client, admin, doc)).status_code == 201
    without = copy.deepcopy(doc)
    without["sections"][0]["items"] = [i for i in without["sections"][0]["items"] if i["key"] != "KS-99"]
    assert (await publish(client, admin, without)).status_code == 201
    question(doc, "KS-99")["answer"] = {"type": "date"}
    body = assert_problem(await publish(client, admin, doc), 422, "question_type_changed")
    assert "KS-99 has type text in version 1" in body["errors"][0]["detail"]
    assert await stored(db) == {"templates": 1, "versions": 2, "events": 2}


def _schema_break(doc: dict) -> str:
    question(doc, "CS-02")["answer"]["type"] = "maybe"
    return pointer_of(doc, "CS-02") + "/answer/type"


def _missing_key(doc: dict) -> str:
    question(doc, "CS-04a")["shown_when"] = {"key": "CS-404", "equals": "yes"}
    return pointer_of(doc, "CS-04a") + "/shown_when/key"


def _cycle(doc: dict) -> str:
    question(doc, "CS-04")["shown_when"] = {
        "any": [{"key": "CS-04a", "answered": False}, {"key": "CS-05", "equals": "no"}]
    }
    question(doc, "CS-05")["shown_when"] = {"key": "CS-04", "equals": "yes"}
    return pointer_of(doc, "CS-04") + "/shown_when"


def _bad_violation_answer(doc: dict) -> str:
    question(doc, "CS-09")["violations"][0]["when"] = {"equals": "ja"}
    return pointer_of(doc, "CS-09") + "/violations/0/when"


def _duplicate_option(doc: dict) -> str:
    question(doc, "CS-04a")["answer"]["options"][1]["value"] = "geluid"
    return pointer_of(doc, "CS-04a") + "/answer/options"


def _duplicate_key(doc: dict) -> str:
    question(doc, "CS-10")["key"] = "CS-01"
    return pointer_of(doc, "CS-01").replace("items/0", "items/2") + "/key"


@pytest.mark.parametrize(
    ("breaks", "says"),
    [
        (_schema_break, "is not one of"),
        (_missing_key, "question CS-04a: condition refers to CS-404, which is not a question of this template"),
        (_cycle, "shown_when conditions form a cycle: CS-04 -> CS-04a -> CS-04"),
        (_bad_violation_answer, "question CS-09: violation answer 'ja' is not a valid answer"),
        (_duplicate_option, "question CS-04a: option geluid appears more than once"),
        (_duplicate_key, "question key CS-01 is also used at /sections/0/items/0"),
    ],
)
async def test_an_invalid_template_is_refused_with_a_pointer_and_nothing_is_stored(client, admin, db, breaks, says):
    doc = document("coffeeshop")
    where = breaks(doc)
    body = assert_problem(await publish(client, admin, doc), 422, "checklist_invalid")
    assert any(e["pointer"] == where and says in e["detail"] for e in body["errors"]), body["errors"]
    assert await stored(db) == {"templates": 0, "versions": 0, "events": 0}


async def test_a_template_cannot_move_to_another_regime(client, admin, db):
    await publish(client, admin, document("gambling-arcade"))
    doc = document("gambling-arcade") | {"regime": "alcohol"}
    body = assert_problem(await publish(client, admin, doc), 422, "regime_changed")
    assert body["errors"] == [{"pointer": "/regime", "detail": "must stay gambling"}]
    assert await stored(db) == {"templates": 1, "versions": 1, "events": 1}


async def test_only_admins_publish(client, auth, db):
    for roles in (["inspector"], ["coordinator"], ["enforcement_officer", "auditor"]):
        headers = auth("someone", roles=roles, regimes=ALL_REGIMES)
        assert_problem(await publish(client, headers, document("coffeeshop")), 403, "forbidden")
    assert_problem(await client.post(URL, json=document("coffeeshop")), 401, "token_missing")
    assert await stored(db) == {"templates": 0, "versions": 0, "events": 0}


async def test_publishing_with_an_idempotency_key_replays_the_response(client, admin, db):
    key = {"Idempotency-Key": "publish-coffeeshop-1"}
    first = await publish(client, admin, document("coffeeshop"), extra_headers=key)
    again = await publish(client, admin, document("coffeeshop"), extra_headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await stored(db) == {"templates": 1, "versions": 1, "events": 1}


async def test_published_versions_cannot_be_changed_or_deleted_in_the_database(client, admin, db):
    version = (await publish(client, admin, document("coffeeshop"))).json()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="immutable"):
        await db.execute("UPDATE checklist_version SET title = 'x' WHERE id = $1", uuid.UUID(version["id"]))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="immutable"):
        await db.execute("DELETE FROM checklist_version WHERE id = $1", uuid.UUID(version["id"]))
    assert (await client.get(f"{URL}/{version['id']}", headers=admin)).json() == version


# --- phones fetching ------------------------------------------------------------------------------------


async def test_the_list_shows_the_callers_regimes_and_the_addon_with_etag_and_304(client, admin, auth):
    published = await publish_all(client, admin)
    inspector = auth("insp-1", roles=["inspector"], regimes=["alcohol", "gambling"])
    response = await client.get(URL, headers=inspector)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["key"] for item in items] == [
        "alcohol-horeca",
        "alcohol-paracommercie",
        "alcohol-shop",
        "gambling-arcade",
        "gambling-machines",
        "ondermijning-signals",
    ]
    horeca = published["alcohol-horeca"]
    assert items[0] == {
        k: horeca[k]
        for k in ("id", "key", "regime", "kind", "version", "title", "valid_from", "published_at", "content_sha256")
    }
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == "private, no-cache"

    not_modified = await client.get(URL, headers={**inspector, "If-None-Match": etag})
    assert (not_modified.status_code, not_modified.content, not_modified.headers["etag"]) == (304, b"", etag)
    weak = await client.get(URL, headers={**inspector, "If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304

    sexwork = auth("insp-2", roles=["inspector"], regimes=["sexwork"])
    other = await client.get(URL, headers=sexwork)
    assert [item["key"] for item in other.json()["items"]] == [
        "illegal-prostitution",
        "ondermijning-signals",
        "sexwork-establishment",
    ]
    assert other.headers["etag"] != etag
    assert (await client.get(URL, headers={**sexwork, "If-None-Match": etag})).status_code == 200

    doc = document("alcohol-shop")
    doc["title"] += " (bijgewerkt)"
    assert (await publish(client, admin, doc)).status_code == 201
    changed = await client.get(URL, headers={**inspector, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert [(i["key"], i["version"]) for i in changed.json()["items"] if i["key"] == "alcohol-shop"] == [
        ("alcohol-shop", 2)
    ]


async def test_one_version_with_its_content_hash_as_etag(client, admin, auth):
    published = await publish_all(client, admin)
    nix18 = published["nix18-purchase-attempt"]
    inspector = auth("insp-1", roles=["inspector"], regimes=["nix18"])
    response = await client.get(f"{URL}/{nix18['id']}", headers=inspector)
    assert response.status_code == 200
    assert response.json() == nix18
    assert response.json()["content"] == templates.check_template(document("nix18-purchase-attempt"))
    assert response.headers["etag"] == f'"{content_sha256(response.json()["content"])}"'
    assert "immutable" in response.headers["cache-control"]
    for header in (response.headers["etag"], f"W/{response.headers['etag']}", "*"):
        cached = await client.get(f"{URL}/{nix18['id']}", headers={**inspector, "If-None-Match": header})
        assert (cached.status_code, cached.content) == (304, b"")
    assert (
        await client.get(f"{URL}/{nix18['id']}", headers={**inspector, "If-None-Match": '"stale"'})
    ).status_code == 200
    addon = await client.get(f"{URL}/{published['ondermijning-signals']['id']}", headers=inspector)
    assert addon.status_code == 200


async def test_a_version_outside_the_callers_regimes_is_not_found(client, admin, auth):
    published = await publish_all(client, admin)
    inspector = auth("insp-1", roles=["inspector"], regimes=["alcohol", "nix18", "coffeeshop", "gambling"])
    hidden = await client.get(f"{URL}/{published['sexwork-establishment']['id']}", headers=inspector)
    missing = await client.get(f"{URL}/{uuid.uuid4()}", headers=inspector)
    assert assert_problem(hidden, 404, "not_found")["detail"] == assert_problem(missing, 404, "not_found")["detail"]
    # Even an admin sees only the regimes in their token.
    narrow_admin = auth("admin-2", roles=["admin"], regimes=["alcohol"])
    assert_problem(await client.get(f"{URL}/{published['coffeeshop']['id']}", headers=narrow_admin), 404, "not_found")


# --- the CLI --------------------------------------------------------------------------------------------


async def run_publish(database_url: str, data_dir: Path, *args: str) -> tuple[int, str]:
    return await run_toezicht(database_url, data_dir, "checklists", "publish", *args)


async def test_cli_publishes_the_shipped_templates_once(database_url, data_dir, db):
    code, out = await run_publish(database_url, data_dir)
    assert code == 0, out
    for path in FILES:
        assert f"{path.stem} ({path.name}): published v1" in out
    assert await stored(db) == {"templates": 10, "versions": 10, "events": 10}
    assert await db.fetchval("SELECT count(*) FROM checklist_version WHERE published_by IS NULL") == 10

    code, out = await run_publish(database_url, data_dir)
    assert code == 0, out
    assert out.count("unchanged, latest is v1") == 10
    assert await stored(db) == {"templates": 10, "versions": 10, "events": 10}


async def test_cli_refuses_bad_files_with_reasons_and_stores_only_the_good_ones(database_url, data_dir, db, tmp_path):
    shutil.copy(templates.DEFAULT_DIRECTORY / "coffeeshop.json", tmp_path / "a-coffeeshop.json")
    broken = document("gambling-arcade")
    del broken["sections"]
    missing, cyclic = document("gambling-machines"), document("illegal-prostitution")
    question(missing, "KS-02")["shown_when"] = {"key": "KS-00", "equals": "yes"}
    question(cyclic, "SX-08")["shown_when"] = {"key": "SX-06", "answered": True}
    for name, doc in (("b-broken", broken), ("c-missing", missing), ("d-cyclic", cyclic)):
        (tmp_path / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "e-not-json.json").write_text('{"key": ', encoding="utf-8")

    code, out = await run_publish(database_url, data_dir, str(tmp_path))
    assert code == 1, out
    assert "coffeeshop (a-coffeeshop.json): published v1" in out
    assert "gambling-arcade (b-broken.json): refused" in out
    assert '/: "sections" is a required property' in out
    assert "gambling-machines (c-missing.json): refused" in out
    assert f"{pointer_of(missing, 'KS-02')}/shown_when/key: question KS-02: condition refers to KS-00" in out
    assert "illegal-prostitution (d-cyclic.json): refused" in out
    assert "shown_when conditions form a cycle: SX-08 -> SX-06 -> SX-08" in out
    assert "e-not-json.json (e-not-json.json): refused" in out and "not valid JSON" in out
    assert await db.fetchval("SELECT array_agg(key) FROM checklist_template") == ["coffeeshop"]
    assert await stored(db) == {"templates": 1, "versions": 1, "events": 1}


async def test_cli_refuses_a_second_file_with_the_same_key(database_url, data_dir, db, tmp_path):
    changed = document("coffeeshop")
    changed["title"] = "Andere titel"
    shutil.copy(templates.DEFAULT_DIRECTORY / "coffeeshop.json", tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps(changed), encoding="utf-8")
    code, out = await run_publish(database_url, data_dir, str(tmp_path))
    assert code == 1, out
    assert "coffeeshop (b.json): refused" in out and "template coffeeshop is also defined in a.json" in out
    assert await stored(db) == {"templates": 1, "versions": 1, "events": 1}
