"""One JSON log line per request, with what operations need and nothing they must not see."""

from __future__ import annotations

import json
import socket
import urllib.request

from tests.conftest import app_client, make_settings
from tests.server_helpers import served


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_access_log_line_has_request_facts_but_no_token_query_or_body(database_url, data_dir, make_token, capfd):
    token = make_token("log-admin", roles=["admin", "coordinator"], name="Jan Jansen")
    settings = make_settings(database_url, data_dir, log_level="info")
    async with app_client(settings) as http:
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-abcdef123"})
        await http.get("/api/v1/users?team=Pietersen-Straat-12", headers={"Authorization": f"Bearer {token}"})
        await http.post(
            f"/api/v1/users/{me.json()['id']}/deactivate",
            headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
            json={"reason": "Geheime reden over Jan Jansen"},
        )
    output = capfd.readouterr().out
    requests = [line for line in _json_lines(output) if line.get("event") == "request"]
    assert len(requests) == 3
    first = requests[0]
    assert first["request_id"] == "req-abcdef123"
    assert first["method"] == "GET" and first["path"] == "/api/v1/me" and first["status"] == 200
    assert first["user_id"] == me.json()["id"]
    assert isinstance(first["duration_ms"], float)
    assert requests[1]["path"] == "/api/v1/users"  # the query string (searches hold names) is not logged
    assert requests[2]["status"] == 409  # an admin may not deactivate themselves
    for secret in (token, token.split(".")[2], "Pietersen", "Jan Jansen", "Geheime reden"):
        assert secret not in output


async def test_the_access_log_names_the_path_as_requested_not_as_the_router_rewrote_it(database_url, data_dir, capfd):
    """The router rewrites the scope's path (`/console/` became `/console`); the log keeps the request's."""
    settings = make_settings(database_url, data_dir, log_level="info")
    async with app_client(settings) as http:
        assert (await http.get("/console/")).status_code == 200
        assert (await http.get("/console/js/api.js")).status_code == 200
    requests = [line for line in _json_lines(capfd.readouterr().out) if line.get("event") == "request"]
    assert [(line["method"], line["path"], line["status"]) for line in requests] == [
        ("GET", "/console/", 200),
        ("GET", "/console/js/api.js", 200),
    ]


async def test_log_level_setting_silences_info(database_url, data_dir, make_token, capfd):
    settings = make_settings(database_url, data_dir, log_level="warning")
    async with app_client(settings) as http:
        assert (await http.get("/health/live")).status_code == 200
    assert not [line for line in _json_lines(capfd.readouterr().out) if line.get("event") == "request"]


def test_every_line_serve_writes_is_one_json_object_with_the_common_fields(database_url, data_dir, tmp_path):
    """uvicorn's own lines (start, stop, a malformed request) and the command's report of its start are JSON
    like the access log, on both output streams."""
    with served(database_url, data_dir, tmp_path) as server:
        with urllib.request.urlopen(server.base_url + "/health/live") as response:
            assert response.status == 200
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:  # uvicorn logs a warning about this one
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            sock.recv(1024)
    lines = server.output_lines()
    parsed = [json.loads(line) for line in lines]  # fails on the first line that is not JSON
    for line in parsed:
        assert isinstance(line, dict) and {"event", "level", "timestamp"} <= line.keys(), line
    events = [line["event"] for line in parsed]
    assert "migrations_up_to_date" in events and "serving" in events
    assert any(line.get("logger") == "uvicorn.error" and line["level"] == "warning" for line in parsed)
    assert any(event.startswith("Uvicorn running on") for event in events)
    assert any(line["event"] == "request" and line["path"] == "/health/live" for line in parsed)
