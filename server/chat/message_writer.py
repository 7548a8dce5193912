"""Chat messages stored by group commit (`server/store/group_commit.py`).

`append` has `messages.append`'s contract (guarantees 1–3): the row returned is
committed; `seq` is allocated under the conversation rows' locks inside the batch's
transaction; a retried `client_msg_id` returns the stored row. A concurrent duplicate
from another node fails the batch, which is then settled one message at a time.

On PostgreSQL a batch is one statement on the driver's connection
(`server/store/message_batch.py`); on SQLite, four statements in one call on the
driver's thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.chat import messages
from server.chat.messages import ConversationClosed
from server.ids import new_id, now_ms
from server.store.database import Database, raw_postgres
from server.store.group_commit import MAX_BATCH, GroupCommit
from server.store.message_batch import Stored, append_batch_postgres, append_batch_sqlite

Result = tuple[dict[str, Any], bool]
Key = tuple[str, str, str]


def _key(message: dict[str, Any]) -> Key | None:
    if message["client_msg_id"] is None or message["sender"] is None:
        return None
    return (message["conversation_id"], message["sender"], message["client_msg_id"])


async def write_messages(
    conn: AsyncConnection, batch: list[dict[str, Any]]
) -> list[Result | Exception]:
    """Store a batch in the caller's transaction; one result per message, in order."""
    # A key repeated in the batch is stored once; its later copies answer as retries.
    unique: list[dict[str, Any]] = []
    first: dict[Key, int] = {}
    slots: list[int] = []
    for message in batch:
        key = _key(message)
        if key is not None and key in first:
            slots.append(first[key])
            continue
        if key is not None:
            first[key] = len(unique)
        slots.append(len(unique))
        unique.append({"id": new_id("ms"), **message})
    if conn.dialect.name == "postgresql":
        stored = await _write_postgres(conn, unique)
    else:
        stored = await _write_sqlite(conn, unique)
    results: list[Result | Exception] = []
    answered: set[int] = set()
    for message, slot in zip(batch, slots, strict=True):
        result = stored[slot]
        if result is None:
            results.append(ConversationClosed(message["conversation_id"]))
        elif slot in answered:
            results.append((result[0], True))
        else:
            answered.add(slot)
            results.append(result)
    return results


async def _write_postgres(
    conn: AsyncConnection, unique: list[dict[str, Any]]
) -> list[Stored | None]:
    """One statement in autocommit on the pooled asyncpg connection: the SQLAlchemy
    transaction around it stays empty (asyncpg's adapter begins only on first use)."""
    import asyncpg  # the PostgreSQL driver: imported only where it is used

    async with raw_postgres(conn) as pg:
        try:
            return await append_batch_postgres(pg, unique, now_ms())
        except asyncpg.UniqueViolationError as exc:
            raise IntegrityError("message batch", None, exc) from exc


async def _write_sqlite(conn: AsyncConnection, unique: list[dict[str, Any]]) -> list[Stored | None]:
    """The batch's statements in one hop to aiosqlite's thread, inside the caller's
    BEGIN IMMEDIATE (`Database.write`), which also commits."""
    driver = (await conn.get_raw_connection()).driver_connection  # aiosqlite.Connection
    try:
        # aiosqlite's own way of running a call on its connection thread.
        return await driver._execute(append_batch_sqlite, driver._conn, unique, now_ms())
    except sqlite3.IntegrityError as exc:
        raise IntegrityError("message batch", None, exc) from exc


class MessageWriter:
    """One per node."""

    def __init__(
        self,
        db: Database,
        max_batch: int = MAX_BATCH,
        on_stored: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        # Told each conversation a new message was stored in (the search indexer).
        self._on_stored = on_stored
        self._commit: GroupCommit[dict[str, Any], Result] = GroupCommit(
            db, write_messages, self._single, max_batch=max_batch, urgent=True
        )

    async def _single(self, message: dict[str, Any]) -> Result:
        return await messages.append(self._db, **message)

    async def append(
        self,
        *,
        conversation_id: str,
        sender: str | None,
        author_kind: str,
        author_id: str | None,
        author_name: str | None,
        client_msg_id: str | None,
        text: str,
        internal: bool = False,
    ) -> Result:
        """Store one message; returns (row, duplicate). Raises ConversationClosed."""
        result = await self._commit.submit(
            {
                "conversation_id": conversation_id,
                "sender": sender,
                "author_kind": author_kind,
                "author_id": author_id,
                "author_name": author_name,
                "client_msg_id": client_msg_id,
                "text": text,
                "internal": internal,
            }
        )
        if self._on_stored is not None and not result[1]:
            self._on_stored(conversation_id)
        return result

    def pending(self) -> int:
        return self._commit.pending()

    async def close(self) -> None:
        await self._commit.close()
