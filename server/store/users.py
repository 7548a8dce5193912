"""Queries on users (admins, marketers, agents) and their API tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
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


async def active_ids_with_role(conn: AsyncConnection, role: str) -> list[str]:
    query = select(users.c.id).where(users.c.role == role, users.c.active.is_(True))
    return [row[0] for row in await conn.execute(query)]


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
    conn: AsyncConnection, token_hash: str, now: int
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The active user owning a live (unrevoked, unexpired) token, and the token's `id`,
    `last_used_ts` and `expires_ts` (None: never)."""
    query = (
        select(
            users,
            api_tokens.c.id.label("token_id"),
            api_tokens.c.last_used_ts.label("token_last_used_ts"),
            api_tokens.c.expires_ts.label("token_expires_ts"),
        )
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.revoked.is_(False),
            or_(api_tokens.c.expires_ts.is_(None), api_tokens.c.expires_ts > now),
            users.c.active.is_(True),
        )
    )
    found = (await conn.execute(query)).mappings().first()
    if found is None:
        return None
    user = dict(found)
    token = {
        "id": user.pop("token_id"),
        "last_used_ts": user.pop("token_last_used_ts"),
        "expires_ts": user.pop("token_expires_ts"),
    }
    return user, token


async def touch_token(conn: AsyncConnection, token_id: str, now: int) -> None:
    await conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_ts=now)
    )


async def unrevoked_tokens(conn: AsyncConnection, user_id: str) -> list[dict[str, Any]]:
    """The user's tokens not revoked (expired ones included), newest first; no hashes."""
    query = (
        select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.created_ts,
            api_tokens.c.last_used_ts,
            api_tokens.c.expires_ts,
        )
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked.is_(False))
        .order_by(api_tokens.c.created_ts.desc(), api_tokens.c.id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def get_token(conn: AsyncConnection, token_id: str) -> dict[str, Any] | None:
    query = select(api_tokens.c.id, api_tokens.c.user_id, api_tokens.c.revoked).where(
        api_tokens.c.id == token_id
    )
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def revoke_token(conn: AsyncConnection, token_id: str) -> None:
    await conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked=True))


async def revoke_user_tokens(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked.is_(False))
        .values(revoked=True)
    )


async def token_is_live(conn: AsyncConnection, token_id: str, now: int) -> bool:
    """True while the token is unrevoked and unexpired (its owner's state aside)."""
    query = select(api_tokens.c.id).where(
        api_tokens.c.id == token_id,
        api_tokens.c.revoked.is_(False),
        or_(api_tokens.c.expires_ts.is_(None), api_tokens.c.expires_ts > now),
    )
    return (await conn.execute(query)).first() is not None
