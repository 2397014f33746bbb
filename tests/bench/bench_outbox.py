"""Outbox benchmark: webhook events dispatched per second to a loopback receiver, and inspection submissions/s
with the outbox on against off in the same run.

    .venv/bin/python tests/bench/bench_outbox.py [--submissions 1200] [--rounds 3] [--events 3000]
                                                 [--json out.json] [--check]

A quick check that it works (figures too small to mean much): --submissions 240 --rounds 2 --events 300.

One run, on an embedded PostgreSQL in a temporary directory (production settings, fsync on), with `toezicht
serve` (1 worker) on loopback, and a webhook receiver (asyncio, a process of its own, answering 204 at once) on
loopback:

1. submissions: 20 connections send different 40-answer inspections as fast as they are answered (as in
   bench_inspections.py). Three sides:
   "off": no subscription wants the event, so the outbox writes nothing;
   "written": one subscription wants every submission, so each writes its message in its own transaction
   (the outbox's cost to a submission; nothing is delivered). Target: at least 0.9 of off;
   "delivered": the same while a `toezicht dispatch` process delivers them (signed) during the phase, on the
   same machine, so it also shows the CPU the deliveries take from the server when both share the cores.
   Each round measures the sides in mirrored order, off-written-delivered-delivered-written-off, so a machine
   that speeds up or slows down steadily during the round weighs on every side alike; each phase starts from
   the same database (a fresh copy of one prepared template, with a server started on it) and sends the same
   submissions. A round's ratio is a side's submissions/s over off's, both over its two phases; the result is
   the median of the rounds' ratios, and every round's figures are printed.
2. dispatch: --events messages committed at once, with `toezicht dispatch` already listening, then the time
   until the receiver has had every one of them: deliveries per second, each signature checked by the receiver.
The server runs with TOEZICHT_OUTBOX_DISPATCHER=false, so deliveries happen only where the benchmark says.
Figures are printed; --check turns a missed target into exit code 1 (the machine's speed, timed before each
phase, is printed with the figures: a shared machine's figures are only as steady as it is).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import multiprocessing
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

import asyncpg  # noqa: E402
import bench_cli  # noqa: E402
import bench_http  # noqa: E402
import bench_inspections as inspections  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402

from backend.core import embedded  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402

# Each round, mirrored: linear drift of the machine weighs on every side alike.
ORDER = ("off", "written", "delivered", "delivered", "written", "off")
TEMPLATE = "bench_inspections"  # prepared once; every phase runs on a fresh copy of it
WEBHOOK_ENV = {"TOEZICHT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "TOEZICHT_WEBHOOK_ALLOW_HTTP": "true"}
TARGET_ON_OFF_RATIO = 0.9
DRAIN_TIMEOUT_S = 300.0


# --- the receiver ----------------------------------------------------------------------------------------


class Receiver:
    """A minimal HTTP/1.1 server in a process of its own (so it takes no time from the client's event loop):
    counts deliveries and checks each signature with the key it is given."""

    def __init__(self) -> None:
        self._received = multiprocessing.Value("q", 0)
        self._bad = multiprocessing.Value("q", 0)
        self._port = multiprocessing.Value("i", 0)
        self._key = multiprocessing.Array("c", 64)
        self._process = multiprocessing.Process(
            target=_receive, args=(self._port, self._received, self._bad, self._key), daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._port.value)

    @property
    def received(self) -> int:
        return int(self._received.value)

    @property
    def bad_signatures(self) -> int:
        return int(self._bad.value)

    def use_secret(self, secret: str) -> None:
        self._key.raw = base64.b64decode(secret.removeprefix("whsec_")).ljust(64, b"\0")

    def start(self) -> None:
        self._process.start()
        deadline = time.monotonic() + 10
        while not self.port and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)


def _receive(port: Any, received: Any, bad: Any, key: Any) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines if ": " in line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
                mac = hmac.new(key.raw[:32], signed, hashlib.sha256).digest()
                with received.get_lock():
                    received.value += 1
                if "v1," + base64.b64encode(mac).decode() not in headers["webhook-signature"].split(" "):
                    with bad.get_lock():
                        bad.value += 1
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(main())


# --- the server and the API calls ---------------------------------------------------------------------------


@contextlib.contextmanager
def serve(url: str, data_dir: Path, log: Path) -> Iterator[tuple[str, int]]:
    port = bench_http.free_port()
    env = bench_http.ours_env(data_dir)
    env.update(DATABASE_URL=url, TOEZICHT_OUTBOX_DISPATCHER="false", **WEBHOOK_ENV)
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(bench_http.TOEZICHT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            bench_http.wait_ready(process, f"http://127.0.0.1:{port}", log)
            yield "127.0.0.1", port
        finally:
            bench_http.stop(process)


@contextlib.contextmanager
def dispatching(url: str, data_dir: Path) -> Iterator[None]:
    """`toezicht dispatch` as its own process while the block runs (stopped by SIGTERM, as systemd would)."""
    env = bench_http.ours_env(data_dir)
    env.update(DATABASE_URL=url, **WEBHOOK_ENV)
    process = subprocess.Popen(
        [str(bench_http.TOEZICHT), "dispatch"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def admin_headers(data_dir: Path) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": inspections.SETTINGS["issuer"],
        "aud": inspections.SETTINGS["audience"],
        "sub": "bench-admin",
        "iat": now,
        "exp": now + 4 * 3600,
        "roles": ["admin"],
        "regimes": inspections.REGIMES,
    }
    token = mint_dev_token(load_or_create_dev_key(data_dir / "dev-signing-key.pem"), claims)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def api(host: str, port: int, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        answer = await http.request(method, path, headers=headers, json=body)
    assert answer.status_code in (200, 201, 204), (answer.status_code, answer.text[:500])
    return answer.json() if answer.content else None


async def subscribe(host: str, port: int, admin: dict[str, str], receiver: Receiver) -> str:
    created = await api(
        host,
        port,
        "POST",
        "/api/v1/subscriptions",
        admin,
        {
            "url": f"http://127.0.0.1:{receiver.port}/hooks",
            "event_types": ["inspection.submitted"],
            "regimes": inspections.REGIMES,
        },
    )
    receiver.use_secret(created["secret"])
    return str(created["id"])


async def unsubscribe(host: str, port: int, admin: dict[str, str], subscription_id: str) -> None:
    await api(host, port, "DELETE", f"/api/v1/subscriptions/{subscription_id}", {**admin, "If-Match": '"1"'})


# --- 1. submissions with the outbox on and off ------------------------------------------------------------


class Databases:
    """Fresh copies of the prepared template database, one per phase, dropped after it."""

    def __init__(self, admin_url: str, server: Any) -> None:
        self.admin_url, self.server, self.made = admin_url, server, 0

    @contextlib.asynccontextmanager
    async def copy(self) -> Any:
        self.made += 1
        name = f"bench_phase_{self.made}"
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            yield self.server.get_uri(name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def phase(
    world: inspections.World, databases: Databases, receiver: Receiver, side: str, total: int
) -> inspections.Run:
    """One side's submissions on a fresh copy of the template, with a server of its own; the same submissions
    every phase (the same seed: each phase's database has none of them yet)."""
    async with databases.copy() as url:
        here = msgspec.structs.replace(world, url=url)
        with serve(url, world.data_dir, world.data_dir / "server.log") as (host, port):
            crew = await inspections.phones(host, port, world.data_dir, inspections.CONCURRENCY, "sender")
            if side != "off":
                await subscribe(host, port, admin_headers(world.data_dir), receiver)
            delivering = dispatching(url, world.data_dir) if side == "delivered" else contextlib.nullcontext()
            with delivering:
                return await inspections.run_throughput(here, host, port, random.Random(20261204), total, crew)


def rate(run: inspections.Run) -> float:
    return len(run.latencies_ms) / run.seconds


async def on_and_off(
    world: inspections.World, databases: Databases, receiver: Receiver, total: int, rounds: int
) -> dict[str, Any]:
    """`rounds` mirrored rounds (ORDER); `total` submissions per side over all of them."""
    per_phase = max(inspections.CONCURRENCY, total // (rounds * ORDER.count("off")))
    sides: dict[str, list[inspections.Run]] = {"off": [], "written": [], "delivered": []}
    per_round = []
    for number in range(1, rounds + 1):
        runs: dict[str, list[inspections.Run]] = {side: [] for side in sides}
        speed = []
        for side in ORDER:
            speed.append(inspections.machine_speed_ms())
            runs[side].append(await phase(world, databases, receiver, side, per_phase))
        mean = {side: statistics.fmean(rate(run) for run in done) for side, done in runs.items()}
        figures = {
            "round": number,
            **{f"{side}_per_s": [round(rate(run), 1) for run in done] for side, done in runs.items()},
            "ratio_written": round(mean["written"] / mean["off"], 3),
            "ratio_delivered": round(mean["delivered"] / mean["off"], 3),
            "machine_loop_ms": speed,
        }
        inspections.progress(f"round {number}", figures)
        per_round.append(figures)
        for side, done in runs.items():
            sides[side].extend(done)
    return {
        **{side: inspections.summary(done) for side, done in sides.items()},
        "rounds": per_round,
        "ratio_written": statistics.median(r["ratio_written"] for r in per_round),
        "ratio_delivered": statistics.median(r["ratio_delivered"] for r in per_round),
    }


# --- 2. dispatch rate ----------------------------------------------------------------------------------------

ENQUEUE = """
WITH inserted AS (
    INSERT INTO outbox_message (id, event_id, event_type, subscription_id, payload)
    SELECT gen_random_uuid(), gen_random_uuid(), 'inspection.submitted', $1,
           jsonb_build_object(
               'specversion', '1.0', 'id', gen_random_uuid(), 'type', 'nl.toezicht-bw.inspection.submitted',
               'source', 'urn:nld:toezicht-bw', 'subject', 'inspection/' || gen_random_uuid(),
               'data', jsonb_build_object('regimes', jsonb_build_array('alcohol')))
    FROM generate_series(1, $2)
    RETURNING 1
)
SELECT count(*), pg_notify('outbox_message', '') FROM inserted
"""


async def dispatch_rate(
    world: inspections.World, host: str, port: int, receiver: Receiver, events: int
) -> dict[str, Any]:
    """The dispatcher process is up (listening) before the messages commit; the clock runs from the commit until
    the receiver has had the last of them."""
    subscription = await subscribe(host, port, admin_headers(world.data_dir), receiver)
    before = receiver.received
    conn = await asyncpg.connect(world.url)
    try:
        with dispatching(world.url, world.data_dir):
            await until(lambda: conn.fetchval(LISTENING), "the dispatcher did not start")
            started = time.perf_counter()
            await conn.fetchrow(ENQUEUE, subscription, events)

            async def all_received() -> bool:
                return receiver.received - before >= events

            await until(all_received, "not every event arrived")
            elapsed = time.perf_counter() - started
        delivered = await conn.fetchval("SELECT count(*) FROM outbox_message WHERE state = 'delivered'")
    finally:
        await conn.close()
    return {
        "events": events,
        "seconds": round(elapsed, 2),
        "per_s": round(events / elapsed, 1),
        "received": receiver.received - before,
        "bad_signatures": receiver.bad_signatures,
        "delivered_rows": delivered,
    }


LISTENING = "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'toezicht-outbox'"


async def until(condition: Any, failure: str) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        await asyncio.sleep(0.01)


# --- the run -----------------------------------------------------------------------------------------------


def run(args: Any) -> dict[str, Any]:
    rng = random.Random(1)
    receiver = Receiver()
    receiver.start()
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-outbox-") as tmp:
        data_dir = Path(tmp)
        server, admin_url = embedded.start(data_dir / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            url = asyncio.run(inspections._create_database(admin_url, server))
            versions, objects = asyncio.run(inspections.prepare(url, rng))
            world = inspections.World(url=url, data_dir=data_dir, versions=versions, objects=objects)
            databases = Databases(admin_url, server)

            async def scenarios() -> dict[str, Any]:
                submissions = await on_and_off(world, databases, receiver, args.submissions, args.rounds)
                async with databases.copy() as copy:
                    with serve(copy, data_dir, data_dir / "server.log") as (host, port):
                        here = msgspec.structs.replace(world, url=copy)
                        dispatch = await dispatch_rate(here, host, port, receiver, args.events)
                return {"submissions": submissions, "dispatch": dispatch}

            return asyncio.run(scenarios())
        finally:
            receiver.stop()
            with contextlib.suppress(Exception):
                server.cleanup()  # type: ignore[attr-defined]


def report(results: dict[str, Any]) -> list[str]:
    pair, dispatch = results["submissions"], results["dispatch"]
    print("submissions per s, each round mirrored (off written delivered delivered written off):")
    print(f"{'round':>5} {'off':>15} {'written':>15} {'delivered':>15} {'written/off':>12} {'delivered/off':>14}")
    for r in pair["rounds"]:
        cells = [" ".join(f"{v:7.1f}" for v in r[f"{side}_per_s"]) for side in SIDES]
        print(
            f"{r['round']:>5} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15} "
            f"{r['ratio_written']:12.3f} {r['ratio_delivered']:14.3f}"
        )
    print(f"machine loop ms before each phase: {[r['machine_loop_ms'] for r in pair['rounds']]}")
    print(f"{'all phases of a side':34} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for side, label in SIDES.items():
        figures = pair[side]
        print(f"{label:34} {figures['per_s']:8.0f} {figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f}")
    print(
        f"outbox on / off, median of the rounds: {pair['ratio_written']:.3f} written "
        f"(target >= {TARGET_ON_OFF_RATIO}), {pair['ratio_delivered']:.3f} written and delivered on the same machine"
    )
    print(
        f"dispatch: {dispatch['events']} events delivered to a loopback receiver in {dispatch['seconds']} s = "
        f"{dispatch['per_s']:.0f} events/s ({dispatch['bad_signatures']} bad signatures)"
    )
    missed = []
    if pair["ratio_written"] < TARGET_ON_OFF_RATIO:
        missed.append(f"submissions with the outbox on below {TARGET_ON_OFF_RATIO} of off")
    if dispatch["bad_signatures"] or dispatch["received"] < dispatch["events"]:
        missed.append("deliveries missing or badly signed")
    return missed


SIDES = {
    "off": "outbox off (no subscription)",
    "written": "outbox on, messages written",
    "delivered": "outbox on, written and delivered",
}


def main(argv: list[str] | None = None) -> int:
    parser = bench_cli.arguments(__doc__)
    parser.add_argument("--submissions", type=int, default=1200, help="per side, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="mirrored rounds (the median ratio counts)")
    parser.add_argument("--events", type=int, default=3000, help="messages for the dispatch rate")
    args = parser.parse_args(argv)
    results = run(args)
    missed = report(results)
    for line in missed:
        print(f"target missed: {line}")
    return bench_cli.finish(args, results, ok=not missed)


if __name__ == "__main__":
    sys.exit(main())
