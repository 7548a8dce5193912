"""Appending a message: validate → store (seq in the same transaction) → return the row.

Guarantees 1–3: the caller acks only with the row returned here, which is committed;
`seq` comes from the conversation row inside the insert's transaction; a retry with the
same `client_msg_id` from the same sender returns the stored row and stores nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from server.ids import new_id, now_ms
from server.media import references
from server.store import messages as queries
from server.store.database import Database
from server.store.tables import conversations


class ConversationClosed(Exception):
    """The conversation is closed (or gone): nothing can be appended."""


async def append(
    db: Database,
    *,
    conversation_id: str,
    sender: str,
    author_kind: str,
    author_id: str | None,
    author_name: str | None,
    client_msg_id: str | None,
    text: str,
    internal: bool = False,
    answers: bool = True,
) -> tuple[dict[str, Any], bool]:
    """Store one message; returns (row, duplicate). Raises ConversationClosed.

    `answers=False` for an agent's words that are not an answer to the visitor (the
    invitation that opened the chat): the first response time waits for a real one."""
    for _attempt in range(3):
        try:
            async with db.write() as conn:
                if client_msg_id is not None:
                    existing = await queries.find_by_client_id(
                        conn, conversation_id, sender, client_msg_id
                    )
                    if existing is not None:
                        return existing, True
                seq = await queries.next_seq(conn, conversation_id)
                if seq is None:
                    raise ConversationClosed(conversation_id)
                row = {
                    "id": new_id("ms"),
                    "conversation_id": conversation_id,
                    "seq": seq,
                    "author_kind": author_kind,
                    "author_id": author_id,
                    "author_name": author_name,
                    "sender": sender,
                    "client_msg_id": client_msg_id,
                    "text": text,
                    "internal": internal,
                    "ts": now_ms(),
                }
                await queries.insert_message(conn, row)
                if author_kind == "agent" and not internal and answers:
                    await conn.execute(
                        conversations.update()
                        .where(
                            conversations.c.id == conversation_id,
                            conversations.c.first_response_ts.is_(None),
                        )
                        .values(first_response_ts=row["ts"])
                    )
            return row, False
        except IntegrityError:
            # A concurrent retry of the same client_msg_id committed first; the loop
            # reads it back. The rollback returned our seq, so no gap is left.
            if client_msg_id is None:
                raise
    raise RuntimeError("message insert kept conflicting")


async def after(
    db: Database, conversation_id: str, after_seq: int, *, include_internal: bool, limit: int = 500
) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await queries.messages_after(
            conn, conversation_id, after_seq, limit, include_internal=include_internal
        )
        return await references.on_messages(rows, conn)
