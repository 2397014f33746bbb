"""Bodies and steps the registry tests share."""

from __future__ import annotations

import uuid
from typing import Any

ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]


def object_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Café Het Hoekje",
        "street": "Oudegracht",
        "house_number": 100,
        "postcode": "3511 AX",
        "wijk": "binnenstad",
        "kind": "horeca_hoogdrempelig",
        "employee_class": "under_50",
        "regimes": ["alcohol", "nix18"],
    }
    body.update(overrides)
    return body


async def create_object(client, headers, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/objects", json=object_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def alcohol_permit(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "alcoholvergunning",
        "number": "AW-2024-0001",
        "holder": "Hoekje Horeca B.V.",
        "valid_from": "2024-01-01",
        "valid_to": "2024-12-31",
        "conditions": {"leidinggevenden": ["Johan de Wit", "Meryem Yilmaz"]},
    }
    body.update(overrides)
    return body


async def create_permit(client, headers, object_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/objects/{object_id}/permits", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def count(db, table: str) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {table}")  # table names are constants in the tests


async def audit_actions(db, object_id: str | uuid.UUID) -> list[str]:
    rows = await db.fetch("SELECT action FROM audit_event WHERE object_id = $1 ORDER BY seq", str(object_id))
    return [row["action"] for row in rows]
