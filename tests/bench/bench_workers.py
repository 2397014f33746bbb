"""Workers benchmark: `toezicht serve --workers 2` against one worker, on this machine, in the same run.

    .venv/bin/python tests/bench/bench_workers.py [--workers 2] [--duration 10] [--connections 32] [--rounds 2]

Both servers are started the production way (tests/bench/bench_http.py: embedded PostgreSQL in a temporary data
directory, access log written) on the same data directory with the demo data, one at a time, alternating
1, N, N, 1, ... so that drift of the machine falls on both. Measured with `wrk` on loopback:
  GET /api/v1/me                   token check and principal, little database work: the Python side alone
  GET /api/v1/objects?limit=50     a page of establishments: Python and PostgreSQL share the CPUs
Reported per round and as medians, with the ratio N workers / 1 worker. wrk itself takes one CPU thread, so on a
machine with few cores the figures understate what more workers give a server that has its CPUs to itself.

Exit codes: 0 measured, 1 a server or the measurement failed, 2 wrk missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_http import (  # noqa: E402
    TOEZICHT,
    free_port,
    http_get,
    ours_env,
    parse_wrk,
    run_wrk,
    stop,
    stop_leftover_postgres,
    wait_ready,
)

ENDPOINTS = ("/api/v1/me", "/api/v1/objects?limit=50")
TOKEN_ARGS = ["--sub", "bench-coordinator", "--role", "coordinator", "--regime", "alcohol", "--regime", "nix18"]


@contextlib.contextmanager
def serve(workers: int, data_dir: Path, log: Path, *, demo: bool) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**ours_env(data_dir), "TOEZICHT_WORKERS": str(workers)}
    command = [str(TOEZICHT), "serve", "--host", "127.0.0.1", "--port", str(port), *(["--demo"] if demo else [])]
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
        try:
            wait_ready(process, base, log)
            yield base
        finally:
            stop(process)
            stop_leftover_postgres(data_dir / "pgdata")


def mint_token(data_dir: Path) -> str:
    done = subprocess.run(
        [str(TOEZICHT), "token", *TOKEN_ARGS], cwd=ROOT, env=ours_env(data_dir), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"toezicht token failed: {done.stderr}")
    return done.stdout.strip()


def measure(wrk: str, base: str, token: str, args: argparse.Namespace) -> dict[str, float]:
    """Requests/s per endpoint; any failed request invalidates the round."""
    figures = {}
    for endpoint in ENDPOINTS:
        url = base + endpoint
        status, body = http_get(url, token)
        if status != 200:
            raise RuntimeError(f"{endpoint} answered {status}: {body[:300]!r}")
        run_wrk(wrk, url, seconds=args.warmup, connections=args.connections, threads=1, token=token)
        rps, _p50, _p99, _requests, errors = parse_wrk(
            run_wrk(wrk, url, seconds=args.duration, connections=args.connections, threads=1, token=token)
        )
        if errors:
            raise RuntimeError(f"{endpoint}: {errors} failed requests; the figures are not valid")
        figures[endpoint] = rps
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="workers of the second server (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per measurement (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each 1 worker and N (default 2)")
    args = parser.parse_args(argv)
    if args.workers < 2 or args.duration <= 0 or args.warmup <= 0 or args.connections < 1 or args.rounds < 1:
        parser.error("--workers at least 2; --duration, --warmup, --connections and --rounds positive")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("bench: wrk is not installed. Install it with:  apt-get install wrk", file=sys.stderr)
        return 2
    print(f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    figures: dict[int, list[dict[str, float]]] = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-workers-", ignore_cleanup_errors=True) as tmp:
        data_dir, log = Path(tmp) / "data", Path(tmp) / "serve.log"
        try:
            for n in range(args.rounds):
                order = (1, args.workers) if n % 2 == 0 else (args.workers, 1)
                for workers in order:
                    with serve(workers, data_dir, log, demo=n == 0 and workers == order[0]) as base:
                        measured = measure(wrk, base, mint_token(data_dir), args)
                    figures[workers].append(measured)
                    shown = "  ".join(f"{e} {rps:8.0f}/s" for e, rps in measured.items())
                    print(f"round {n + 1}, {workers} worker(s): {shown}", flush=True)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    print()
    for endpoint in ENDPOINTS:
        one = statistics.median(f[endpoint] for f in figures[1])
        many = statistics.median(f[endpoint] for f in figures[args.workers])
        print(f"{endpoint:28} 1 worker {one:8.0f}/s   {args.workers} workers {many:8.0f}/s   ratio {many / one:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
