"""The known data set of the report tests: objects, checklists and users through the API, one inspection
submitted and reviewed through the API, and the rest (past months, sanctions, complaints) arranged with SQL
inserts. Every number the tests expect is worked out by hand from the table in `build_dataset`'s docstring."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.reports import facts as read_model
from tests.inspection_helpers import HORECA_OK, URL, World, build_world
from tests.registry_helpers import create_object

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
REPORTS = "/api/v1/reports"
USERS = ("admin", "coord_a", "coord_b", "insp_a1", "insp_b", "enforcer", "auditor", "complaints")
NOT_SOLD = {
    "NX-01": "supermarkt",
    "NX-01a": "2025-03-05T20:00:00+01:00",
    "NX-05": "yes",
    "NX-05a": "age_16_17",
    "NX-05b": "yes",
    "NX-02": "no",
    "NX-03": "no",
    "NX-04": "no",
}
SOLD_NO_ID = {**NOT_SOLD, "NX-04": "yes"}
SOLD_ADULT_WITH_ID = {**NOT_SOLD, "NX-05a": "age_18_plus", "NX-02": "yes", "NX-03": "yes", "NX-04": "yes"}
ARTICLE_3 = {"law": "Alcoholwet", "article": "3"}
ARTICLE_24_1 = {"law": "Alcoholwet", "article": "24", "lid": "1"}
ARTICLE_20_1 = {"law": "Alcoholwet", "article": "20", "lid": "1"}
AGE_NOT_ESTABLISHED = "AW-20-1-AGE-NOT-ESTABLISHED"


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A moment on `day` in Amsterdam, as UTC."""
    return datetime.combine(day, time(hour, minute), AMSTERDAM).astimezone(UTC)


@dataclass
class Dataset:
    world: World
    ids: dict[str, str] = field(default_factory=dict)


async def _insert_assignment(
    db, ds: Dataset, object_id: str, reason: str, wijk: str, regimes: list[str], complaint_id: str | None = None
) -> str:
    assignment_id = str(uuid.uuid4())
    await db.execute(
        """INSERT INTO assignment (id, establishment_id, team_id, wijk, regimes, checklist_version_ids, planned_from,
               planned_to, inspector_ids, reason, status, created_by, complaint_id)
           VALUES ($1, $2, 'team-a', $3, $4, $5, '2025-01-01', '2025-12-31', $6, $7, 'done', $8, $9)""",
        uuid.UUID(assignment_id),
        uuid.UUID(object_id),
        wijk,
        regimes,
        [uuid.UUID(ds.ids["alcohol-horeca"])],
        [uuid.UUID(ds.ids["insp_a1"])],
        reason,
        uuid.UUID(ds.ids["coord_a"]),
        uuid.UUID(complaint_id) if complaint_id else None,
    )
    return assignment_id


async def insert_inspection(
    db,
    ds: Dataset,
    *,
    object_id: str,
    wijk: str,
    team: str,
    regimes: list[str],
    moment: datetime,
    checklists: list[tuple[str, dict[str, Any]]],
    violations: list[tuple[int, str, dict[str, str], bool]] = (),
    state: str = "reviewed",
    assignment_id: str | None = None,
) -> str:
    """An inspection row as a reviewed submission leaves it: checklists (template key, answers) and violations
    (checklist position, code, article, withdrawn)."""
    inspection_id = uuid.uuid4()
    inspector = uuid.UUID(ds.ids["insp_a1"])
    reviewer = uuid.UUID(ds.ids["coord_a"]) if state == "reviewed" else None
    await db.execute(
        """INSERT INTO inspection (id, state, assignment_id, establishment_id, team_id, wijk, regimes, submitted_by,
               inspector_ids, started_at, finished_at, received_at, clock_suspect, inspected_at, reviewed_by,
               reviewed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz - interval '1 hour', $10, $10, false, $10, $11,
                   CASE WHEN $11::uuid IS NULL THEN NULL ELSE $10 END)""",
        inspection_id,
        state,
        uuid.UUID(assignment_id) if assignment_id else None,
        uuid.UUID(object_id),
        team,
        wijk,
        regimes,
        inspector,
        [inspector],
        moment,
        reviewer,
    )
    templates = {
        key: (ds.ids[key], regime)
        for key, regime in (
            ("alcohol-horeca", "alcohol"),
            ("nix18-purchase-attempt", "nix18"),
            ("coffeeshop", "coffeeshop"),
            ("sexwork-establishment", "sexwork"),
        )
    }
    for position, (template, answers) in enumerate(checklists):
        version_id, regime = templates[template]
        await db.execute(
            """INSERT INTO inspection_checklist (inspection_id, position, checklist_version_id, template_key, regime,
                   answers) VALUES ($1, $2, $3, $4, $5, $6)""",
            inspection_id,
            position,
            uuid.UUID(version_id),
            template,
            regime,
            answers,
        )
    for position, code, article, withdrawn in violations:
        template = checklists[position][0]
        await db.execute(
            """INSERT INTO violation (inspection_id, revision, establishment_id, checklist_version_id,
                   checklist_position, question_key, code, article, severity, observed_on, withdrawn_at)
               VALUES ($1, 1, $2, $3, $4, 'Q', $5, $6, 'serious', $7,
                       CASE WHEN $8 THEN now() END)""",
            inspection_id,
            uuid.UUID(object_id),
            uuid.UUID(templates[template][0]),
            position,
            code,
            article,
            moment.astimezone(AMSTERDAM).date(),
            withdrawn,
        )
    return str(inspection_id)


