"""The interactive API docs (/schema) work without internet: every asset comes from the service itself, the
vendored files are the ones pinned, and a real browser with only loopback renders every operation."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from backend.core.docs import SWAGGER_UI_DIR
from tests.server_helpers import served

OUTPUT_DIR = Path(__file__).resolve().parent / "output"  # git-ignored: the browser's screenshot is kept here
BROWSER = shutil.which("chromium")
BROWSER_TIMEOUT_S = 120
# Headless, with every host name unresolvable except loopback: the page gets nothing from the internet.
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--enable-logging=stderr",
    "--log-level=0",
    "--virtual-time-budget=20000",
    "--window-size=1280,1600",
]
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="Chromium is not installed (Debian packages chromium and chromium-driver): "
    "the browser check of the API docs is skipped",
)


async def test_the_docs_page_names_no_other_host_and_its_assets_are_served(client):
    page = await client.get("/schema")
    assert page.status_code == 200
    assert not re.search(r"https?:|//", page.text.replace("<!DOCTYPE html>", "")), page.text
    assert "<script>" not in page.text and "<style" not in page.text and " style=" not in page.text
    references = re.findall(r'(?:src|href|data-openapi-url)="([^"]+)"', page.text)
    assert len(references) == 5, references
    for reference in references:
        assert reference.startswith("/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
    types = {
        reference.rsplit(".", 1)[-1]: (await client.get(reference)).headers["content-type"] for reference in references
    }
    assert types["js"].startswith("text/javascript") and types["css"].startswith("text/css")
    assert types["png"] == "image/png" and types["json"].startswith("application/vnd.oai.openapi+json")


def test_the_vendored_files_are_the_pinned_ones():
    sums = (SWAGGER_UI_DIR / "SHA256SUMS").read_text().splitlines()
    listed = {line.split()[1]: line.split()[0] for line in sums}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"} <= listed.keys()
    assert listed.keys() == {path.name for path in SWAGGER_UI_DIR.iterdir()} - {"SHA256SUMS"}
    for name, expected in listed.items():
        assert hashlib.sha256((SWAGGER_UI_DIR / name).read_bytes()).hexdigest() == expected, name


@needs_browser
def test_a_browser_without_internet_renders_every_operation(database_url, data_dir, tmp_path):
    OUTPUT_DIR.mkdir(exist_ok=True)
    screenshot = OUTPUT_DIR / "api-docs.png"
    screenshot.unlink(missing_ok=True)
    with served(database_url, data_dir, tmp_path) as server:
        page = f"{server.base_url}/schema"
        dom, console = _browse(tmp_path / "profile-dom", "--dump-dom", page)
        _browse(tmp_path / "profile-shot", f"--screenshot={screenshot}", page)
        with urllib.request.urlopen(server.base_url + "/schema/openapi.json") as response:
            document = json.loads(response.read())
    shown = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert shown == set(document["paths"]), set(document["paths"]) ^ shown
    assert "The caller's id, roles, regimes and teams" in dom  # a summary, as a reader sees it
    assert "Content Security Policy" not in console, console  # nothing the page's policy had to block
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 20_000


def _browse(profile: Path, action: str, url: str) -> tuple[str, str]:
    """Run Chromium once with a fresh profile; its standard output (the DOM for --dump-dom) and its console log."""
    done = subprocess.run(
        [BROWSER, *BROWSER_FLAGS, f"--user-data-dir={profile}", action, url],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, "\n".join(line for line in done.stderr.splitlines() if ":CONSOLE" in line)
