"""A recent month of the demo's work, so every console screen and API list shows something real: planned
assignments, inspections in every state with their evidence photos, enforcement cases at each kind of step,
complaints in each state, and a sex-work case and complaint that only users scoped for sex work see.

Made through the service's own HTTP API, in-process (the app on an ASGI client, tokens minted for the demo users
as `toezicht token` does in dev mode), so every rule a real request meets applies here too. Where a rule refuses
back-dated data the demo keeps the rule: inspections and complaints lie in the last thirty days (the API takes
the phone's clock and the day a complaint was received), but assignments cannot be planned in a window that has
passed and a letter is sent no earlier than the day it was drafted or approved, so those are dated today.

Deterministic and idempotent: inspections carry fixed ids (the phone's own), complaints a fixed external
reference, photos fixed bytes. Each piece of work (an inspection with what follows from it, a complaint with its
steps) is made only when its first request finds nothing there, so a second load adds nothing.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any, Literal
from uuid import UUID

import httpx
import msgspec
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw

from backend.app import create_app
from backend.core.calendar import AMSTERDAM, today
from backend.core.config import Settings
from backend.core.logging import configure_logging
from backend.core.tokens import load_or_create_dev_key, mint_dev_token
from backend.demo import DEMO_ESTABLISHMENTS, DEMO_USERS
from backend.demo_answers import (
    ARCADE_OK,
    AT_VISIT,
    COFFEESHOP_OK,
    HORECA_NO_MANAGER,
    HORECA_NO_MANAGER_NO_NOTICE,
    NIX18_NOT_SOLD,
    NIX18_SOLD_NO_ID,
    PARACOMMERCIE_OK,
    SEXWORK_NO_MANAGER,
    SHOP_AGE_NOT_ESTABLISHED,
    SHOP_OK,
    SUPERMARKT_OK,
)

API = "/api/v1"
TOKEN_TTL_S = 15 * 60  # long enough for one load


def _object(number: int) -> UUID:
    return UUID(f"10000000-0000-4000-8000-{number:012x}")


def _inspection(number: int) -> UUID:
    return UUID(f"31000000-0000-4000-8000-{number:012x}")


def _photo(number: int) -> UUID:
    return UUID(f"51000000-0000-4000-8000-{number:012x}")


CLUB, SLIJTERIJ, SUPERMARKT, COFFEESHOP, KANTINE, SPEELHAL, PRIVEHUIS, CAFETARIA = (_object(n) for n in range(2, 10))
OOSTEN, LEIDSCHE_RIJN, RIVIERENWIJK, KANALENEILAND, DE_MEERN, KANAAL = (_object(n) for n in range(10, 16))

# --- the month's inspections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """Where, by whom and with which checklist and answers an inspection was made, finished `days_ago` at `at`
    (Europe/Amsterdam). Each demo inspector works in one team, so the inspection is that team's."""

    number: int
    object_id: UUID
    inspector: str
    checklist: str
    answers: Mapping[str, Any]
    days_ago: int
    at: clock

    @property
    def id(self) -> UUID:
        return _inspection(self.number)

    @property
    def team(self) -> str:
        [team] = next(teams for _, subject, _, _, _, teams in DEMO_USERS if subject == self.inspector)
        return team


# How each inspection ends: reviewed (its violations open a case), returned, corrected after return, or waiting
# for the coordinator's review.
Outcome = Literal["reviewed", "returned", "corrected", "waiting"]
REVIEWED: Outcome = "reviewed"
RETURNED: Outcome = "returned"
CORRECTED: Outcome = "corrected"
WAITING: Outcome = "waiting"
Case = dict[str, Any]


@dataclass(frozen=True)
class Inspected:
    """An inspection as the phone submits it (the visit, the observations, partners and photos) and how it ends."""

    visit: Visit
    outcome: Outcome
    observations: str | None  # None on a sex-work inspection: the API takes no free text there
    partners: tuple[str, ...] = ()
    evidence: tuple[str | None, ...] = ()  # one photo per entry: the question it shows, None for a general photo
    upload: bool = True  # False: the phone has not sent its photos yet
    return_reason: str | None = None
    correction: str | None = None  # the corrected observations (the answers stand)
    case: Callable[[Api, Case], Awaitable[None]] | None = None  # what the jurists do with the case it opens


