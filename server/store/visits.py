"""The visit event log: behaviour events appended in batches (input of backtests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, select

from server.store.database import Database
from server.store.tables import visit_events

log = logging.getLogger("beckon.visits")
FLUSH_INTERVAL_S = 0.2
MAX_BATCH = 500
MAX_PENDING = 50_000


class VisitLog:
    """Buffers events and writes them in one INSERT per flush.

    Behaviour events are not acknowledged to anyone, so batching them costs no
    guarantee; `close()` flushes what is pending. When the Store is down the buffer is
    kept (bounded) and retried; past `MAX_PENDING` the oldest events are dropped and
    counted, rather than growing without limit.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def append(self, site_id: str, visitor_id: str, ts: int, type_: str, data: dict) -> None:
        self._pending.append(
            {"site_id": site_id, "visitor_id": visitor_id, "ts": ts, "type": type_, "data": data}
        )
        if len(self._pending) > MAX_PENDING:
            overflow = len(self._pending) - MAX_PENDING
            del self._pending[:overflow]
            self.dropped += overflow
        if len(self._pending) >= MAX_BATCH:
            self._wake.set()

    def forget(self, visitor_id: str) -> None:
        """Drop the visitor's events not yet written (an erasure)."""
        self._pending = [e for e in self._pending if e["visitor_id"] != visitor_id]

    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            async with self.db.write() as conn:
                await conn.execute(visit_events.insert(), batch)
            del self._pending[: len(batch)]

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # kept and retried on the next tick
                log.warning("visit log flush failed, will retry: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()


async def events_between(
    db: Database, site_id: str, from_ts: int, to_ts: int, limit: int
) -> list[dict[str, Any]]:
    query = (
        select(visit_events)
        .where(
            visit_events.c.site_id == site_id,
            visit_events.c.ts >= from_ts,
            visit_events.c.ts < to_ts,
        )
        .order_by(visit_events.c.ts, visit_events.c.id)
        .limit(limit)
    )
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def delete_visitor(db: Database, site_id: str, visitor_id: str) -> int:
    async with db.write() as conn:
        result = await conn.execute(
            delete(visit_events).where(
                visit_events.c.site_id == site_id, visit_events.c.visitor_id == visitor_id
            )
        )
    return result.rowcount or 0
