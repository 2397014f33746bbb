"""HTTP benchmark: our app against a bare Litestar app, measured in the same run on loopback.

    .venv/bin/python tests/bench/bench_http.py [--duration 10] [--connections 32] [--json out.json]

Measures requests/s and p50/p99 latency with `wrk` for
  GET /api/v1/me      (valid bearer token: token check, principal lookup, request id, access log)
  GET /health/ready   (ours asks the database; the bare one does not)
on `toezicht serve` (started the production way: embedded PostgreSQL in a temporary data directory,
log level info with the access log going to /dev/null) and on tests/bench/bare_app.py under the same
uvicorn settings (1 worker, uvloop, httptools, no uvicorn access log). One server runs at a time, so the
two never compete for the CPUs. Our figures are reported as a ratio of the bare app's, because absolute
numbers depend on the machine and on what else it runs. Target: /api/v1/me at least 0.7 of bare.

Exit codes: 0 measured, 1 a server or the measurement failed (or --check and below target), 2 wrk missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TOEZICHT = BIN / "toezicht"

ME, READY = "/api/v1/me", "/health/ready"
ENDPOINTS = (ME, READY)
TARGET_ME_RATIO = 0.7
TOKEN_ARGS = ["--sub", "bench-user", "--role", "inspector", "--regime", "alcohol"]

STARTUP_TIMEOUT_S = 120.0  # the first start of ours runs initdb and the migrations
STOP_TIMEOUT_S = 30.0
VERSIONED = (
    "litestar",
    "uvicorn",
    "uvloop",
    "httptools",
    "msgspec",
    "structlog",
    "python-jose",
    "cryptography",
    "asyncpg",
)


@dataclass
class Result:
    endpoint: str
    server: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us_per_request: float | None  # the server process's CPU time (not PostgreSQL's), user + system


# --- wrk ---------------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_TOTAL = re.compile(r"^\s+(\d+) requests in ", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, requests, errors) from `wrk --latency` output."""
    rps, total = _RPS.search(output), _TOTAL.search(output)
    percentiles = {int(p): float(value) * _UNIT_MS[unit] for p, value, unit in _PERCENTILE.findall(output)}
    if not rps or not total or set(percentiles) != {50, 99}:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    errors += sum(int(n) for counts in _SOCKET_ERRORS.findall(output) for n in counts)
    return float(rps.group(1)), percentiles[50], percentiles[99], int(total.group(1)), errors


def run_wrk(wrk: str, url: str, *, seconds: float, connections: int, threads: int, token: str | None) -> str:
    command = [wrk, "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


# --- servers -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, token: str | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Poll /health/ready until it answers 200 (bounded); fail early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready:\n{_tail(log)}")
        with contextlib.suppress(OSError):
            if http_get(base + READY, timeout=1.0)[0] == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (graceful: uvicorn drains, our serve then stops its embedded PostgreSQL), then harder."""
    for sig, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait_s)


def stop_leftover_postgres(pgdata: Path) -> None:
    """If the serve process could not stop its PostgreSQL (it was killed), stop it here (fast shutdown)."""
    pidfile = pgdata / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().splitlines()[0])
        print(f"warning: embedded PostgreSQL (pid {pid}) still running; stopping it", file=sys.stderr)
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises once it is gone
            time.sleep(0.2)


def ours_env(data_dir: Path) -> dict[str, str]:
    """Production defaults: no TOEZICHT_* overrides from the caller's shell, no DATABASE_URL (so an
    embedded PostgreSQL starts with its data in `data_dir`), log level info."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOEZICHT_") and k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")
    }
    env.update(TOEZICHT_DATA_DIR=str(data_dir), TOEZICHT_LOG_LEVEL="info", TOEZICHT_WORKERS="1")
    return env


@contextlib.contextmanager
def serve_ours(port: int, data_dir: Path, log: Path) -> Iterator[tuple[str, int]]:
    base = f"http://127.0.0.1:{port}"
    # stdout carries the JSON access log: writing it is part of the real cost, reading it is not.
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(TOEZICHT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=ours_env(data_dir),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # a Ctrl-C on the bench reaches it once, through stop(), not twice
        )
        try:
            wait_ready(process, base, log)
            yield base, process.pid
        finally:
            stop(process)
            stop_leftover_postgres(data_dir / "pgdata")


