"""Visitor briefs for the console: the compact summary (`payloads.visitor_brief`) that
conversation frames, queue items and offers carry, read in batches.

One call reads the Broker's live state of each visitor and the Store's visitor rows
(one query for the whole batch). Nothing here runs per message: callers ask once per
conversation event (welcome, queue change, assignment, offer, accept, REST read).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from server.broker.base import Broker
from server.chat import visitor_state
from server.chat.payloads import visitor_brief
from server.store.database import Database
from server.store.tables import visitors

Brief = dict[str, Any]
TTL_S = 1.0  # a queue change reaches every agent socket of a node at once
MAX_CACHED = 10_000
BROKER_READS_AT_ONCE = 16  # of the Broker's connection pool


class VisitorBriefs:
    """Briefs by visitor id, shared by every socket of this node.

    A queue change is fanned out to each agent socket, and each builds the same queue
    frame: briefs are kept for `ttl_s` seconds of `clock` (monotonic seconds), and
    callers asking for a visitor whose read is in flight wait for that read, so the
    node reads each visitor once per change, not once per socket. Store and Broker
    errors (`StoreUnavailable`, `BrokerUnavailable`) propagate to every waiter; a
    failed read is not cached.
    """

    def __init__(
        self,
        db: Database,
        broker: Broker,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.broker = broker
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Brief]] = {}  # id → (expires, brief)
        self._pending: dict[str, asyncio.Task[dict[str, Brief]]] = {}

    async def one(self, visitor_id: str) -> Brief:
        return (await self.many([visitor_id]))[visitor_id]

    async def many(self, visitor_ids: Iterable[str]) -> dict[str, Brief]:
        """A brief for each id (a visitor unknown to both gets `{"id": ...}`)."""
        now = self._clock()
        found: dict[str, Brief] = {}
        reads: dict[str, asyncio.Task[dict[str, Brief]]] = {}
        missing: list[str] = []
        for visitor_id in dict.fromkeys(visitor_ids):
            cached = self._cache.get(visitor_id)
            if cached is not None and cached[0] > now:
                found[visitor_id] = cached[1]
            elif visitor_id in self._pending:
                reads[visitor_id] = self._pending[visitor_id]
            else:
                missing.append(visitor_id)
        if missing:
            # Its own task: a caller that is cancelled does not cancel the read that
            # other callers wait for.
            task = asyncio.create_task(self._read(missing))
            for visitor_id in missing:
                self._pending[visitor_id] = reads[visitor_id] = task
            task.add_done_callback(functools.partial(self._settle, missing))
        for visitor_id, read in reads.items():
            found[visitor_id] = (await asyncio.shield(read))[visitor_id]
        return found

    def _settle(self, visitor_ids: list[str], task: asyncio.Task[dict[str, Brief]]) -> None:
        for visitor_id in visitor_ids:
            if self._pending.get(visitor_id) is task:
                del self._pending[visitor_id]
        # exception() also marks a failure as seen: the waiters re-raise it.
        if not task.cancelled() and task.exception() is None:
            self._remember(task.result())

    def _remember(self, briefs: dict[str, Brief]) -> None:
        now = self._clock()
        if len(self._cache) + len(briefs) > MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) + len(briefs) > MAX_CACHED:
                self._cache.clear()
        expires = now + self.ttl_s
        for visitor_id, brief in briefs.items():
            self._cache[visitor_id] = (expires, brief)

    async def _read(self, visitor_ids: list[str]) -> dict[str, Brief]:
        query = select(visitors.c.id, visitors.c.name, visitors.c.user_id).where(
            visitors.c.id.in_(visitor_ids)
        )
        async with self.db.read() as conn:
            rows = {r["id"]: dict(r) for r in (await conn.execute(query)).mappings()}
        states: dict[str, visitor_state.VisitorState] = {}
        for start in range(0, len(visitor_ids), BROKER_READS_AT_ONCE):
            chunk = visitor_ids[start : start + BROKER_READS_AT_ONCE]
            loaded = await asyncio.gather(*(visitor_state.load(self.broker, v) for v in chunk))
            states.update(zip(chunk, loaded, strict=True))
        return {
            visitor_id: visitor_brief(visitor_id, states[visitor_id].facts, rows.get(visitor_id))
            for visitor_id in visitor_ids
        }
