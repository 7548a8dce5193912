"""Creating users; shared by the REST API, `beckon create-admin` and first-run setup."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from server.errors import ApiError
from server.ids import new_id, now_ms
from server.store import sites as site_queries
from server.store import users as user_queries
from server.store.database import Database


async def create_user(
    db: Database,
    *,
    email: str,
    password_hash: str,
    role: str,
    display_name: str,
    capacity: int = 3,
    departments: list[str] | None = None,
    avatar_url: str | None = None,
    site_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Insert a user (`password_hash` from server.passwords). Raises ApiError(conflict)
    for a taken email, (validation_failed) for unknown site ids."""
    row = {
        "id": new_id("us"),
        "email": email.lower(),
        "password_hash": password_hash,
        "role": role,
        "display_name": display_name,
        "avatar_url": avatar_url,
        "capacity": capacity,
        "departments": list(dict.fromkeys(departments or [])),
        "active": True,
        "created_ts": now_ms(),
    }
    site_ids = list(dict.fromkeys(site_ids or []))
    try:
        async with db.write() as conn:
            if await user_queries.get_user_by_email(conn, row["email"]) is not None:
                raise ApiError("conflict", f"a user with email {row['email']} exists")
            await check_site_ids(conn, site_ids)
            await user_queries.insert_user(conn, row)
            await site_queries.set_memberships(conn, row["id"], site_ids)
    except IntegrityError:
        raise ApiError("conflict", f"a user with email {row['email']} exists") from None
    return row


async def check_site_ids(conn: Any, site_ids: list[str]) -> None:
    if not site_ids:
        return
    missing = sorted(set(site_ids) - await site_queries.existing_site_ids(conn, site_ids))
    if missing:
        raise ApiError(
            "validation_failed",
            "unknown site ids",
            details=[{"path": "site_ids", "message": f"no site {m}"} for m in missing],
        )
