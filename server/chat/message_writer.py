"""Group commit: the node's chat messages are stored in batches, one transaction each.

Every socket awaits its own message's commit (guarantee 1: ack after commit), but the
messages that arrive while a batch commits go into the next one together, so at load a
message costs a share of one transaction instead of one each. `seq` is allocated under
the conversation rows' locks inside the batch's transaction (guarantee 2); a retried
`client_msg_id` returns the stored row (guarantee 3). Anything a batch cannot settle
(a concurrent duplicate from another node) falls back to the one-message path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from server.chat import messages
from server.chat.messages import ConversationClosed
from server.ids import new_id, now_ms
from server.store import messages as queries
from server.store.database import Database

log = logging.getLogger("beckon.chat")

MAX_BATCH = 256
# PostgreSQL commits one batch while the next one runs its statements; SQLite has a
# single writer, so a second transaction would only wait for the lock.
WRITERS = {"postgresql": 2, "sqlite": 1}

Result = tuple[dict[str, Any], bool]


@dataclass(slots=True)
class _Pending:
    message: dict[str, Any]
    future: asyncio.Future[Result] = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str] | None:
        m = self.message
        if m["client_msg_id"] is None or m["sender"] is None:
            return None
        return (m["conversation_id"], m["sender"], m["client_msg_id"])


class MessageWriter:
    """One per node. `append` has `messages.append`'s contract; batching is invisible."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

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
        if not self._tasks:
            self._start()
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        message = {
            "conversation_id": conversation_id,
            "sender": sender,
            "author_kind": author_kind,
            "author_id": author_id,
            "author_name": author_name,
            "client_msg_id": client_msg_id,
            "text": text,
            "internal": internal,
        }
        self._queue.put_nowait(_Pending(message, future))
        # A caller that goes away cancels only its future: the batch still commits, and a
        # retry of the same client_msg_id then finds the row.
        return await future

    def _start(self) -> None:
        for _ in range(WRITERS.get(self._db.dialect, 1)):
            self._tasks.append(asyncio.create_task(self._run(), name="message-writer"))

    async def close(self, timeout: float = 5.0) -> None:
        """Let queued messages commit (bounded), then stop the writers."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._queue.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._settle(batch)
            except Exception as exc:  # StoreUnavailable and the like: every caller hears it
                for pending in batch:
                    _resolve(pending, exc=exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _settle(self, batch: list[_Pending]) -> None:
        try:
            results = await self._write(batch)
        except IntegrityError:
            # A retry of one of these client_msg_ids committed on another node between our
            # lookup and our insert. The batch rolled back (seqs returned); one by one, the
            # single path reads the winner back.
            for pending in batch:
                try:
                    _resolve(pending, await messages.append(self._db, **pending.message))
                except Exception as exc:
                    _resolve(pending, exc=exc)
            return
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                _resolve(pending, exc=result)
            else:
                _resolve(pending, result)

    async def _write(self, batch: list[_Pending]) -> list[Result | Exception]:
        results: list[Result | Exception | None] = [None] * len(batch)
        async with self._db.write() as conn:
            keys = [p.key for p in batch if p.key is not None]
            stored = await queries.find_by_client_ids(conn, keys)
            seqs = await queries.lock_open_conversations(
                conn, list({p.message["conversation_id"] for p in batch})
            )
            last_seqs: dict[str, int] = {}
            rows = []
            first_in_batch: dict[tuple[str, str, str], dict[str, Any]] = {}
            ts = now_ms()
            for index, pending in enumerate(batch):
                key = pending.key
                if key is not None and key in stored:
                    results[index] = (stored[key], True)
                    continue
                if key is not None and key in first_in_batch:
                    results[index] = (first_in_batch[key], True)
                    continue
                cid = pending.message["conversation_id"]
                if cid not in seqs:
                    results[index] = ConversationClosed(cid)
                    continue
                seqs[cid] += 1
                last_seqs[cid] = seqs[cid]
                row = {"id": new_id("ms"), **pending.message, "seq": seqs[cid], "ts": ts}
                rows.append(row)
                if key is not None:
                    first_in_batch[key] = row
                results[index] = (row, False)
            if rows:
                await queries.store_batch(conn, rows, last_seqs)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]


def _resolve(
    pending: _Pending, result: Result | None = None, exc: BaseException | None = None
) -> None:
    if pending.future.done():
        return
    if exc is not None:
        pending.future.set_exception(exc)
    else:
        pending.future.set_result(result)  # type: ignore[arg-type]
