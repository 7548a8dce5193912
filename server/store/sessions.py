"""Queries on login sessions and failed-login records (rate limiting across nodes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import login_failures, sessions, users


async def insert_session(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sessions.insert().values(**row))


async def session_user(
    conn: AsyncConnection, token_hash: str, now: int
) -> tuple[dict[str, Any], str] | None:
    """The active user of a live (unexpired, unrevoked) session, and its CSRF token."""
    query = (
        select(users, sessions.c.csrf_token)
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
    row = dict(found)
    return row, row.pop("csrf_token")


async def revoke_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(revoked=True)
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(update(sessions).where(sessions.c.user_id == user_id).values(revoked=True))


async def record_failure(conn: AsyncConnection, subjects: list[str], now: int) -> None:
    await conn.execute(login_failures.insert(), [{"subject": s, "ts": now} for s in subjects])


async def failures_since(conn: AsyncConnection, subject: str, since: int) -> int:
    query = (
        select(func.count())
        .select_from(login_failures)
        .where(login_failures.c.subject == subject, login_failures.c.ts > since)
    )
    return int((await conn.execute(query)).scalar_one())


async def prune_failures(conn: AsyncConnection, before: int) -> None:
    await conn.execute(delete(login_failures).where(login_failures.c.ts <= before))
