"""`toezicht serve` as a real process on a loopback port, for tests that need a real server (a browser, the
process's own output)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import AUDIENCE, ISSUER

TOEZICHT = Path(sys.executable).parent / "toezicht"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class Served:
    base_url: str
    stdout: Path
    stderr: Path

    def output_lines(self) -> list[str]:
        """Every line the process wrote, standard output and standard error."""
        return [line for path in (self.stdout, self.stderr) for line in path.read_text(errors="replace").splitlines()]


@contextlib.contextmanager
def served(database_url: str, data_dir: Path, output_dir: Path, **env: str) -> Iterator[Served]:
    """The server on the test's database with the test's token issuer, until the block ends (then SIGINT,
    the way Ctrl-C stops it)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    environment.update(
        DATABASE_URL=database_url,
        TOEZICHT_DATA_DIR=str(data_dir),
        TOEZICHT_JWT_ISSUER=ISSUER,
        TOEZICHT_JWT_AUDIENCE=AUDIENCE,
        TOEZICHT_DB_POOL_MIN="1",
        TOEZICHT_LOG_LEVEL="info",
        **env,
    )
    run = Served(f"http://127.0.0.1:{port}", output_dir / "serve.stdout", output_dir / "serve.stderr")
    with run.stdout.open("wb") as stdout, run.stderr.open("wb") as stderr:
        process = subprocess.Popen(
            [str(TOEZICHT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            _wait_until_live(process, run)
            yield run
        finally:
            _stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_live(process: subprocess.Popen[bytes], run: Served) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n" + "\n".join(run.output_lines()[-20:]))
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(run.base_url + "/health/live", timeout=1.0) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise AssertionError("serve did not answer in time:\n" + "\n".join(run.output_lines()[-20:]))


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGINT, signal.SIGKILL):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
