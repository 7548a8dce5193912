"""Chat messages stored by group commit (`server/store/group_commit.py`).

`append` has `messages.append`'s contract (guarantees 1–3): the row returned is
committed; `seq` is allocated under the conversation rows' locks inside the batch's
transaction; a retried `client_msg_id` returns the stored row. A concurrent duplicate
from another node fails the batch, which is then settled one message at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.chat import messages
from server.chat.messages import ConversationClosed
from server.ids import new_id, now_ms
from server.store import messages as queries
from server.store.database import Database
from server.store.group_commit import MAX_BATCH, GroupCommit

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
