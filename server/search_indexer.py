"""The node's full-text search indexer: moves each conversation's search watermark up to
its newest message (server/store/search_index.py), off the message ack path.

The message writer notes each conversation it stored a message in; the indexer wakes,
waits `COALESCE_S` so one statement covers the messages of many commits, and indexes
them. So a message is indexed about `COALESCE_S` after its ack; until then search finds
it in the unindexed tail. Messages this node did not note (written by another node that
stopped before indexing them, or by an older version during a rolling upgrade) are
found by a sweep of every conversation at start-up and every `SWEEP_S`. Every node runs
one; two indexing the same conversation is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.exc import DBAPIError

from server.errors import first_line
from server.store.database import Database, StoreUnavailable
from server.store.search_index import conversations_behind, index_conversations

log = logging.getLogger("beckon.search")

# How long a noted message waits for others to share its indexing statement: the
# search index's usual lag behind an ack.
COALESCE_S = 1.0
# How often every conversation is checked for messages no node noted.
SWEEP_S = 30.0
# Conversations per indexing statement, and per sweep query.
BATCH = 100
SWEEP_LIMIT = 1000
# After a failed pass (store down, a conversation deleted meanwhile), the retry's delay.
RETRY_S = 1.0


class SearchIndexer:
    """One per node."""

    def __init__(
        self, db: Database, coalesce_s: float = COALESCE_S, sweep_s: float = SWEEP_S
    ) -> None:
        self.db = db
        self.coalesce_s = coalesce_s
        self.sweep_s = sweep_s
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0  # the first pass sweeps
        self.passes = 0  # completed passes, for tests and metrics
        self.idle = asyncio.Event()  # set while nothing noted waits to be indexed

    def note(self, conversation_id: str) -> None:
        """A message of this conversation was just stored: index it soon."""
        self._dirty.add(conversation_id)
        self.idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="search-indexer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except (StoreUnavailable, DBAPIError) as exc:
                # A conversation or message deleted under the statement, or the store
                # away: nothing was stored; the next pass no longer sees the deleted.
                log.warning("search indexing failed, retrying: %s", first_line(exc))
                await asyncio.sleep(RETRY_S)
                continue
            except Exception:  # the worker must outlive a bug; search reads the tail
                log.exception("search indexing failed, retrying")
                await asyncio.sleep(RETRY_S)
                continue
            if self._dirty:
                await asyncio.sleep(self.coalesce_s)  # a backlog: keep going, paced
                continue
            self.idle.set()
            self._wake.clear()
            wait = max(0.0, self._next_sweep - time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            await asyncio.sleep(self.coalesce_s)

    async def run_once(self) -> None:
        """One pass: a sweep when due, then the noted conversations, BATCH at a time.
        Raises StoreUnavailable or the database's error (the conversations stay noted)."""
        if time.monotonic() >= self._next_sweep:
            behind = await conversations_behind(self.db, SWEEP_LIMIT)
            self._dirty.update(behind)
            # A full page: more may be behind; sweep again on the next pass.
            self._next_sweep = (
                time.monotonic() if len(behind) == SWEEP_LIMIT else time.monotonic() + self.sweep_s
            )
        # What is noted from now on waits for the next pass (one statement for many).
        pending, self._dirty = sorted(self._dirty), set()
        for start in range(0, len(pending), BATCH):
            try:
                still_behind = await index_conversations(self.db, pending[start : start + BATCH])
            except BaseException:
                self._dirty.update(pending[start:])
                raise
            self._dirty.update(still_behind)
        self.passes += 1
