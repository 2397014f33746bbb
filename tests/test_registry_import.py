"""The CSV import of establishments: over HTTP (POST /api/v1/objects/import) and as `toezicht import objects`.
All-or-nothing by default with every bad row reported; partial stores the good rows; unreadable files
(encoding, columns) are refused whole."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from backend.core.config import PROJECT_ROOT
from tests.helpers import assert_problem
from tests.registry_helpers import ALL_REGIMES, count, create_object

TOEZICHT = PROJECT_ROOT / ".venv" / "bin" / "toezicht"
HEADER = (
    "naam;handelsnaam;straat;huisnummer;toevoeging;postcode;plaats;wijk;kvk;soort;werknemers;toezichtniveau;"
    "regimes;lat;lon"
)
GOOD_ROWS = [
    "Café De Domtoren;De Domtoren;Domplein;12;;3512 JC;Utrecht;Binnenstad;12345678;horeca_hoogdrempelig;12;regulier;"
    "alcohol,nix18,gambling;52,0907;5,1214",
    "Slijterij Lombok;;Kanaalstraat;88;A;3531cl;;west;;slijterij;3;verscherpt;alcohol,nix18;;",
    "Supermarkt Overvecht;;Zamenhofdreef;30;;3562JT;Utrecht;Overvecht;87654321;supermarkt;120;regulier;"
    "alcohol, nix18;52.1163;5.1106",
]


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def coordinator(auth):
    return auth("coord-1", roles=["coordinator"], regimes=ALL_REGIMES)


def upload(client, headers, content: bytes, query: str = ""):
    return client.post(
        f"/api/v1/objects/import{query}",
        content=content,
        headers={**headers, "Content-Type": "text/csv; charset=utf-8"},
    )


async def nothing_stored(db) -> bool:
    imports = await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'establishment.imported'")
    return await count(db, "establishment") == 0 and imports == 0


async def test_a_good_file_is_imported_whole(client, coordinator, db):
    response = await upload(client, coordinator, b"\xef\xbb\xbf" + csv_bytes(*GOOD_ROWS))  # with a BOM, as Excel writes
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "imported": 3, "rejected": 0, "stored": True, "issues": []}

    rows = {
        r["name"]: dict(r)
        for r in await db.fetch(
            "SELECT name, trade_name, postcode, house_number_addition, city, wijk, kvk_number, kind, employee_class, "
            "supervision_level, status, regimes, latitude, longitude FROM establishment"
        )
    }
    assert rows["Café De Domtoren"] == {
        "name": "Café De Domtoren",
        "trade_name": "De Domtoren",
        "postcode": "3512JC",
        "house_number_addition": None,
        "city": "Utrecht",
        "wijk": "binnenstad",
        "kvk_number": "12345678",
        "kind": "horeca_hoogdrempelig",
        "employee_class": "under_50",
        "supervision_level": "regular",
        "status": "active",
        "regimes": ["alcohol", "gambling", "nix18"],
        "latitude": 52.0907,
        "longitude": 5.1214,
    }
    assert rows["Slijterij Lombok"]["house_number_addition"] == "A" and rows["Slijterij Lombok"]["latitude"] is None
    assert rows["Slijterij Lombok"]["supervision_level"] == "verscherpt"
    assert rows["Supermarkt Overvecht"]["employee_class"] == "50_or_more"
    event = await db.fetchrow("SELECT actor_label, after FROM audit_event WHERE action = 'establishment.imported'")
    assert event["after"]["rows"] == 3 and event["after"]["imported"] == 3 and event["after"]["partial"] is False
    assert await db.fetchval("SELECT count(*) FROM audit_event") == 2  # the user's registration and the import
    # Imported objects are found like any other.
    found = await client.get("/api/v1/objects?wijk=west", headers=coordinator)
    assert [item["name"] for item in found.json()["items"]] == ["Slijterij Lombok"]


BAD_ROWS = [
    "Bar Zonder Wijk;;Oudegracht;1;;3511AA;Utrecht;Lombok;;horeca_laagdrempelig;2;regulier;alcohol;;",
    "Bar Fout;;Oudegracht;twee;;12345;Utrecht;binnenstad;123;discotheek;veel;streng;;52,1;",
    "Club Zonder Scope;;Zandpad;7;;3601NA;Utrecht;noordwest;;seks_club;5;regulier;alcohol;;",
    "Bar Kort;;Oudegracht;3",
    "Bar Half;;Oudegracht;5;;3511AA;Utrecht;binnenstad;;horeca_laagdrempelig;2;regulier;alcohol;52,1;",
]
EXPECTED_ISSUES = [
    {"row": 3, "column": "wijk"},
    {"row": 4, "column": "huisnummer"},
    {"row": 4, "column": "postcode"},
    {"row": 4, "column": "kvk"},
    {"row": 4, "column": "soort"},
    {"row": 4, "column": "werknemers"},
    {"row": 4, "column": "toezichtniveau"},
    {"row": 4, "column": "regimes"},  # (lat without lon is checked once the cells themselves are valid)
    {"row": 5, "column": "regimes"},
    {"row": 6},
    {"row": 7, "column": "lon"},
]


def without_reasons(issues: list[dict]) -> list[dict]:
    assert all(issue["reason"] for issue in issues)
    return sorted(
        ({k: v for k, v in issue.items() if k != "reason"} for issue in issues),
        key=lambda i: (i["row"], i.get("column") or ""),
    )


async def test_one_bad_row_and_nothing_is_stored_with_every_bad_row_reported(client, coordinator, db):
    content = csv_bytes(GOOD_ROWS[0], *BAD_ROWS, GOOD_ROWS[1])
    response = await upload(client, coordinator, content)
    problem = assert_problem(response, 422, "csv_invalid_rows")
    report = problem["report"]
    assert (report["rows"], report["imported"], report["rejected"], report["stored"]) == (7, 0, 5, False)
    assert without_reasons(report["issues"]) == sorted(EXPECTED_ISSUES, key=lambda i: (i["row"], i.get("column") or ""))
    reasons = {(i["row"], i.get("column")): i["reason"] for i in report["issues"]}
    assert reasons[(4, "postcode")] == "not a Dutch postcode (1234 AB)"
    assert "binnenstad" in reasons[(3, "wijk")]
    assert reasons[(6, None)] == "4 fields; the header has 15"
    assert await nothing_stored(db)


async def test_partial_stores_the_good_rows_and_reports_the_bad(client, coordinator, db):
    content = csv_bytes(GOOD_ROWS[0], *BAD_ROWS, GOOD_ROWS[1])
    response = await upload(client, coordinator, content, "?partial=true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["imported"], report["rejected"], report["stored"]) == (7, 2, 5, True)
    assert len(report["issues"]) == len(EXPECTED_ISSUES)
    assert sorted(r["name"] for r in await db.fetch("SELECT name FROM establishment")) == [
        "Café De Domtoren",
        "Slijterij Lombok",
    ]
    event = await db.fetchrow("SELECT after FROM audit_event WHERE action = 'establishment.imported'")
    assert (event["after"]["imported"], event["after"]["rejected"], event["after"]["partial"]) == (2, 5, True)


async def test_duplicates_in_the_file_and_against_the_register(client, coordinator, db):
    await create_object(
        client,
        coordinator,
        name="Slijterij Lombok",
        street="Kanaalstraat",
        house_number=88,
        house_number_addition="a",
        postcode="3531CL",
        wijk="west",
        kind="slijterij",
    )
    again = GOOD_ROWS[0].replace("Café De Domtoren", "CAFÉ DE DOMTOREN")
    response = await upload(client, coordinator, csv_bytes(GOOD_ROWS[0], GOOD_ROWS[1], again))
    report = assert_problem(response, 422, "csv_invalid_rows")["report"]
    assert report["issues"] == [
        {"row": 3, "column": "naam", "reason": "an active object with this name is already registered at this address"},
        {"row": 4, "column": "naam", "reason": "same name and address as row 2"},
    ]
    assert await count(db, "establishment") == 1


@pytest.mark.parametrize(
    ("header", "issues"),
    [
        (HEADER.replace(";lon", ""), [{"row": 1, "column": "lon", "reason": "missing column"}]),
        (HEADER + ";eigenaar", [{"row": 1, "column": "eigenaar", "reason": "unknown column"}]),
        (
            HEADER.replace("lat", "naam"),
            [
                {"row": 1, "column": "lat", "reason": "missing column"},
                {"row": 1, "column": "naam", "reason": "column appears twice"},
            ],
        ),
    ],
)
async def test_wrong_columns_refuse_the_file(client, coordinator, db, header, issues):
    response = await upload(client, coordinator, csv_bytes(*GOOD_ROWS, header=header))
    problem = assert_problem(response, 422, "csv_columns")
    assert problem["report"]["issues"] == issues and problem["report"]["stored"] is False
    assert await nothing_stored(db)


async def test_a_comma_separated_file_gets_a_hint(client, coordinator, db):
    content = csv_bytes(*(row.replace(";", ",") for row in GOOD_ROWS[1:2]), header=HEADER.replace(";", ","))
    problem = assert_problem(await upload(client, coordinator, content), 422, "csv_columns")
    assert "semicolons" in problem["detail"]
    assert await nothing_stored(db)


async def test_a_file_that_is_not_utf8_is_refused(client, coordinator, db):
    content = csv_bytes(GOOD_ROWS[1], GOOD_ROWS[0]).decode().encode("cp1252")  # é as 0xE9 on line 3
    problem = assert_problem(await upload(client, coordinator, content), 422, "csv_encoding")
    assert problem["report"]["issues"] == [{"row": 3, "reason": "byte 0xE9 is not UTF-8; export the file as UTF-8"}]
    assert await nothing_stored(db)


async def test_empty_files_and_other_media_types(client, coordinator, db):
    assert_problem(await upload(client, coordinator, csv_bytes(header=HEADER)), 422, "csv_empty")
    response = await client.post("/api/v1/objects/import", json={"rows": []}, headers=coordinator)
    assert_problem(response, 415, "unsupported_media_type")
    assert await nothing_stored(db)


async def test_files_above_the_general_body_limit_are_accepted_up_to_50_mb(client, coordinator, db):
    # Other endpoints refuse bodies over 1 MB; a register export is larger. (Blank lines are skipped.)
    padded = csv_bytes(GOOD_ROWS[0]) + b"\n" * 2_000_000
    response = await upload(client, coordinator, padded)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    response = await upload(client, coordinator, csv_bytes(GOOD_ROWS[1]) + b"\n" * (50 * 1024 * 1024))
    assert_problem(response, 413, "payload_too_large")
    assert await count(db, "establishment") == 1


async def test_only_coordinators_and_admins_import(client, auth, db):
    inspector = auth("insp-1", roles=["inspector"], regimes=ALL_REGIMES)
    assert_problem(await upload(client, inspector, csv_bytes(*GOOD_ROWS)), 403, "forbidden")
    assert await nothing_stored(db)


# --- the command line ---------------------------------------------------------------------------------------


async def run_import(database_url: str, data_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, TOEZICHT_DATA_DIR=str(data_dir))
    proc = await asyncio.create_subprocess_exec(
        str(TOEZICHT),
        "import",
        "objects",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


async def test_cli_import_all_or_nothing_and_partial(database_url, db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(GOOD_ROWS[0], BAD_ROWS[0], GOOD_ROWS[1]))

    code, out, err = await run_import(database_url, tmp_path, str(bad))
    assert code == 1, err
    assert len(out.splitlines()) == 1 and out.startswith("row 3, column wijk: unknown wijk; one of: binnenstad")
    assert "nothing was stored" in err
    assert await nothing_stored(db)

    code, out, err = await run_import(database_url, tmp_path, str(bad), "--partial")
    assert code == 0, err
    assert out.startswith("row 3, column wijk: ") and "3 rows: 2 imported, 1 rejected" in err
    assert await count(db, "establishment") == 2
    event = await db.fetchrow("SELECT actor_label, actor_id FROM audit_event WHERE action = 'establishment.imported'")
    assert dict(event) == {"actor_label": "cli", "actor_id": None}


async def test_cli_import_of_a_good_file_and_an_unreadable_one(database_url, db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(*GOOD_ROWS))
    code, _, err = await run_import(database_url, tmp_path, str(good))
    assert code == 0 and "3 rows: 3 imported, 0 rejected" in err
    assert await count(db, "establishment") == 3

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(csv_bytes(GOOD_ROWS[0].replace("Domtoren", "Domtoren 2")).decode().encode("latin-1"))
    code, out, err = await run_import(database_url, tmp_path, str(latin1))
    assert code == 1 and "not UTF-8" in out
    code, _, err = await run_import(database_url, tmp_path, str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err
    assert await count(db, "establishment") == 3
