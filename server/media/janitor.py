"""Removing orphaned uploads: attachments no message referenced within
BECKON_MEDIA_ORPHAN_S (a client that uploaded and never sent, or died in between).

Every node sweeps on its own: deleting is idempotent (an object or row already gone is
not an error), so two nodes sweeping at once only repeat each other's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.ids import now_ms
from server.media.storage import MediaUnavailable
from server.media.uploads import Media
from server.store import attachments as queries

log = logging.getLogger("beckon.media")
SWEEP_EVERY_S = 60.0
BATCH = 200


class MediaJanitor:
    def __init__(self, media: Media) -> None:
        self.media = media
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
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await self.sweep(now_ms())
            except Exception as exc:  # the next sweep retries
                log.warning("media orphan sweep failed: %s", exc)

    async def sweep(self, now: int) -> int:
        """Delete attachments unreferenced since before `now` − the bound; how many."""
        cutoff = now - self.media.settings.media_orphan_s * 1000
        removed = 0
        while True:
            async with self.media.db.read() as conn:
                batch = await queries.orphans(conn, cutoff, BATCH)
            for row in batch:
                # The row first, and only while still unreferenced: a message that claims
                # it meanwhile keeps it whole. A storage failure after this leaves bytes
                # no row names (logged), never a message naming missing bytes.
                async with self.media.db.write() as conn:
                    if not await queries.delete_orphan(conn, row["id"]):
                        continue
                removed += 1
                try:
                    await self.media.remove_objects(row)
                except MediaUnavailable as exc:
                    log.warning("media orphan %s: objects not deleted: %s", row["id"], exc)
            if len(batch) < BATCH:
                break
        if removed:
            log.info("removed %d orphaned attachments", removed)
        return removed
