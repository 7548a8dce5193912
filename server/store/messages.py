"""Queries on messages: gap-free `seq` allocation and idempotent inserts (guarantees 2, 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import conversations, messages


async def find_by_client_id(
    conn: AsyncConnection, conversation_id: str, sender: str, client_msg_id: str
) -> dict[str, Any] | None:
    query = select(messages).where(
        messages.c.conversation_id == conversation_id,
        messages.c.sender == sender,
        messages.c.client_msg_id == client_msg_id,
    )
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def next_seq(conn: AsyncConnection, conversation_id: str) -> int | None:
    """Allocate the next seq of an open conversation, in the caller's transaction.

    The UPDATE takes the row's write lock, so concurrent writers on any node queue up
    here and each gets the next number; a rollback gives the number back (no gaps).
    Returns None when the conversation is closed or does not exist.
    """
    result = await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.status != "closed")
        .values(last_seq=conversations.c.last_seq + 1)
        .returning(conversations.c.last_seq)
    )
    row = result.first()
    return None if row is None else int(row[0])


async def insert_message(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(messages.insert().values(**row))


async def messages_after(
    conn: AsyncConnection,
    conversation_id: str,
    after_seq: int,
    limit: int,
    *,
    include_internal: bool,
) -> list[dict[str, Any]]:
    query = (
        select(messages)
        .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
        .order_by(messages.c.seq)
        .limit(limit)
    )
    if not include_internal:
        query = query.where(messages.c.internal.is_(False))
    return [dict(r) for r in (await conn.execute(query)).mappings()]