# --- the API, as the demo users ------------------------------------------------------------------------------


class DemoLoadError(RuntimeError):
    """A request of the demo was refused: the demo no longer fits the API's rules."""


@dataclass
class Api:
    client: AsyncTestClient[Any]
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)  # subject -> user id, template key -> checklist version id

    async def call(
        self,
        who: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        version: int | None = None,
        expect: tuple[int, ...] = (200, 201),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if version is not None:
            sent["If-Match"] = f'"{version}"'
        response = await self._request(
            who, method, path, expect, json=body, content=content, headers=sent, params=params
        )
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None

    async def exists(self, who: str, path: str) -> bool:
        """Whether `who` finds the resource at `path` (a GET answers 200 rather than 404)."""
        return (await self._request(who, "GET", path, (200, 404))).status_code == 200

    async def _request(
        self, who: str, method: str, path: str, expect: tuple[int, ...], **arguments: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **arguments.pop("headers", {})}
        response = await self.client.request(method, API + path, headers=headers, **arguments)
        if response.status_code not in expect:
            raise DemoLoadError(f"{method} {path} as {who}: {response.status_code} {response.text[:500]}")
        return response


def _claims(settings: Settings, user: tuple[Any, ...]) -> dict[str, Any]:
    """A demo user's own claims, as `toezicht token` mints them (other claims would change the stored user)."""
    _, subject, name, roles, regimes, teams = user
    now = int(time.time())
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_TTL_S,
        "roles": roles,
        "regimes": regimes,
        "teams": teams,
        "name": name,
    }


def demo_tokens(settings: Settings) -> dict[str, str]:
    key = load_or_create_dev_key(settings.dev_signing_key_path)
    return {user[1]: mint_dev_token(key, _claims(settings, user)) for user in DEMO_USERS}


async def load_demo_month(settings: Settings) -> int:
    """Make what is missing of the month; return how many pieces of work were added. Needs the demo data, the
    shipped checklists and letter templates, and dev mode (the demo users' tokens are signed with the dev key)."""
    # Requests of one trusted caller: no rate limit; the migrations ran already; no access line per request.
    quiet = msgspec.structs.replace(settings, rate_limit_per_minute=0, migrate_on_start=False, log_level="warning")
    try:
        async with AsyncTestClient(app=create_app(quiet)) as client:
            return await _load(Api(client, demo_tokens(settings)))
    finally:
        configure_logging(settings.log_level)  # creating the app set the process's log level to the quiet one


async def _load(api: Api) -> int:
    await _learn_ids(api)
    added = 0
    for work in INSPECTED:
        added += await _inspect(api, work)
    existing = await _planned_already(api)
    for assignment in ASSIGNMENTS:
        added += await _plan(api, assignment, existing)
    for complaint in COMPLAINTS:
        added += await _complaint(api, complaint)
    return added


async def _learn_ids(api: Api) -> None:
    for user in DEMO_USERS:
        api.ids[user[1]] = (await api.call(user[1], "GET", "/me"))["id"]
    for checklist in (await api.call("admin-hans", "GET", "/checklists"))["items"]:
        api.ids[checklist["key"]] = checklist["id"]


# --- inspections and their photos ----------------------------------------------------------------------------


