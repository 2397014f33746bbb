from __future__ import annotations


async def test_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    response = await client.get("/health/ready")
    assert response.status_code == 200


async def test_me_creates_user_from_token(client, auth, db):
    response = await client.get(
        "/api/v1/me",
        headers=auth("insp-1", roles=["inspector"], regimes=["alcohol", "nix18"], teams=["team-a"], name="Insp One"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == "insp-1"
    assert body["roles"] == ["inspector"]
    assert body["regimes"] == ["alcohol", "nix18"]
    row = await db.fetchrow("SELECT * FROM app_user WHERE subject = 'insp-1'")
    assert str(row["id"]) == body["id"]
    assert row["display_name"] == "Insp One"
