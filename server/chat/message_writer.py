"""Chat messages stored by group commit (`server/store/group_commit.py`).

`append` has `messages.append`'s contract (guarantees 1–3): the row returned is
committed; `seq` is allocated under the conversation rows' locks inside the batch's
transaction; a retried `client_msg_id` returns the stored row. A concurrent duplicate
from another node fails the batch, which is then settled one message at a time.

On PostgreSQL a batch is one statement on the driver's connection
(`server/store/message_batch.py`); on SQLite, four statements in one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.chat import messages
from server.chat.messages import ConversationClosed
from server.ids import new_id, now_ms
from server.store import messages as queries
from server.store.database import Database, StoreUnavailable
from server.store.group_commit import MAX_BATCH, GroupCommit
from server.store.message_batch import append_batch_postgres

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
    if conn.dialect.name == "postgresql":
        return await _write_postgres(conn, batch)
    keys = [k for k in map(_key, batch) if k is not None]
    stored = await queries.find_by_client_ids(conn, keys)
    seqs = await queries.lock_open_conversations(conn, list({m["conversation_id"] for m in batch}))
    last_seqs: dict[str, int] = {}
    first_in_batch: dict[Key, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    results: list[Result | Exception] = []
    ts = now_ms()
    for message in batch:
        key = _key(message)
        if key is not None and key in stored:
            results.append((stored[key], True))
        elif key is not None and key in first_in_batch:
            results.append((first_in_batch[key], True))
        elif message["conversation_id"] not in seqs:
            results.append(ConversationClosed(message["conversation_id"]))
        else:
            cid = message["conversation_id"]
            seqs[cid] += 1
            last_seqs[cid] = seqs[cid]
            row = {"id": new_id("ms"), **message, "seq": seqs[cid], "ts": ts}
            rows.append(row)
            if key is not None:
                first_in_batch[key] = row
            results.append((row, False))
    if rows:
        await queries.store_batch(conn, rows, last_seqs)
    return results


async def _write_postgres(
    conn: AsyncConnection, batch: list[dict[str, Any]]
) -> list[Result | Exception]:
    """One statement in autocommit on the pooled asyncpg connection: the SQLAlchemy
    transaction around it stays empty (asyncpg's adapter begins only on first use)."""
    import asyncpg  # the PostgreSQL driver: imported only where it is used

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
    pg = (await conn.get_raw_connection()).driver_connection
    try:
        stored = await append_batch_postgres(pg, unique, now_ms())
    except asyncpg.UniqueViolationError as exc:
        raise IntegrityError("message batch", None, exc) from exc
    except Exception as exc:
        # What SQLAlchemy does for its own statements: a lost connection leaves the
        # pool, and callers hear "unavailable" (a server shutting down counts too).
        lost = (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.OperatorInterventionError,
            OSError,
            TimeoutError,
        )
        if isinstance(exc, lost) or pg.is_closed():
            await conn.invalidate()
            raise StoreUnavailable(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc
        raise
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


class MessageWriter:
    """One per node."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._commit: GroupCommit[dict[str, Any], Result] = GroupCommit(
            db, write_messages, self._single, max_batch=max_batch
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
        return await self._commit.submit(
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

    async def close(self) -> None:
        await self._commit.close()
