"""Tenancy checks: which sites a caller may see (an agent only its own)."""

from __future__ import annotations

from typing import Any

from server.auth import Principal
from server.errors import ApiError
from server.store import sites as site_queries
from server.store.database import Database


async def site_for(db: Database, principal: Principal, site_id: str) -> dict[str, Any]:
    """The site if the caller may see it; otherwise `not_found` — the same answer for a
    site that exists elsewhere and one that does not, so ids cannot be probed."""
    async with db.read() as conn:
        site = await site_queries.get_site(conn, site_id)
        if site is not None and not principal.is_admin:
            if not await site_queries.is_member(conn, site_id, principal.id):
                site = None
    if site is None:
        raise ApiError("not_found", "no such site")
    return site
