"""Agents' uploaded avatars: one re-encoded image per user, kept in the Store (a few
tens of KB each), so every node serves it without shared file storage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import metadata

agent_avatars = Table(
    "agent_avatars",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", String(64), nullable=False),  # of `data`: the URL's version
    Column("mime", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)


async def get_avatar(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    query = select(agent_avatars).where(agent_avatars.c.user_id == user_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def put_avatar(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(delete(agent_avatars).where(agent_avatars.c.user_id == row["user_id"]))
    await conn.execute(agent_avatars.insert().values(**row))


async def delete_avatar(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(delete(agent_avatars).where(agent_avatars.c.user_id == user_id))