async def _case(db, ds: Dataset, object_id: str, regime: str, wijk: str, team: str) -> uuid.UUID:
    case_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO enforcement_case (id, establishment_id, regime, wijk, team_id, status, opened_by)
           VALUES ($1, $2, $3, $4, $5, 'besluit', $6)""",
        case_id,
        uuid.UUID(object_id),
        regime,
        wijk,
        team,
        uuid.UUID(ds.ids["enforcer"]),
    )
    return case_id


async def _step(
    db,
    ds: Dataset,
    case_id: uuid.UUID,
    seq: int,
    kind: str,
    *,
    decision: str | None = None,
    sent_on: date | None = None,
    amount_cents: int | None = None,
    status: str | None = None,
    observed_on: date | None = None,
    forfeited_cents: int | None = None,
) -> None:
    sent = sent_on is not None
    await db.execute(
        """INSERT INTO enforcement_step (id, case_id, seq, type, decision, status, amount_cents, drafted_by,
               approved_by, sent_by, sent_on, observed_on, forfeited_cents)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        uuid.uuid4(),
        case_id,
        seq,
        kind,
        decision,
        status or ("sent" if sent else "draft"),
        amount_cents,
        uuid.UUID(ds.ids["enforcer"]),
        uuid.UUID(ds.ids["admin"]) if kind == "besluit" and sent else None,
        uuid.UUID(ds.ids["enforcer"]) if sent else None,
        sent_on,
        observed_on,
        forfeited_cents,
    )


async def _complaint(
    db,
    ds: Dataset,
    *,
    regime: str | None,
    wijk: str,
    received: date,
    due: date,
    state: str,
    closed: date | None = None,
    object_id: str | None = None,
) -> str:
    complaint_id = str(uuid.uuid4())
    await db.execute(
        """INSERT INTO complaint (id, category, regime, channel, description, street, house_number, postcode, city,
               wijk, wijk_source, establishment_id, wants_feedback, has_contact, state, received_at,
               acknowledgement_due_on, resolution_due_on, outcome, forwarded_to, closed_at, created_by)
           VALUES ($1, 'geluidsoverlast_horeca', $2, 'phone', 'Overlast', 'Oudegracht', 1, '3511AA', 'Utrecht', $3,
               'override', $4, false, false, $5, $6, $7, $8, $9, $10, $11, $12)""",
        uuid.UUID(complaint_id),
        regime,
        wijk,
        uuid.UUID(object_id) if object_id else None,
        state,
        at(received, 9),
        received + timedelta(days=2),
        due,
        "nuisance_stopped" if state == "resolved" else None,
        "Politie" if state == "rejected" else None,
        at(closed, 15) if closed else None,
        uuid.UUID(ds.ids["complaints"]),
    )
    return complaint_id


