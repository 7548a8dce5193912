"""Keeps the audit log to BECKON_AUDIT_RETENTION_DAYS: hourly, in bounded batches.

Every node runs it; two nodes deleting the same old entries is harmless (a delete by
id finds nothing the second time), so no lock is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.audit.queries import PRUNE_BATCH, prune_batch
from server.ids import now_ms
from server.store.database import Database

log = logging.getLogger("beckon.audit")
EVERY_S = 3600.0
DAY_MS = 86_400_000
# A round stops after this many batches and goes on next hour, so a first run against
# a huge backlog never holds the Store for long.
MAX_BATCHES = 50


async def prune_audit_log(db: Database, retention_days: int, now: int) -> int:
    """Delete entries older than `retention_days` before `now` (ms); the count deleted."""
    cutoff = now - retention_days * DAY_MS
    removed = 0
    for _ in range(MAX_BATCHES):
        async with db.write() as conn:
            n = await prune_batch(conn, cutoff)
        removed += n
        if n < PRUNE_BATCH:
            break
    return removed


class AuditPruner:
    def __init__(self, db: Database, retention_days: int) -> None:
        self.db = db
        self.retention_days = retention_days
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                removed = await prune_audit_log(self.db, self.retention_days, now_ms())
                if removed:
                    log.info(
                        "pruned %d audit entries older than %d days", removed, self.retention_days
                    )
            except Exception as exc:  # the next round retries; a batch is all or nothing
                log.warning("audit log pruning failed: %s", exc)
            await asyncio.sleep(EVERY_S)
