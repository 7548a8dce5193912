"""Single-use, expiring links of account emails: queries only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.mail_tables import account_tokens


async def insert_token(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(account_tokens).values(**row))


async def count_since(conn: AsyncConnection, user_id: str, since_ts: int) -> int:
    query = select(func.count()).select_from(account_tokens)
    query = query.where(
        account_tokens.c.user_id == user_id, account_tokens.c.created_ts >= since_ts
    )
    return int((await conn.execute(query)).scalar() or 0)


async def consume(conn: AsyncConnection, token_hash: str, now: int) -> dict[str, Any] | None:
    """Mark the link used and return it; None when unknown, used or expired. One
    conditional UPDATE: of two uses racing, exactly one wins."""
    result = await conn.execute(
        update(account_tokens)
        .where(
            account_tokens.c.id == token_hash,
            account_tokens.c.used_ts.is_(None),
            account_tokens.c.expires_ts > now,
        )
        .values(used_ts=now)
    )
    if result.rowcount != 1:
        return None
    row = await conn.execute(select(account_tokens).where(account_tokens.c.id == token_hash))
    found = row.mappings().first()
    return dict(found) if found else None


async def retire_for_user(conn: AsyncConnection, user_id: str, now: int) -> None:
    """A password was set: every other link of the user stops working."""
    await conn.execute(
        update(account_tokens)
        .where(account_tokens.c.user_id == user_id, account_tokens.c.used_ts.is_(None))
        .values(used_ts=now)
    )