async def build_dataset(client, auth, db) -> Dataset:
    """The data set (period of the tests: 2025-01-01 .. 2025-06-30; all inspections by team-a unless noted).

    Objects (created 2020-01-01): cafe (binnenstad, horeca_hoogdrempelig, alcohol+nix18), west (west,
    horeca_laagdrempelig, alcohol+nix18, verscherpt), shop (oost, supermarkt, alcohol+nix18), coffee (zuid,
    coffeeshop), club (west, seks_club, sexwork+alcohol), cafe_oost (oost, horeca_hoogdrempelig, never controlled),
    coffee_no (noordoost, coffeeshop, last control 2024-05-01).

    | id | day              | object    | state    | checklists (regime)             | violations (regime)          |
    |----|------------------|-----------|----------|---------------------------------|------------------------------|
    | I1 | 2025-01-15       | cafe      | reviewed | horeca OK (API submit + review) | -                            |
    | I2 | 2025-02-10       | cafe      | reviewed | horeca (permit)                 | AW-3-NO-PERMIT (alcohol)     |
    | I3 | 2025-02-20       | west      | reviewed | horeca (permit)                 | AW-24-1-NO-MANAGER (alcohol) |
    | I4 | 2025-03-05       | shop      | reviewed | 4 NIX18 attempts (supermarkt)   | 2x AGE-NOT-ESTABLISHED (nix) |
    | I5 | 2025-04-01       | west      | reviewed | horeca (permit) + 1 attempt     | AGE-NOT-ESTABLISHED (nix18)  |
    | I6 | 2025-05-10       | coffee    | reviewed | coffeeshop (permit)             | one, withdrawn               |
    | I7 | 2025-05-20       | club      | reviewed | sexwork (permit)                | SX-NO-PERMIT (sexwork)       |
    | I8 | 2025-06-30 23:30 | cafe      | complete | horeca                          | -                            |
    | I9 | 2025-07-01 00:30 | cafe      | reviewed | horeca (outside the period)     | -                            |
    | -  | 2024-05-01       | coffee_no | reviewed | coffeeshop (outside the period) | -                            |
    Team-b did I3 and I5. Reasons: I2 follows complaint C1, I3 is a hercontrole; the others have none.
    NIX18 attempts of I4: not sold, sold without ID, sold without ID, sold to an adult who showed ID; I5: one
    sold without ID in horeca.
    """
    world = await build_world(client, auth, users=USERS)
    ds = Dataset(world=world, ids=world.ids)
    admin = world.h["admin"]
    objects = {
        "west": dict(
            name="Bar West",
            street="Kanaalstraat",
            house_number=10,
            postcode="3531CJ",
            wijk="west",
            kind="horeca_laagdrempelig",
            supervision_level="verscherpt",
        ),
        "shop": dict(
            name="Super Oost", street="Biltstraat", house_number=20, postcode="3572BJ", wijk="oost", kind="supermarkt"
        ),
        "coffee": dict(
            name="Coffeeshop Zuid",
            street="Rivierenlaan",
            house_number=5,
            postcode="3523AA",
            wijk="zuid",
            kind="coffeeshop",
            regimes=["coffeeshop"],
        ),
        "cafe_oost": dict(name="Café Oost", street="Biltstraat", house_number=90, postcode="3572BJ", wijk="oost"),
        "coffee_no": dict(
            name="Coffeeshop Noordoost",
            street="Blauwkapelseweg",
            house_number=3,
            postcode="3572KA",
            wijk="noordoost",
            kind="coffeeshop",
            regimes=["coffeeshop"],
        ),
    }
    for name, fields in objects.items():
        ds.ids[name] = (await create_object(client, admin, **fields))["id"]
    await db.execute("UPDATE establishment SET created_at = '2020-01-01T12:00:00Z'")
    await _submit_and_review_i1(client, ds)
    await _arrange_inspections(db, ds)
    await _arrange_sanctions(db, ds)
    # Written straight to the features' tables, as an upgraded database holds them: the reports' read model is
    # rebuilt from them as `toezicht reports rebuild` does.
    await read_model.rebuild(db)
    return ds