@contextlib.contextmanager
def serve_bare(port: int, log: Path) -> Iterator[tuple[str, int]]:
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(BENCH_DIR),
        "bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-server-header",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        try:
            wait_ready(process, base, log)
            yield base, process.pid
        finally:
            stop(process)


def mint_token(data_dir: Path) -> str:
    done = subprocess.run(
        [str(TOEZICHT), "token", *TOKEN_ARGS],
        cwd=ROOT,
        env=ours_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"toezicht token failed: {done.stderr}")
    return done.stdout.strip()


# --- measuring ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far (Linux /proc), or None where that is not available."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


def measure(wrk: str, server: str, base: str, pid: int, token: str, args: argparse.Namespace) -> list[Result]:
    results = []
    for endpoint in ENDPOINTS:
        url, bearer = base + endpoint, token if endpoint == ME else None
        status, body = http_get(url, bearer)
        if status != 200:
            raise RuntimeError(f"{server} {endpoint} answered {status}: {body[:300]!r}")
        if args.warmup > 0:
            run_wrk(wrk, url, seconds=args.warmup, connections=args.connections, threads=args.threads, token=bearer)
        cpu_before = cpu_seconds(pid)
        output = run_wrk(
            wrk, url, seconds=args.duration, connections=args.connections, threads=args.threads, token=bearer
        )
        cpu_after = cpu_seconds(pid)
        rps, p50, p99, requests, errors = parse_wrk(output)
        cpu_us = None
        if cpu_before is not None and cpu_after is not None and requests:
            cpu_us = (cpu_after - cpu_before) / requests * 1e6
        results.append(Result(endpoint, server, rps, p50, p99, requests, errors, cpu_us))
        print(
            f"  {server:4} {endpoint:15} {rps:10.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
            f"cpu {_fmt(cpu_us)} us/req" + (f"  ERRORS {errors}" if errors else ""),
            file=sys.stderr,
            flush=True,
        )
    return results


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def check_same_body(ours: bytes, bare: bytes) -> None:
    """The baseline must answer the same shape and size, or the comparison is not fair."""
    a, b = json.loads(ours), json.loads(bare)
    if sorted(a) != sorted(b) or len(ours) != len(bare):
        print(f"warning: bare /api/v1/me differs from ours:\n  ours {ours!r}\n  bare {bare!r}", file=sys.stderr)


def aggregate(rounds: list[list[Result]]) -> list[Result]:
    """The median of each figure over the rounds (one round: the figures themselves)."""
    merged = []
    for group in zip(*rounds, strict=True):
        first = group[0]
        merged.append(
            Result(
                first.endpoint,
                first.server,
                statistics.median(r.requests_per_s for r in group),
                statistics.median(r.p50_ms for r in group),
                statistics.median(r.p99_ms for r in group),
                sum(r.requests for r in group),
                sum(r.errors for r in group),
                _median_or_none([r.cpu_us_per_request for r in group]),
            )
        )
    return merged


def _median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# --- report ------------------------------------------------------------------------------------------


def environment(wrk: str) -> dict[str, object]:
    versions = {}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split()[1:2]
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version[0] if wrk_version else "?",
        **versions,
    }


def _read_lines(path: str) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(path).read_text().splitlines()
    return []


def ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    by_key = {(r.endpoint, r.server): r for r in results}
    out = {}
    for endpoint in ENDPOINTS:
        ours, bare = by_key[(endpoint, "ours")], by_key[(endpoint, "bare")]
        out[endpoint] = {
            "requests_per_s": ours.requests_per_s / bare.requests_per_s,
            "p50": ours.p50_ms / bare.p50_ms,
            "p99": ours.p99_ms / bare.p99_ms,
        }
        if ours.cpu_us_per_request and bare.cpu_us_per_request:
            # Server CPU per request, inverted so that, like req/s, 1.0 is as cheap as bare and lower is worse.
            # Less sensitive than req/s to what else the machine runs.
            out[endpoint]["cpu_bare_over_ours"] = bare.cpu_us_per_request / ours.cpu_us_per_request
    return out


