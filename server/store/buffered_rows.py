"""Rows nobody waits for (the visit log, decisions over time), written in batches: one
INSERT per flush, off the ack path.

`close()` flushes what is pending. When the Store is down the buffer is kept (bounded)
and retried on the next tick; past `MAX_PENDING` the oldest rows are dropped and counted
(`dropped`), rather than growing without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.database import Database

log = logging.getLogger("beckon.store")
FLUSH_INTERVAL_S = 0.2
MAX_BATCH = 500
MAX_PENDING = 50_000


class BufferedRows:
    """Buffers rows of `table` and writes them in batches; `name` is for the logs."""

    def __init__(self, db: Database, table: Table, name: str) -> None:
        self.db = db
        self.table = table
        self.name = name
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) > MAX_PENDING:
            overflow = len(self._pending) - MAX_PENDING
            del self._pending[:overflow]
            self.dropped += overflow
        if len(self._pending) >= MAX_BATCH:
            self._wake.set()

    def forget(self, visitor_id: str) -> None:
        """Drop the visitor's rows not yet written (an erasure)."""
        self._pending = [r for r in self._pending if r["visitor_id"] != visitor_id]

    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            async with self.db.write() as conn:
                await self.write(conn, batch)
            del self._pending[: len(batch)]

    async def write(self, conn: AsyncConnection, batch: list[dict[str, Any]]) -> None:
        """Insert `batch` in `conn`'s transaction (a subclass may do it faster)."""
        await conn.execute(self.table.insert(), batch)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # kept and retried on the next tick
                log.warning("%s flush failed, will retry: %s", self.name, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()
