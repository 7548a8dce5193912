"""Queries on sites and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import site_members, sites


async def insert_site(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sites.insert().values(**row))


async def get_site(conn: AsyncConnection, site_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(sites).where(sites.c.id == site_id))).mappings().first()
    return dict(found) if found else None


async def get_site_by_key(conn: AsyncConnection, key: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(sites).where(sites.c.key == key))).mappings().first()
    return dict(found) if found else None


async def update_site(conn: AsyncConnection, site_id: str, values: dict[str, Any]) -> None:
    if values:
        await conn.execute(update(sites).where(sites.c.id == site_id).values(**values))


async def list_sites(
    conn: AsyncConnection, *, member_id: str | None, after_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Sites ordered by id; `member_id` restricts to the sites that user belongs to."""
    query = select(sites).order_by(sites.c.id).limit(limit)
    if member_id is not None:
        query = query.join(site_members, site_members.c.site_id == sites.c.id).where(
            site_members.c.user_id == member_id
        )
    if after_id is not None:
        query = query.where(sites.c.id > after_id)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def count_sites(conn: AsyncConnection) -> int:
    return len((await conn.execute(select(sites.c.id).limit(1))).all())


async def site_ids_of(conn: AsyncConnection, user_id: str) -> list[str]:
    query = select(site_members.c.site_id).where(site_members.c.user_id == user_id)
    return sorted(row[0] for row in await conn.execute(query))


async def is_member(conn: AsyncConnection, site_id: str, user_id: str) -> bool:
    query = select(site_members.c.site_id).where(
        site_members.c.site_id == site_id, site_members.c.user_id == user_id
    )
    return (await conn.execute(query)).first() is not None


async def set_memberships(conn: AsyncConnection, user_id: str, site_ids: list[str]) -> None:
    await conn.execute(site_members.delete().where(site_members.c.user_id == user_id))
    if site_ids:
        await conn.execute(
            site_members.insert(), [{"site_id": s, "user_id": user_id} for s in site_ids]
        )


async def existing_site_ids(conn: AsyncConnection, site_ids: list[str]) -> set[str]:
    query = select(sites.c.id).where(sites.c.id.in_(site_ids))
    return {row[0] for row in await conn.execute(query)}
