"""Queries on users (admins, marketers, agents) and their API tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import api_tokens, users


async def insert_user(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(users.insert().values(**row))


async def get_user(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
    return dict(found) if found else None


async def get_user_by_email(conn: AsyncConnection, email: str) -> dict[str, Any] | None:
    query = select(users).where(func.lower(users.c.email) == email.lower())
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def update_user(conn: AsyncConnection, user_id: str, values: dict[str, Any]) -> None:
    if values:
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def delete_user(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(users.delete().where(users.c.id == user_id))


async def count_users(conn: AsyncConnection, role: str | None = None) -> int:
    query = select(func.count()).select_from(users).where(users.c.active.is_(True))
    if role is not None:
        query = query.where(users.c.role == role)
    return int((await conn.execute(query)).scalar_one())


async def list_users(
    conn: AsyncConnection, *, after_id: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(users).order_by(users.c.id).limit(limit)
    if after_id is not None:
        query = query.where(users.c.id > after_id)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def insert_token(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(api_tokens.insert().values(**row))


async def user_by_token_hash(
    conn: AsyncConnection, token_hash: str
) -> tuple[dict[str, Any], str] | None:
    """The active user owning a live token, and the token's id."""
    query = (
        select(users, api_tokens.c.id.label("token_id"))
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.revoked.is_(False),
            users.c.active.is_(True),
        )
    )
    found = (await conn.execute(query)).mappings().first()
    if found is None:
        return None
    row = dict(found)
    return row, row.pop("token_id")


async def touch_token(conn: AsyncConnection, token_id: str, now: int) -> None:
    await conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_ts=now)
    )