def print_report(
    env: dict[str, object], args: argparse.Namespace, results: list[Result], ratio: dict[str, dict[str, float]]
) -> None:
    load = ", ".join(f"{x:.2f}" for x in env["loadavg_at_start"])  # type: ignore[attr-defined]  # a list of floats
    print(f"machine: {env['nproc']} CPUs ({env['cpu']}), load average at start {load}")
    print(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in env.items() if k not in {"nproc", "cpu", "loadavg_at_start", "platform"})
    )
    print(
        f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s (after a {args.warmup:g}s warm-up), "
        f"{args.rounds} round(s){' (medians)' if args.rounds > 1 else ''}, one server at a time on loopback"
    )
    print()
    header = (
        f"{'endpoint':<16}{'server':<8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu us/req':>12}{'errors':>8}"
        "   ratio ours/bare: req/s (latency p50, p99; cpu bare/ours)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        note = ""
        if r.server == "ours":
            q = ratio[r.endpoint]
            cpu = f"; {q['cpu_bare_over_ours']:.2f}" if "cpu_bare_over_ours" in q else ""
            note = f"   {q['requests_per_s']:.2f}  (x{q['p50']:.2f}, x{q['p99']:.2f}{cpu})"
        print(
            f"{r.endpoint:<16}{r.server:<8}{r.requests_per_s:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}"
            f"{_fmt(r.cpu_us_per_request):>12}{r.errors:>8}{note}"
        )
    print()
    me_ratio = ratio[ME]["requests_per_s"]
    verdict = "meets" if me_ratio >= TARGET_ME_RATIO else "BELOW"
    cpu = (
        f"; by server CPU per request (bare/ours) {ratio[ME]['cpu_bare_over_ours']:.2f}"
        if "cpu_bare_over_ours" in ratio[ME]
        else ""
    )
    print(f"{ME}: ours/bare = {me_ratio:.2f} req/s ({verdict} the target of {TARGET_ME_RATIO}){cpu}")
    print(f"{READY}: ours/bare = {ratio[READY]['requests_per_s']:.2f} (ours asks the database; the bare app does not)")


# --- main --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1; the servers get the other CPU)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds before each measurement (default 2; 0: none)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds (ours, then bare); figures are medians (default 1)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {ME} is below {TARGET_ME_RATIO} of bare")
    return parser


def one_round(
    wrk: str, args: argparse.Namespace, data_dir: Path, logs: Path, token: str | None
) -> tuple[str, list[Result]]:
    """Ours, then the bare app, each measured while it is the only server up. Returns the token (minted
    in the first round) and the results, bare before ours per endpoint."""
    with serve_ours(free_port(), data_dir, logs / "ours.log") as (base, pid):
        token = token or mint_token(data_dir)
        # The first request registers the user; the measurement then sees the steady state.
        status, ours_body = http_get(base + ME, token)
        if status != 200:
            raise RuntimeError(f"ours {ME} answered {status}: {ours_body[:300]!r}")
        ours = measure(wrk, "ours", base, pid, token, args)
    with serve_bare(free_port(), logs / "bare.log") as (base, pid):
        check_same_body(ours_body, http_get(base + ME)[1])
        bare = measure(wrk, "bare", base, pid, token, args)
    return token, [r for pair in zip(bare, ours, strict=True) for r in pair]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.threads < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration, --connections, --threads and --rounds must be positive, --warmup not negative")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("bench: wrk is not installed. Install it with:  apt-get install wrk", file=sys.stderr)
        return 2
    if not TOEZICHT.exists():
        print(f"bench: {TOEZICHT} not found; run `make bench` (it installs the project)", file=sys.stderr)
        return 1
    env = environment(wrk)
    rounds: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-", ignore_cleanup_errors=True) as tmp:
        data_dir, token = Path(tmp) / "data", None
        try:
            for n in range(1, args.rounds + 1):
                print(f"round {n}/{args.rounds}", file=sys.stderr, flush=True)
                token, results = one_round(wrk, args, data_dir, Path(tmp), token)
                rounds.append(results)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130

    results = aggregate(rounds)
    ratio = ratios(results)
    print_report(env, args, results, ratio)
    if args.json:
        document = {
            "environment": env,
            "settings": {k: getattr(args, k) for k in ("duration", "connections", "threads", "warmup", "rounds")},
            "results": [asdict(r) for r in results],
            "ratios_ours_over_bare": ratio,
            "target_me_ratio": TARGET_ME_RATIO,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    errors = sum(r.errors for r in results)
    if errors:
        print(f"bench: {errors} failed requests (non-2xx or socket errors): the figures are not valid", file=sys.stderr)
        return 1
    if args.check and ratio[ME]["requests_per_s"] < TARGET_ME_RATIO:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
