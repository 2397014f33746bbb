"""Performance indicators: every figure against numbers worked out by hand from the data set in
tests/report_helpers.py (its docstrings list the records), regime scope, filters, the monthly trend, CSV, charts,
who may read, bad input, and that no personal data leaves a report."""

from __future__ import annotations

import csv
import io
import json

import pytest
from PIL import Image

from backend.reports import facts as read_model
from backend.reports.service import article_text
from tests.helpers import assert_problem
from tests.registry_helpers import ALL_REGIMES
from tests.report_helpers import AGE_NOT_ESTABLISHED, REPORTS, build_dataset, fig, get_report


@pytest.fixture
async def ds(client, auth, db):
    return await build_dataset(client, auth, db)


def _money(numerator: int, denominator: int, cents: int) -> dict:
    return {**fig(numerator, denominator), "amount_cents": cents}


def _groups(groups: list[dict]) -> dict[str, tuple[int, int]]:
    return {g["key"]: (g["numerator"], g["denominator"]) for g in groups}


async def test_every_indicator_matches_the_hand_worked_numbers(client, ds):
    response = await get_report(client, ds.world.h["coord_a"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {"from": "2025-01-01", "to": "2025-06-30"}
    # I1..I8 fall in the period (I8 at 23:30 on 30 June, Amsterdam); I8 is not reviewed; I9 (00:30 on 1 July) is out.
    assert body["controls"] == {
        "done": fig(7, 8),
        "vergunningcontroles": fig(6, 7),  # all but I4 (NIX18 attempts only) answer a permit question
        "following_complaint": fig(1, 7),  # I2
        "hercontroles": fig(1, 7),  # I3
    }
    compliance = body["compliance"]
    assert compliance["overall"] == fig(2, 7)  # I1, and I6 whose only violation was withdrawn
    assert _groups(compliance["per_regime"]) == {
        "alcohol": (3, 5),  # I1, I5 (its violation is NIX18's), I7 (its violation is sex work's) of I1 I2 I3 I5 I7
        "coffeeshop": (1, 1),
        "nix18": (0, 2),
        "sexwork": (0, 1),
    }
    assert _groups(compliance["per_object_kind"]) == {
        "coffeeshop": (1, 1),
        "horeca_hoogdrempelig": (1, 2),
        "horeca_laagdrempelig": (0, 2),
        "seks_club": (0, 1),
        "supermarkt": (0, 1),
    }
    assert _groups(compliance["per_wijk"]) == {"binnenstad": (1, 2), "oost": (0, 1), "west": (0, 3), "zuid": (1, 1)}
    assert [g["label"] for g in compliance["per_wijk"]] == ["Binnenstad", "Oost", "West", "Zuid"]
    # Attempts: I4 supermarkt not sold, sold without ID twice, sold to an adult with ID; I5 horeca sold without ID.
    assert body["nix18"]["overall"] == fig(2, 5)
    assert _groups(body["nix18"]["per_channel"]) == {"horeca": (0, 1), "supermarkt": (2, 4)}
    assert body["violations"] == [
        {**fig(2, 7), "code": AGE_NOT_ESTABLISHED, "article": "Alcoholwet art. 20 lid 1", "violations": 3},
        {**fig(1, 7), "code": "AW-24-1-NO-MANAGER-PRESENT", "article": "Alcoholwet art. 24 lid 1", "violations": 1},
        {**fig(1, 7), "code": "AW-3-NO-PERMIT", "article": "Alcoholwet art. 3", "violations": 1},
        {**fig(1, 7), "code": "SX-NO-PERMIT", "article": "APV Utrecht art. 3:4", "violations": 1},
    ]
    # Sent in the period: K1 warning + fine, K2 last onder dwangsom + schorsing, K3 13b, K4 intrekking,
    # K5 19a + warning.
    assert body["sanctions"] == {
        "warnings": fig(2, 8),
        "fines": _money(1, 8, 136_000),
        "lasten_onder_dwangsom": fig(1, 8),
        "lasten_onder_bestuursdwang": fig(0, 8),
        "forfeited_dwangsommen": _money(1, 2, 50_000),
        "suspensions": fig(1, 8),
        "withdrawals": fig(1, 8),
        "bans_19a": fig(1, 8),
        "closures_13b": fig(1, 8),
    }
    # C1 C2 C3 C4 C5 C7; due: resolved C1 C2 C5 C7 and open overdue C3 (C4 was forwarded); working days 9, 9, 2, 4.
    assert body["complaints"] == {
        "received": fig(6, 6),
        "followed_by_inspection": fig(1, 6),
        "resolved_within_deadline": fig(3, 5),
        "median_handling_working_days": {"value": 6.5, "count": 4},
    }
    objects = body["objects"]
    assert objects["reference_date"] == "2025-06-30"
    assert objects["verscherpt"] == fig(1, 7)
    # cafe_oost (never controlled) and coffee_no (last control 2024-05-01) are overdue; west's I5 (1 April) is
    # within three months of 30 June, the café's I2 within four years, coffee's I6 within a year.
    assert objects["overdue"] == fig(2, 5)
    assert _groups(objects["overdue_per_rule"]) == {"verscherpt": (0, 1), "coffeeshop": (1, 2), "horeca": (1, 2)}
    assert body["not_included"] == []


async def test_a_caller_counts_only_their_regimes_and_never_sex_work_without_its_scope(client, auth, ds):
    alcohol_only = auth("auditor-alcohol", roles=["auditor"], regimes=["alcohol"])
    body = (await get_report(client, alcohol_only)).json()
    # I1 I2 I3 I5 I8 (I4 is NIX18 only, I6 coffeeshop, I7 sex work).
    assert body["controls"] == {
        "done": fig(4, 5),
        "vergunningcontroles": fig(4, 4),
        "following_complaint": fig(1, 4),
        "hercontroles": fig(1, 4),
    }
    assert body["compliance"]["overall"] == fig(2, 4)  # I5's NIX18 violation does not count for alcohol
    assert _groups(body["compliance"]["per_regime"]) == {"alcohol": (2, 4)}
    assert _groups(body["compliance"]["per_wijk"]) == {"binnenstad": (1, 2), "west": (1, 2)}
    assert body["nix18"] is None
    assert [v["code"] for v in body["violations"]] == ["AW-24-1-NO-MANAGER-PRESENT", "AW-3-NO-PERMIT"]
    sanctions = body["sanctions"]  # K1 and K2 only
    assert (sanctions["warnings"], sanctions["fines"], sanctions["withdrawals"]) == (
        fig(1, 4),
        _money(1, 4, 136_000),
        fig(0, 4),
    )
    complaints = body["complaints"]  # C1 C2 C7 and the regime-less C5
    assert complaints["received"] == fig(4, 4)
    assert complaints["resolved_within_deadline"] == fig(3, 4)
    assert body["objects"]["verscherpt"] == fig(1, 4)  # cafe, west, shop, cafe_oost
    assert body["objects"]["overdue"] == fig(1, 3)
    assert any("nix18" in note for note in body["not_included"])
    assert "sexwork" not in json.dumps(body) and "seks_club" not in json.dumps(body)

    refused = await get_report(client, alcohol_only, regime="sexwork")
    assert_problem(refused, 403, "regime_not_in_scope")


async def test_filters_on_regime_team_wijk_and_object_kind(client, ds):
    coordinator = ds.world.h["coord_a"]
    body = (await get_report(client, coordinator, regime="nix18")).json()
    assert body["controls"]["done"] == fig(2, 3)  # I4, I5 reviewed; I8 (alcohol and NIX18) not yet
    assert body["compliance"]["overall"] == fig(0, 2)
    assert [v["code"] for v in body["violations"]] == [AGE_NOT_ESTABLISHED]
    assert body["sanctions"]["bans_19a"] == fig(1, 2)  # K5: the 19a ban and a warning
    assert body["complaints"]["received"] == fig(1, 1)  # C3; regime-less complaints have no regime to match

    body = (await get_report(client, coordinator, team="team-b", wijk="west")).json()
    assert body["controls"] == {
        "done": fig(2, 2),
        "vergunningcontroles": fig(2, 2),
        "following_complaint": fig(0, 2),
        "hercontroles": fig(1, 2),
    }
    assert body["compliance"]["overall"] == fig(0, 2)
    assert body["sanctions"]["warnings"] == fig(1, 4)  # K2 and K5
    assert body["sanctions"]["forfeited_dwangsommen"] == _money(1, 2, 50_000)
    assert body["complaints"] is None and body["objects"] is None
    assert len(body["not_included"]) == 2

    body = (await get_report(client, coordinator, wijk="west")).json()
    assert body["complaints"]["received"] == fig(2, 6)  # C2 and C4 of the six in all wijken

    body = (await get_report(client, coordinator, object_kind="coffeeshop")).json()
    assert body["controls"]["done"] == fig(1, 1)
    assert body["compliance"]["overall"] == fig(1, 1)
    assert body["sanctions"]["closures_13b"] == fig(1, 1)
    assert body["objects"]["overdue"] == fig(1, 2)


async def test_the_trend_gives_the_figures_per_month(client, ds):
    response = await client.get(f"{REPORTS}/indicators/trend", params={"year": 2025}, headers=ds.world.h["coord_a"])
    assert response.status_code == 200, response.text
    months = {m["month"]: m for m in response.json()["months"]}
    assert list(months) == [f"2025-{n:02d}" for n in range(1, 13)]
    jan, feb, mar, apr, jun, jul = (months[f"2025-{n:02d}"] for n in (1, 2, 3, 4, 6, 7))
    assert jan["controls"]["done"] == fig(1, 1) and jan["compliance"] == fig(1, 1)
    assert jan["complaints"]["followed_by_inspection"] == fig(1, 1)
    assert feb["controls"]["following_complaint"] == fig(1, 2) and feb["controls"]["hercontroles"] == fig(1, 2)
    assert feb["violations"] == fig(2, 2) and feb["sanctions"]["warnings"] == fig(1, 1)
    assert mar["nix18"] == fig(2, 4)
    assert mar["sanctions"]["fines"] == _money(1, 2, 136_000)
    assert apr["nix18"] == fig(0, 1)
    assert apr["sanctions"]["forfeited_dwangsommen"] == _money(1, 1, 50_000)
    assert apr["complaints"]["received"] == fig(2, 2)  # C2, C3
    assert apr["complaints"]["median_handling_working_days"] == {"value": 9.0, "count": 1}
    assert jun["controls"]["done"] == fig(0, 1)  # I8 is not reviewed
    assert jul["controls"]["done"] == fig(1, 1)  # I9, just after midnight in Amsterdam
    assert jul["sanctions"]["fines"] == _money(1, 1, 68_000)
    assert months["2025-12"]["controls"]["done"] == fig(0, 0)

    by_dates = await client.get(
        f"{REPORTS}/indicators/trend", params={"from": "2025-02-01", "to": "2025-03-31"}, headers=ds.world.h["coord_a"]
    )
    assert [m["month"] for m in by_dates.json()["months"]] == ["2025-02", "2025-03"]


async def test_csv_has_dutch_headers_and_the_same_figures(client, ds):
    response = await get_report(client, {**ds.world.h["coord_a"], "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "indicatoren-2025-01-01-2025-06-30.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text), delimiter=";"))
    assert rows[0] == [
        "Indicator",
        "Onderverdeling",
        "Teller",
        "Noemer",
        "Percentage",
        "Waarde",
        "Bedrag (euro)",
        "Van",
        "Tot en met",
    ]
    by_name = {(row[0], row[1]): row for row in rows[1:]}
    assert by_name[("Controles uitgevoerd (beoordeeld)", "Totaal")][2:5] == ["7", "8", "87,5"]
    assert by_name[("NIX18-nalevingscijfer", "Verkoopkanaal: Supermarkt")][2:5] == ["2", "4", "50,0"]
    assert by_name[("Bestuurlijke boetes", "Totaal")][6] == "1360,00"
    age = f"Alcohol verstrekt zonder vaststelling van de leeftijd (Alcoholwet art. 20 lid 1; {AGE_NOT_ESTABLISHED})"
    assert by_name[("Overtredingen per code", age)][2:6] == ["2", "7", "28,6", "3"]
    assert by_name[("Mediane afhandeltijd klachten (werkdagen)", "Totaal")][5] == "6,5"
    assert by_name[("Naleving", "Wijk: West")][2:4] == ["0", "3"]

    violations = [row[1] for row in rows if row[0] == "Overtredingen per code"]
    assert violations[1:] == [
        "Geen leidinggevende aanwezig (horecaloket cat. II) (Alcoholwet art. 24 lid 1; AW-24-1-NO-MANAGER-PRESENT)",
        "Horecabedrijf uitgeoefend zonder alcoholvergunning (Alcoholwet art. 3; AW-3-NO-PERMIT)",
        (
            "Seksbedrijf zonder exploitatievergunning: sluiting, last onder dwangsom of boete "
            "(APV Utrecht, artikel onbekend (VERIFY); SX-NO-PERMIT)"
        ),
    ]

    trend = await client.get(
        f"{REPORTS}/indicators/trend", params={"year": 2025}, headers={**ds.world.h["coord_a"], "Accept": "text/csv"}
    )
    trend_rows = list(csv.reader(io.StringIO(trend.text), delimiter=";"))
    assert ["Hercontroles", "Maand 2025-02", "1", "2", "50,0", "", "", "2025-01-01", "2025-12-31"] in trend_rows


async def test_csv_gives_the_current_article_of_a_violation_stored_without_one(client, ds, db):
    """A violation recorded while its checklist still said 'n.t.b.' shows the article the checklist has now."""
    await db.execute("""UPDATE violation SET code = 'HV-NO-EXPLOITATION-PERMIT',
                            article = '{"law": "Horecaverordening Utrecht", "article": "n.t.b."}'
                        WHERE code = 'AW-3-NO-PERMIT'""")
    await read_model.rebuild(db)  # changed behind the reactions' back, as a restore would
    recorded = {v["code"]: v["article"] for v in (await get_report(client, ds.world.h["coord_a"])).json()["violations"]}
    assert recorded["HV-NO-EXPLOITATION-PERMIT"] == "Horecaverordening Utrecht art. n.t.b."  # JSON: as recorded
    response = await get_report(client, {**ds.world.h["coord_a"], "Accept": "text/csv"})
    rows = [row for row in csv.reader(io.StringIO(response.text), delimiter=";") if row[0] == "Overtredingen per code"]
    permit = (
        "Horecabedrijf zonder exploitatievergunning (Verordening horeca gemeente Utrecht art. 4; "
        "HV-NO-EXPLOITATION-PERMIT)"
    )
    assert [permit, "1", "7"] in [row[1:4] for row in rows]
    assert "n.t.b." not in response.text


async def test_charts_are_pngs(client, ds):
    headers = ds.world.h["coord_a"]
    for path, params in (
        ("/charts/compliance-per-wijk.png", {"from": "2025-01-01", "to": "2025-06-30"}),
        ("/charts/trend.png", {"year": 2025}),
    ):
        response = await client.get(f"{REPORTS}{path}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "PNG" and image.size == (1000, 560)
        # Bars were drawn: the chart is not just the white canvas with text.
        assert (0, 104, 157) in {colour for _, colour in image.getcolors(maxcolors=100_000)}


async def test_reports_carry_no_personal_data(client, ds, db):
    headers = ds.world.h["coord_a"]
    names = [row["name"] for row in await db.fetch("SELECT name FROM establishment")]
    user_ids = [str(row["id"]) for row in await db.fetch("SELECT id FROM app_user")]
    texts = [
        (await get_report(client, headers)).text,
        (await get_report(client, {**headers, "Accept": "text/csv"})).text,
        (await client.get(f"{REPORTS}/indicators/trend", params={"year": 2025}, headers=headers)).text,
    ]
    for text in texts:
        for secret in [*names, *user_ids, "Oudegracht", "Overlast", "3511"]:
            assert secret not in text


@pytest.mark.parametrize("roles", [["coordinator"], ["admin"], ["auditor"], ["enforcement_officer"]])
async def test_readers(client, auth, roles):
    response = await client.get(f"{REPORTS}/indicators", headers=auth("reader", roles=roles, regimes=ALL_REGIMES))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("roles", [["inspector"], ["complaints_officer"]])
async def test_others_may_not_read(client, auth, roles):
    for path in ("/indicators", "/indicators/trend", "/charts/trend.png", "/charts/compliance-per-wijk.png"):
        response = await client.get(f"{REPORTS}{path}", headers=auth("other", roles=roles, regimes=ALL_REGIMES))
        assert_problem(response, 403, "forbidden")
    assert_problem(await client.get(f"{REPORTS}/indicators"), 401, "token_missing")


async def test_bad_periods_and_filters_are_refused(client, auth):
    headers = auth("coord", roles=["coordinator"], regimes=ALL_REGIMES)
    indicators, trend = f"{REPORTS}/indicators", f"{REPORTS}/indicators/trend"
    assert_problem(
        await client.get(indicators, params={"from": "2025-03-01", "to": "2025-02-01"}, headers=headers),
        400,
        "invalid_date_range",
    )
    body = assert_problem(
        await client.get(indicators, params={"from": "1999-12-31"}, headers=headers), 422, "validation_failed"
    )
    assert body["errors"][0]["parameter"] == "from"
    assert_problem(await client.get(indicators, params={"to": "2101-01-01"}, headers=headers), 422, "validation_failed")
    assert_problem(await client.get(indicators, params={"wijk": "atlantis"}, headers=headers), 422, "validation_failed")
    assert_problem(
        await client.get(indicators, params={"object_kind": "castle"}, headers=headers), 422, "validation_failed"
    )
    assert_problem(await client.get(trend, params={"year": 1999}, headers=headers), 422, "validation_failed")
    assert_problem(
        await client.get(trend, params={"year": 2025, "from": "2025-01-01"}, headers=headers), 400, "year_and_dates"
    )
    body = assert_problem(
        await client.get(trend, params={"from": "2020-01-01", "to": "2023-01-01"}, headers=headers),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["parameter"] == "to"


@pytest.mark.parametrize(
    ("article", "text"),
    [
        ({"law": "Alcoholwet", "article": "20", "lid": "1"}, "Alcoholwet art. 20 lid 1"),
        ({"law": "Wok", "article": "30u", "lid": "1", "sub": "a"}, "Wok art. 30u lid 1 onder a"),
        ({"law": "Wok", "article": "30u", "lid": "1", "sub": "a en b"}, "Wok art. 30u lid 1 onder a en b"),
        (
            {"law": "Alcoholwet", "article": "20", "lid": "1", "sub": "tweede volzin"},
            "Alcoholwet art. 20 lid 1, tweede volzin",
        ),
        ({"law": "APV Utrecht", "article": "artikel onbekend (VERIFY)"}, "APV Utrecht, artikel onbekend (VERIFY)"),
    ],
)
def test_article_texts(article, text):
    assert article_text(article) == text
