"""Queries on messages: gap-free `seq` allocation and idempotent inserts (guarantees 2, 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update
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


async def find_by_client_ids(
    conn: AsyncConnection, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Stored messages by (conversation_id, sender, client_msg_id), in one query."""
    if not keys:
        return {}
    query = select(messages).where(
        tuple_(messages.c.conversation_id, messages.c.sender, messages.c.client_msg_id).in_(keys)
    )
    found = {}
    for row in (await conn.execute(query)).mappings():
        found[(row["conversation_id"], row["sender"], row["client_msg_id"])] = dict(row)
    return found


async def lock_open_conversations(conn: AsyncConnection, ids: list[str]) -> dict[str, int]:
    """last_seq of each open conversation among `ids`, row-locked until the transaction ends.

    Locked in id order, so two nodes writing batches that share conversations wait for
    each other instead of deadlocking. (SQLite has one writer; FOR UPDATE is dropped.)
    """
    query = (
        select(conversations.c.id, conversations.c.last_seq)
        .where(conversations.c.id.in_(sorted(ids)), conversations.c.status != "closed")
        .order_by(conversations.c.id)
        .with_for_update()
    )
    return {row.id: int(row.last_seq) for row in await conn.execute(query)}


_SET_LAST_SEQ = (
    update(conversations)
    .where(conversations.c.id == bindparam("b_id"))
    .values(
        last_seq=bindparam("b_seq"),
        # The first visible agent reply of the batch, if the conversation has none yet.
        first_response_ts=func.coalesce(conversations.c.first_response_ts, bindparam("b_frt")),
    )
)


async def store_batch(
    conn: AsyncConnection, rows: list[dict[str, Any]], last_seqs: dict[str, int]
) -> None:
    """Insert `rows` (seqs already allocated under `lock_open_conversations`) and move
    each conversation's last_seq to its new value, in the caller's transaction."""
    first_response: dict[str, int | None] = dict.fromkeys(last_seqs)
    for row in rows:
        if row["author_kind"] == "agent" and not row["internal"]:
            first_response[row["conversation_id"]] = (
                first_response[row["conversation_id"]] or row["ts"]
            )
    await conn.execute(
        _SET_LAST_SEQ,
        [
            {"b_id": cid, "b_seq": seq, "b_frt": first_response[cid]}
            for cid, seq in sorted(last_seqs.items())
        ],
    )
    await conn.execute(messages.insert(), rows)


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
