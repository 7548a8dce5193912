"""Bans in the Store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import visitor_bans

b = visitor_bans.c


async def insert_ban(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(visitor_bans).values(**row))


async def get_ban(conn: AsyncConnection, site_id: str, ban_id: str) -> dict[str, Any] | None:
    query = select(visitor_bans).where(b.id == ban_id, b.site_id == site_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


def _active(now: int) -> Any:
    return (b.lifted_ts.is_(None), or_(b.expires_ts.is_(None), b.expires_ts > now))


async def active_bans(conn: AsyncConnection, site_id: str, now: int) -> list[dict[str, Any]]:
    """Bans that hold now (not lifted, not expired)."""
    query = select(visitor_bans).where(b.site_id == site_id, *_active(now))
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def list_bans(
    conn: AsyncConnection, site_id: str, now: int, active_only: bool, limit: int
) -> list[dict[str, Any]]:
    """Newest first; with `active_only`, only bans that hold now."""
    query = select(visitor_bans).where(b.site_id == site_id)
    if active_only:
        query = query.where(*_active(now))
    query = query.order_by(b.created_ts.desc(), b.id.desc()).limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def lift(conn: AsyncConnection, ban_id: str, now: int, by: str) -> bool:
    """Lift a ban not yet lifted; False when it already was."""
    done = await conn.execute(
        update(visitor_bans)
        .where(b.id == ban_id, b.lifted_ts.is_(None))
        .values(lifted_ts=now, lifted_by=by)
    )
    return bool(done.rowcount)
