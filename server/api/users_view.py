"""How a user row is shown through the API (never its password hash)."""

from __future__ import annotations

from typing import Any


def user_out(user: dict[str, Any], site_ids: list[str]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "email": user["email"],
        "role": user["role"],
        "display_name": user["display_name"],
        "avatar_url": user["avatar_url"],
        "title": user.get("title"),
        "capacity": user["capacity"],
        "departments": list(user["departments"] or []),
        "active": bool(user["active"]),
        "site_ids": site_ids,
        "created_ts": user["created_ts"],
    }