async def _submit_and_review_i1(client, ds: Dataset) -> None:
    """I1 through the API as a phone would send it (its clock right: a Date header of now), then reviewed."""
    w = ds.world
    finished = at(date(2025, 1, 15), 11)
    body = w.body(
        started_at=(finished - timedelta(minutes=30)).isoformat(),
        finished_at=finished.isoformat(),
        checklists=[{"checklist_version_id": w.ids["alcohol-horeca"], "answers": dict(HORECA_OK)}],
    )
    inspection_id = str(uuid.uuid4())
    headers = {**w.h["insp_a1"], "Date": format_datetime(datetime.now(UTC), usegmt=True)}
    response = await client.put(f"{URL}/{inspection_id}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["inspected_at"].startswith("2025-01-15")
    response = await client.post(
        f"{URL}/{inspection_id}/review", headers={**w.h["coord_a"], "If-Match": f'"{response.json()["version"]}"'}
    )
    assert response.status_code == 200, response.text
    ds.ids["I1"] = inspection_id


async def _arrange_inspections(db, ds: Dataset) -> None:
    ids = ds.ids
    horeca_ok = ("alcohol-horeca", dict(HORECA_OK))
    ids["C1"] = await _complaint(
        db,
        ds,
        regime="alcohol",
        wijk="binnenstad",
        received=date(2025, 1, 20),
        due=date(2025, 2, 3),
        state="resolved",
        closed=date(2025, 1, 31),
        object_id=ids["cafe"],
    )
    complaint_assignment = await _insert_assignment(
        db, ds, ids["cafe"], "complaint", "binnenstad", ["alcohol"], complaint_id=ids["C1"]
    )
    hercontrole = await _insert_assignment(db, ds, ids["west"], "hercontrole", "west", ["alcohol"])
    common = dict(team="team-a", regimes=["alcohol", "nix18"])
    await insert_inspection(
        db,
        ds,
        object_id=ids["cafe"],
        wijk="binnenstad",
        moment=at(date(2025, 2, 10)),
        checklists=[horeca_ok],
        violations=[(0, "AW-3-NO-PERMIT", ARTICLE_3, False)],
        assignment_id=complaint_assignment,
        team="team-a",
        regimes=["alcohol"],
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["west"],
        wijk="west",
        team="team-b",
        regimes=["alcohol"],
        moment=at(date(2025, 2, 20)),
        checklists=[horeca_ok],
        violations=[(0, "AW-24-1-NO-MANAGER-PRESENT", ARTICLE_24_1, False)],
        assignment_id=hercontrole,
    )
    attempts = [("nix18-purchase-attempt", a) for a in (NOT_SOLD, SOLD_NO_ID, SOLD_NO_ID, SOLD_ADULT_WITH_ID)]
    await insert_inspection(
        db,
        ds,
        object_id=ids["shop"],
        wijk="oost",
        team="team-a",
        regimes=["nix18"],
        moment=at(date(2025, 3, 5)),
        checklists=attempts,
        violations=[(1, AGE_NOT_ESTABLISHED, ARTICLE_20_1, False), (2, AGE_NOT_ESTABLISHED, ARTICLE_20_1, False)],
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["west"],
        wijk="west",
        team="team-b",
        regimes=["alcohol", "nix18"],
        moment=at(date(2025, 4, 1)),
        checklists=[horeca_ok, ("nix18-purchase-attempt", {**SOLD_NO_ID, "NX-01": "horeca"})],
        violations=[(1, AGE_NOT_ESTABLISHED, ARTICLE_20_1, False)],
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["coffee"],
        wijk="zuid",
        team="team-a",
        regimes=["coffeeshop"],
        moment=at(date(2025, 5, 10)),
        checklists=[("coffeeshop", {"CS-01": "yes", "CS-01a": "yes"})],
        violations=[(0, "CS-CLOSING-TIMES", {"law": "APV Utrecht", "article": "2:30"}, True)],
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["club"],
        wijk="west",
        team="team-a",
        regimes=["sexwork", "alcohol"],
        moment=at(date(2025, 5, 20)),
        checklists=[("sexwork-establishment", {"SX-01": "no"})],
        violations=[(0, "SX-NO-PERMIT", {"law": "APV Utrecht", "article": "3:4"}, False)],
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["cafe"],
        wijk="binnenstad",
        moment=at(date(2025, 6, 30), 23, 30),
        checklists=[horeca_ok],
        state="complete",
        **common,
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["cafe"],
        wijk="binnenstad",
        moment=at(date(2025, 7, 1), 0, 30),
        checklists=[horeca_ok],
        **common,
    )
    await insert_inspection(
        db,
        ds,
        object_id=ids["coffee_no"],
        wijk="noordoost",
        team="team-a",
        regimes=["coffeeshop"],
        moment=at(date(2024, 5, 1)),
        checklists=[("coffeeshop", {"CS-01": "yes"})],
    )
    # Complaints (C1 above, followed by I2): C2 late, C3 open and overdue, C4 sex work rejected, C5 without regime,
    # C7 in time, C6 outside the period; C2 has a planned assignment that no inspection followed.
    ids["C2"] = await _complaint(
        db,
        ds,
        regime="alcohol",
        wijk="west",
        received=date(2025, 4, 15),
        due=date(2025, 4, 29),
        state="resolved",
        closed=date(2025, 4, 30),
    )
    await _insert_assignment(db, ds, ids["west"], "complaint", "west", ["alcohol"], complaint_id=ids["C2"])
    await _complaint(
        db, ds, regime="nix18", wijk="oost", received=date(2025, 4, 14), due=date(2025, 4, 28), state="in_progress"
    )
    await _complaint(
        db,
        ds,
        regime="sexwork",
        wijk="west",
        received=date(2025, 5, 5),
        due=date(2025, 5, 19),
        state="rejected",
        closed=date(2025, 5, 6),
    )
    await _complaint(
        db,
        ds,
        regime=None,
        wijk="zuid",
        received=date(2025, 6, 2),
        due=date(2025, 6, 16),
        state="resolved",
        closed=date(2025, 6, 4),
    )
    await _complaint(
        db,
        ds,
        regime="alcohol",
        wijk="oost",
        received=date(2025, 5, 26),
        due=date(2025, 6, 10),
        state="resolved",
        closed=date(2025, 6, 3),
    )
    await _complaint(
        db, ds, regime="alcohol", wijk="binnenstad", received=date(2025, 7, 5), due=date(2025, 7, 19), state="received"
    )


async def _arrange_sanctions(db, ds: Dataset) -> None:
    """K1 cafe (alcohol, team-a): warning 02-15, fine EUR 1,360 03-01, fine 07-02 (outside). K2 west (alcohol,
    team-b): last onder dwangsom 03-10, hercontrole forfeited EUR 500 04-15, hercontrole complied 05-15, schorsing
    05-20. K3 coffee (team-a): 13b closure 06-01, an unsent draft intrekking. K4 club (sexwork): intrekking 04-01.
    K5 west (nix18, team-b): 19a ban 06-10, warning 06-11."""
    ids = ds.ids
    k1 = await _case(db, ds, ids["cafe"], "alcohol", "binnenstad", "team-a")
    await _step(db, ds, k1, 1, "warning", sent_on=date(2025, 2, 15))
    await _step(db, ds, k1, 2, "besluit", decision="boete", sent_on=date(2025, 3, 1), amount_cents=136_000)
    await _step(db, ds, k1, 3, "besluit", decision="boete", sent_on=date(2025, 7, 2), amount_cents=68_000)
    k2 = await _case(db, ds, ids["west"], "alcohol", "west", "team-b")
    await _step(db, ds, k2, 1, "besluit", decision="last_onder_dwangsom", sent_on=date(2025, 3, 10))
    await _step(db, ds, k2, 2, "hercontrole", status="forfeited", observed_on=date(2025, 4, 15), forfeited_cents=50_000)
    await _step(db, ds, k2, 3, "hercontrole", status="complied", observed_on=date(2025, 5, 15))
    await _step(db, ds, k2, 4, "besluit", decision="schorsing", sent_on=date(2025, 5, 20))
    k3 = await _case(db, ds, ids["coffee"], "coffeeshop", "zuid", "team-a")
    await _step(db, ds, k3, 1, "besluit", decision="sluiting_13b", sent_on=date(2025, 6, 1))
    await _step(db, ds, k3, 2, "besluit", decision="intrekking")
    k4 = await _case(db, ds, ids["club"], "sexwork", "west", "team-a")
    await _step(db, ds, k4, 1, "besluit", decision="intrekking", sent_on=date(2025, 4, 1))
    k5 = await _case(db, ds, ids["west"], "nix18", "west", "team-b")
    await _step(db, ds, k5, 1, "besluit", decision="ontzegging_19a", sent_on=date(2025, 6, 10))
    await _step(db, ds, k5, 2, "warning", sent_on=date(2025, 6, 11))


async def get_report(client, headers, path: str = "/indicators", **params: Any):
    query = {"from": "2025-01-01", "to": "2025-06-30", **params}
    return await client.get(
        f"{REPORTS}{path}", params={k: v for k, v in query.items() if v is not None}, headers=headers
    )


def fig(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "share": round(numerator / denominator, 4) if denominator else None,
    }
