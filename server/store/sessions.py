"""Queries on login sessions (the cookie's sha256 is the key; `id` is what users see)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import sessions, users

_LISTED = (
    sessions.c.id,
    sessions.c.created_ts,
    sessions.c.last_used_ts,
    sessions.c.expires_ts,
    sessions.c.ip,
    sessions.c.user_agent,
    sessions.c.token_hash,
)


async def insert_session(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sessions.insert().values(**row))


async def session_user(
    conn: AsyncConnection, token_hash: str, now: int
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The active user of a live (unexpired, unrevoked) session, and the session's
    `id`, `csrf_token`, `last_used_ts` and `expires_ts`."""
    query = (
        select(
            users,
            sessions.c.id.label("session_id"),
            sessions.c.csrf_token,
            sessions.c.last_used_ts.label("session_last_used_ts"),
            sessions.c.expires_ts.label("session_expires_ts"),
        )
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(
            sessions.c.token_hash == token_hash,
            sessions.c.revoked.is_(False),
            sessions.c.expires_ts > now,
            users.c.active.is_(True),
        )
    )
    found = (await conn.execute(query)).mappings().first()
    if found is None:
        return None
    user = dict(found)
    session = {
        "id": user.pop("session_id"),
        "csrf_token": user.pop("csrf_token"),
        "last_used_ts": user.pop("session_last_used_ts"),
        "expires_ts": user.pop("session_expires_ts"),
    }
    return user, session


async def touch_session(conn: AsyncConnection, token_hash: str, now: int) -> None:
    await conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(last_used_ts=now)
    )


async def live_sessions(conn: AsyncConnection, user_id: str, now: int) -> list[dict[str, Any]]:
    """The user's unrevoked, unexpired sessions, newest first (with their hashes)."""
    query = (
        select(*_LISTED)
        .where(
            sessions.c.user_id == user_id,
            sessions.c.revoked.is_(False),
            sessions.c.expires_ts > now,
        )
        .order_by(sessions.c.created_ts.desc())
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def session_hash_by_id(conn: AsyncConnection, user_id: str, session_id: str) -> str | None:
    """The hash of the user's live (unrevoked) session `session_id`, else None."""
    query = select(sessions.c.token_hash).where(
        sessions.c.id == session_id,
        sessions.c.user_id == user_id,
        sessions.c.revoked.is_(False),
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def revoke_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(revoked=True)
    )


async def revoke_user_sessions(
    conn: AsyncConnection, user_id: str, keep_hash: str | None = None
) -> None:
    """Revoke every session of the user, except `keep_hash` when given."""
    query = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked.is_(False))
    if keep_hash is not None:
        query = query.where(sessions.c.token_hash != keep_hash)
    await conn.execute(query.values(revoked=True))