def evidence_jpeg(number: int) -> bytes:
    """A small photo, the same bytes for the same number: a coloured scene with a frame and the photo's number."""
    colour = (40 + number * 67 % 180, 30 + number * 131 % 180, 40 + number * 29 % 180)
    image = Image.new("RGB", (320, 240), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 280, 200), outline=(255, 255, 255), width=4)
    draw.text((60, 110), f"Demo foto {number}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _finished_at(visit: Visit) -> datetime:
    return datetime.combine(today() - timedelta(days=visit.days_ago), visit.at, AMSTERDAM)


def _photos(work: Inspected) -> list[tuple[UUID, str | None, bytes]]:
    number = work.visit.number
    return [
        (_photo(number * 10 + index), question, evidence_jpeg(number * 10 + index))
        for index, question in enumerate(work.evidence)
    ]


def _establishment(object_id: UUID) -> tuple[Any, ...]:
    return next(row for row in DEMO_ESTABLISHMENTS if UUID(str(row[0])) == object_id)


def _submission(api: Api, work: Inspected, **extra: Any) -> dict[str, Any]:
    visit = work.visit
    finished = _finished_at(visit)
    latitude, longitude = _establishment(visit.object_id)[-2:]
    filled = {key: finished.isoformat() if value == AT_VISIT else value for key, value in visit.answers.items()}
    return {
        "object_id": str(visit.object_id),
        "team_id": visit.team,
        "checklists": [{"checklist_version_id": api.ids[visit.checklist], "answers": filled}],
        "started_at": (finished - timedelta(minutes=40)).isoformat(),
        "finished_at": finished.isoformat(),
        "position": {"latitude": latitude, "longitude": longitude, "accuracy_m": 6.0},
        "inspector_ids": [api.ids[visit.inspector]],
        "partners": list(work.partners),
        "observations": work.observations,
        "photos": [
            {
                "id": str(photo_id),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "checklist": 0,
                "question": question,
            }
            for photo_id, question, data in _photos(work)
        ],
        **extra,
    }


async def _inspect(api: Api, work: Inspected) -> int:
    """Submit the inspection as the inspector's phone, send its photos, then review, return or correct it."""
    visit = work.visit
    path = f"/inspections/{visit.id}"
    if await api.exists("coord-dirk", path):
        return 0
    await api.call(visit.inspector, "PUT", path, body=_submission(api, work))
    if work.upload:
        for photo_id, _, data in _photos(work):
            await api.call(
                visit.inspector,
                "PUT",
                f"{path}/photos/{photo_id}",
                content=data,
                headers={"Content-Type": "image/jpeg"},
            )
    if work.outcome == WAITING:
        return 1
    version = (await api.call("coord-dirk", "GET", path))["version"]
    if work.outcome == REVIEWED:
        await api.call("coord-dirk", "POST", f"{path}/review", version=version)
        if work.case is not None:
            await _set_addressee(api, visit.object_id)
            await work.case(api, await _case_of(api, visit.object_id))
        return 1
    returned = await api.call(
        "coord-dirk", "POST", f"{path}/return", body={"reason": work.return_reason}, version=version
    )
    if work.outcome == CORRECTED:
        corrected = _submission(api, work, base_revision=returned["revision"], observations=work.correction)
        await api.call(visit.inspector, "PUT", path, body=corrected)
    return 1


# --- enforcement ------------------------------------------------------------------------------------------------


# The operators whose cases the month takes further asked for their letters by e-mail (Awb 2:14); the letters go to
# their establishment's address.
OPERATORS: Mapping[UUID, tuple[str, str, str]] = {
    # establishment: operator, for the attention of, e-mail
    CLUB: ("Oudegracht Club B.V.", "de heer R. Dijkstra", "info@oudegrachtclub.example"),
    SUPERMARKT: ("Supermarkt Overvecht B.V.", "de filiaalmanager", "filiaal@overvecht.example"),
    SLIJTERIJ: ("Slijterij Lombok V.O.F.", "mevrouw S. el Idrissi", "info@slijterijlombok.example"),
    RIVIERENWIJK: ("Rivierenwijk Horeca V.O.F.", "de heer S. Koster", "info@derivier.example"),
    OOSTEN: ("Het Oosten Horeca B.V.", "mevrouw L. Verbeek", "info@hetoosten.example"),
    PRIVEHUIS: ("Zandpad Exploitatie B.V.", "de beheerder", "beheer@zandpad.example"),
}


async def _set_addressee(api: Api, object_id: UUID) -> None:
    name, attention, email = OPERATORS[object_id]
    street, number, postcode = _establishment(object_id)[3:6]
    addressee = {
        "name": name,
        "attention": attention,
        "street": f"{street} {number}",
        "postcode": f"{postcode[:4]} {postcode[4:]}",
        "city": "Utrecht",
        "email": email,
        "letters_by_email": True,
    }
    await api.call("admin-hans", "PUT", f"/objects/{object_id}/addressee", body=addressee)


async def _case_of(api: Api, object_id: UUID) -> Case:
    """The open case the review of an inspection of this object opened (or extended)."""
    found = await api.call("jur-eva", "GET", "/enforcement/cases", params={"object_id": str(object_id), "open": "true"})
    [listed] = found["items"]
    return dict(await api.call("jur-eva", "GET", f"/enforcement/cases/{listed['id']}"))


async def _draft(api: Api, case: Case, body: Mapping[str, Any]) -> Case:
    """jur-eva drafts the next step."""
    return dict(
        await api.call(
            "jur-eva", "POST", f"/enforcement/cases/{case['id']}/steps", body=dict(body), version=case["version"]
        )
    )


async def _on_last_step(api: Api, case: Case, action: str, who: str = "jur-eva", body: Any = None) -> Case:
    step = case["steps"][-1]["id"]
    path = f"/enforcement/cases/{case['id']}/steps/{step}/{action}"
    return dict(await api.call(who, "POST", path, body=body, version=case["version"]))


# The rules propose a warning for a first violation; the month shows the later steps of the ladder too.
DEVIATION = "Demo: de procedure loopt verder dan de eerste stap, zodat elke stap te zien is"
WARNING_TEXT = (
    "Bij de inspectie is een overtreding vastgesteld. Wij verzoeken u deze direct te beëindigen; bij een volgende "
    "overtreding volgt een sanctie."
)
MOTIVERING = (
    "De overtreding is bij een inspectie vastgesteld. De zienswijze geeft geen aanleiding om van een sanctie af te "
    "zien; de sanctie is passend en evenredig."
)


async def _warning_sent(api: Api, case: Case) -> None:
    case = await _draft(api, case, {"type": "warning", "document_text": WARNING_TEXT})
    await _on_last_step(api, case, "send")


async def _voornemen_sent(api: Api, case: Case, **terms: Any) -> Case:
    case = await _draft(api, case, {"type": "voornemen", "deviation_reason": DEVIATION, **terms})
    return await _on_last_step(api, case, "send")


async def _zienswijze_pending(api: Api, case: Case) -> None:
    """A voornemen boete sent today: the term for a zienswijze runs, a week, so the deadlines list has it this week."""
    await _voornemen_sent(api, case, decision="boete", amount_cents=272_000, zienswijze_weeks=1)


async def _besluit_drafted(api: Api, case: Case, zienswijze: str, **decision: Any) -> Case:
    """The voornemen of this decision sent, the offender's zienswijze on it recorded, the besluit drafted."""
    case = await _voornemen_sent(api, case, **decision)
    case = await _on_last_step(api, case, "zienswijze", body={"received": True, "summary": zienswijze})
    return await _draft(
        api, case, {"type": "besluit", **decision, "document_text": MOTIVERING, "deviation_reason": DEVIATION}
    )


async def _besluit_sent(api: Api, case: Case, zienswijze: str, **decision: Any) -> Case:
    """The besluit `_besluit_drafted` drafts, approved by jur-frank and sent today."""
    case = await _besluit_drafted(api, case, zienswijze, **decision)
    case = await _on_last_step(api, case, "approve", who="jur-frank")
    return await _on_last_step(api, case, "send")


async def _besluit_awaiting_approval(api: Api, case: Case) -> None:
    """The voornemen answered (zienswijze recorded), the besluit boete drafted: a second officer is to approve it."""
    zienswijze = "Eigenaar stelt dat de kassamedewerker nieuw was; het beleid is aangescherpt."
    await _besluit_drafted(api, case, zienswijze, decision="boete", amount_cents=136_000)


DWANGSOM = {
    "decision": "last_onder_dwangsom",
    "order_text": "Zorg dat tijdens openingstijden altijd een leidinggevende van de vergunning aanwezig is",
    "begunstiging_days": 14,
    "dwangsom_cents": 50_000,
    "dwangsom_unit": "per_violation",
    "dwangsom_max_cents": 250_000,
}


async def _dwangsom_running(api: Api, case: Case) -> None:
    """A last onder dwangsom approved by jur-frank and sent today: the begunstigingstermijn runs and the
    hercontrole after it is planned."""
    await _besluit_sent(api, case, "Exploitant zegt toe een tweede leidinggevende aan te stellen.", **DWANGSOM)


async def _bezwaar_registered(api: Api, case: Case) -> None:
    """The whole boete procedure, sent today, and the offender's bezwaar against it received today."""
    zienswijze = "Exploitant betwist dat de leidinggevende afwezig was: hij zou even buiten zijn geweest."
    case = await _besluit_sent(api, case, zienswijze, decision="boete", amount_cents=102_000)
    besluit = case["steps"][-1]["id"]
    await _draft(api, case, {"type": "bezwaar", "related_step_id": besluit, "received_on": today().isoformat()})


INSPECTED: list[Inspected] = [
    # Reviewed, with violations: each opens a case the jurists take to another step.
    Inspected(
        Visit(1, CLUB, "insp-anna", "alcohol-horeca", HORECA_NO_MANAGER_NO_NOTICE, days_ago=26, at=clock(23, 45)),
        REVIEWED,
        observations="Verscherpt toezicht. Geen leidinggevende aanwezig; leeftijdsgrens niet zichtbaar bij de bar.",
        partners=("politie",),
        evidence=("AW-06", None),
        case=_warning_sent,
    ),
    Inspected(
        Visit(2, SUPERMARKT, "insp-chantal", "nix18-purchase-attempt", NIX18_SOLD_NO_ID, days_ago=21, at=clock(17, 10)),
        REVIEWED,
        observations="Testkoper (17 jaar) kocht een blikje bier aan de zelfscankassa zonder leeftijdscontrole.",
        evidence=("NX-04",),
        case=_zienswijze_pending,
    ),
    Inspected(
        Visit(3, SLIJTERIJ, "insp-chantal", "alcohol-shop", SHOP_AGE_NOT_ESTABLISHED, days_ago=18, at=clock(18, 20)),
        REVIEWED,
        observations="Verkoop van sterke drank aan een jongere zonder naar legitimatie te vragen.",
        case=_besluit_awaiting_approval,
    ),
    Inspected(
        Visit(4, RIVIERENWIJK, "insp-anna", "alcohol-horeca", HORECA_NO_MANAGER, days_ago=15, at=clock(22, 50)),
        REVIEWED,
        observations="Opnieuw geen leidinggevende aanwezig; het personeel kon niemand bereiken.",
        evidence=(None,),
        case=_dwangsom_running,
    ),
    Inspected(
        Visit(5, OOSTEN, "insp-anna", "alcohol-horeca", HORECA_NO_MANAGER, days_ago=24, at=clock(0, 30)),
        REVIEWED,
        observations="Geen leidinggevende aanwezig na middernacht.",
        case=_bezwaar_registered,
    ),
    Inspected(
        Visit(6, PRIVEHUIS, "insp-bram", "sexwork-establishment", SEXWORK_NO_MANAGER, days_ago=12, at=clock(1, 15)),
        REVIEWED,
        observations=None,
        partners=("politie",),
        case=_warning_sent,
    ),
    # Reviewed without violations.
    Inspected(
        Visit(7, COFFEESHOP, "insp-bram", "coffeeshop", COFFEESHOP_OK, days_ago=20, at=clock(15, 0)),
        REVIEWED,
        observations="Jaarlijkse controle; handelsvoorraad gewogen: 420 gram.",
        evidence=(None,),
    ),
    Inspected(
        Visit(8, SPEELHAL, "insp-anna", "gambling-arcade", ARCADE_OK, days_ago=9, at=clock(20, 0)),
        REVIEWED,
        observations="Cruks-controle bij de ingang werkt; geen minderjarigen.",
        partners=("kansspelautoriteit",),
    ),
    Inspected(
        Visit(9, KANTINE, "insp-chantal", "alcohol-paracommercie", PARACOMMERCIE_OK, days_ago=6, at=clock(16, 30)),
        REVIEWED,
        observations="Barvrijwilligers met IVA-certificaat; schenktijden volgens het reglement.",
    ),
    # Waiting for the coordinator's review.
    Inspected(
        Visit(10, CAFETARIA, "insp-chantal", "nix18-purchase-attempt", NIX18_NOT_SOLD, days_ago=3, at=clock(19, 40)),
        WAITING,
        observations="Testkoper werd om legitimatie gevraagd; geen verkoop.",
    ),
    Inspected(
        Visit(11, LEIDSCHE_RIJN, "insp-chantal", "alcohol-shop", SUPERMARKT_OK, days_ago=2, at=clock(11, 15)),
        WAITING,
        observations="Leeftijdsgrens goed zichtbaar bij alle kassa's.",
        evidence=(None,),
    ),
    # Submitted yesterday; the phone has not sent its photo yet.
    Inspected(
        Visit(12, KANALENEILAND, "insp-chantal", "alcohol-shop", SHOP_OK, days_ago=1, at=clock(17, 50)),
        WAITING,
        observations="Controle zonder bijzonderheden.",
        evidence=(None,),
        upload=False,
    ),
    # Returned to the inspector with a reason; and one returned and since corrected, to be reviewed again.
    Inspected(
        Visit(13, KANAAL, "insp-bram", "coffeeshop", COFFEESHOP_OK, days_ago=8, at=clock(14, 20)),
        RETURNED,
        observations="Controle zonder bijzonderheden.",
        return_reason="De handelsvoorraad is niet gewogen maar geschat; weeg de voorraad en vul CS-07 opnieuw in.",
    ),
    Inspected(
        Visit(14, DE_MEERN, "insp-chantal", "alcohol-paracommercie", PARACOMMERCIE_OK, days_ago=11, at=clock(21, 0)),
        CORRECTED,
        observations="Kantine open tijdens de training.",
        return_reason="Vermeld of er een bestuurder met Verklaring Sociale Hygiëne aanwezig was.",
        correction="Kantine open tijdens de training. Bestuurder met Verklaring Sociale Hygiëne was aanwezig.",
    ),
]


# --- planning ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """An assignment coord-dirk plans, its window `starts_in` days from today for `days` days."""

    object_id: UUID
    team: str
    regime: str
    checklist: str
    inspectors: tuple[str, ...]
    reason: str
    starts_in: int
    days: int
    notes: str
    partners: tuple[str, ...] = ()


DOMTOREN = _object(1)
ASSIGNMENTS: list[Planned] = [
    Planned(
        CLUB,
        "team-centrum",
        "alcohol",
        "alcohol-horeca",
        ("insp-anna", "insp-bram"),
        "verscherpt_toezicht",
        0,
        6,
        "Verscherpt toezicht: vrijdag- of zaterdagnacht na 01:00.",
        ("politie",),
    ),
    Planned(
        DOMTOREN,
        "team-centrum",
        "gambling",
        "gambling-machines",
        ("insp-anna",),
        "regular_cycle",
        2,
        8,
        "Kansspelautomaten tellen.",
    ),
    Planned(
        LEIDSCHE_RIJN,
        "team-west",
        "nix18",
        "nix18-purchase-attempt",
        ("insp-chantal",),
        "project",
        1,
        12,
        "NIX18-actie supermarkten: twee aankooppogingen met testkopers.",
    ),
    # Its window ends today: from tomorrow the planning lists it as overdue.
    Planned(
        KANALENEILAND,
        "team-west",
        "alcohol",
        "alcohol-shop",
        ("insp-chantal",),
        "regular_cycle",
        0,
        0,
        "Reguliere cyclus.",
    ),
    Planned(
        PRIVEHUIS,
        "team-centrum",
        "sexwork",
        "sexwork-establishment",
        ("insp-bram",),
        "regular_cycle",
        3,
        7,
        "Jaarlijkse controle vergunning.",
    ),
    Planned(
        KANAAL,
        "team-centrum",
        "coffeeshop",
        "coffeeshop",
        ("insp-bram",),
        "regular_cycle",
        5,
        9,
        "Jaarlijkse controle gedoogcriteria.",
    ),
]


async def _planned_already(api: Api) -> set[tuple[str, str]]:
    """(object id, reason) of every assignment there is: the demo plans one of each."""
    found: set[tuple[str, str]] = set()
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = await api.call("coord-dirk", "GET", "/assignments", params=params)
        found |= {(item["object_id"], item["reason"]) for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return found


def _who_and_when(api: Api, planned: Planned) -> dict[str, Any]:
    """What an assignment and a complaint's planned inspection both say: team, checklist, window, inspectors."""
    start = today() + timedelta(days=planned.starts_in)
    return {
        "team_id": planned.team,
        "checklist_version_ids": [api.ids[planned.checklist]],
        "planned_from": start.isoformat(),
        "planned_to": (start + timedelta(days=planned.days)).isoformat(),
        "inspector_ids": [api.ids[who] for who in planned.inspectors],
        "partners": list(planned.partners),
        "notes": planned.notes,
    }


async def _plan(api: Api, planned: Planned, existing: set[tuple[str, str]]) -> int:
    if (str(planned.object_id), planned.reason) in existing:
        return 0
    body = {
        "object_id": str(planned.object_id),
        "regimes": [planned.regime],
        "reason": planned.reason,
        **_who_and_when(api, planned),
    }
    await api.call("coord-dirk", "POST", "/assignments", body=body)
    return 1


# --- complaints -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Complaint:
    """A complaint klacht-gerda registers (received `days_ago`), and the steps taken on it since."""

    reference: str
    category: str
    channel: str
    days_ago: int
    description: str
    address: Mapping[str, Any] | None = None
    object_id: UUID | None = None
    reporter: Mapping[str, str] | None = None
    steps: tuple[Mapping[str, Any], ...] = ()  # transitions, in order
    inspection: Planned | None = None  # planned from the complaint after its steps

    @property
    def body(self) -> dict[str, Any]:
        received = datetime.combine(today() - timedelta(days=self.days_ago), clock(9, 30), AMSTERDAM)
        body: dict[str, Any] = {
            "category": self.category,
            "description": self.description,
            "channel": self.channel,
            "incident_at": (received - timedelta(hours=10)).isoformat(),
            "received_at": received.isoformat(),
            "external_reference": self.reference,
            "wants_feedback": self.reporter is not None,
        }
        if self.address is not None:
            body["address"] = dict(self.address)
        if self.object_id is not None:
            body["object_id"] = str(self.object_id)
        if self.reporter is not None:
            body["reporter"] = dict(self.reporter)
        return body


TAKE_UP: Mapping[str, Any] = {"to": "in_progress"}


async def _complaint(api: Api, complaint: Complaint) -> int:
    """Register the complaint as klacht-gerda, who takes it up and moves it on; coord-dirk plans its inspection."""
    current = await api.call("klacht-gerda", "POST", "/complaints", body=complaint.body, expect=(201, 409))
    if current.get("code") == "duplicate_external_reference":
        return 0  # registered by an earlier load
    if "id" not in current:
        raise DemoLoadError(f"POST /complaints {complaint.reference}: {current}")
    path = f"/complaints/{current['id']}"
    if complaint.steps:
        body = {"handler_id": api.ids["klacht-gerda"]}
        current = await api.call("klacht-gerda", "POST", f"{path}/handler", body=body, version=current["version"])
    for step in complaint.steps:
        current = await api.call(
            "klacht-gerda", "POST", f"{path}/transitions", body=dict(step), version=current["version"]
        )
    if complaint.inspection is not None:
        body = _who_and_when(api, complaint.inspection)
        await api.call("coord-dirk", "POST", f"{path}/inspections", body=body, version=current["version"])
    return 1


def _reporter(name: str, email: str | None = None, phone: str | None = None) -> dict[str, str]:
    contact = {"name": name, "email": email, "phone": phone}
    return {key: value for key, value in contact.items() if value is not None}


COMPLAINTS: list[Complaint] = [
    Complaint(
        "DEMO-MELDING-01",
        "geluidsoverlast_horeca",
        "phone",
        1,
        "Harde bassen uit de club tot 04:00 uur, deuren staan open.",
        address={"street": "Oudegracht", "house_number": 240, "postcode": "3511 NK"},
        reporter=_reporter("J. Hendriks", phone="06 23456789"),
    ),
    Complaint(
        "DEMO-MELDING-02",
        "overlast_bezoekers_parkeren",
        "web_form",
        9,
        "Bezoekers van het café parkeren elke avond op de stoep en voor mijn uitrit.",
        address={"street": "Vechtstraat", "house_number": 52, "postcode": "3523 XB"},
        reporter=_reporter("P. de Graaf", email="p.degraaf@example.nl"),
    ),
    Complaint(
        "DEMO-MELDING-03",
        "drugsoverlast",
        "email",
        16,
        "Groepjes die voor de coffeeshop blijven hangen en dealen; veel afval op de kade.",
        address={"street": "Bemuurde Weerd Oostzijde", "house_number": 9, "postcode": "3514 AN"},
        reporter=_reporter("M. Bos", email="m.bos@example.nl"),
        steps=(TAKE_UP,),
    ),
    Complaint(
        "DEMO-MELDING-04",
        "geluidsoverlast_horeca",
        "counter",
        25,
        "Terras blijft na 23:00 uur vol en luidruchtig, ook doordeweeks.",
        object_id=OOSTEN,
        reporter=_reporter("A. Yilmaz", phone="030-2345678"),
        steps=(TAKE_UP,),
    ),
    Complaint(
        "DEMO-MELDING-05",
        "verkoop_alcohol_minderjarigen",
        "phone",
        4,
        "Mijn zoon van 15 kocht hier zonder problemen bier.",
        object_id=CAFETARIA,
        reporter=_reporter("R. Kramer", phone="06 34567890"),
        steps=(TAKE_UP,),
        inspection=Planned(
            CAFETARIA,
            "team-west",
            "nix18",
            "nix18-purchase-attempt",
            ("insp-chantal",),
            "complaint",
            1,
            7,
            "Aankooppoging met testkoper naar aanleiding van een melding.",
        ),
    ),
    Complaint(
        "DEMO-MELDING-06",
        "geluidsoverlast_horeca",
        "email",
        16,
        "Elke vrijdag livemuziek tot diep in de nacht.",
        object_id=RIVIERENWIJK,
        reporter=_reporter("E. van Dam", email="e.vandam@example.nl"),
        steps=(
            TAKE_UP,
            {
                "to": "resolved",
                "outcome": "violation_found",
                "answer": "Bij een controle is een overtreding vastgesteld; de exploitant is aangeschreven. "
                "Dank voor uw melding.",
            },
        ),
    ),
    Complaint(
        "DEMO-MELDING-07",
        "other",
        "phone",
        10,
        "Fietsen en scooters op de stoep voor de snackbar.",
        address={"street": "Kanaalstraat", "house_number": 14, "postcode": "3531 CE"},
        steps=(
            {
                "to": "rejected",
                "forwarded_to": "Politie Utrecht",
                "reason": "Fout parkeren is aan de politie en de BOA's openbare ruimte.",
            },
        ),
    ),
    # Sex work: only users scoped for the sexwork regime see this complaint.
    Complaint(
        "DEMO-MELDING-08",
        "illegale_prostitutie",
        "web_form",
        3,
        "Advertentie voor een woning waar 's nachts veel mannen komen; vermoeden van illegale prostitutie.",
        address={"street": "Amsterdamsestraatweg", "house_number": 520, "postcode": "3553 EP"},
        steps=(TAKE_UP,),
    ),
    Complaint(
        "DEMO-MELDING-09",
        "illegaal_gokken",
        "api",
        2,
        "Gokkasten in het achterzaaltje van een café, ook jongeren spelen er.",
        address={"street": "Amsterdamsestraatweg", "house_number": 300, "postcode": "3551 CT"},
    ),
]
