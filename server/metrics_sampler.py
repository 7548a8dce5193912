"""Refreshes the gauges that are read rather than counted: the Store's cluster-wide figures
(queued chats, webhook backlog and failures) on a timer, and this node's write queues
at scrape time. Started and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.ids import now_ms
from server.services import Services
from server.store.database import StoreUnavailable
from server.store.ops_stats import OpsStats, ops_stats

log = logging.getLogger("beckon.metrics")
SAMPLE_INTERVAL_S = 15.0  # a Prometheus scrape interval; one small count query per node


def record(services: Services, stats: OpsStats, now: int) -> None:
    """Set the Store-sampled gauges from `stats` taken at `now` (ms)."""
    metrics = services.metrics
    metrics.chat_queue.set(stats.queued_chats)
    metrics.webhook_backlog.set(stats.webhook_pending)
    oldest = stats.webhook_oldest_pending_ms
    metrics.webhook_oldest.set(0 if oldest is None else max(0, now - oldest) / 1000)
    metrics.webhook_failed.set(stats.webhook_failed)
    metrics.sampled_at.set(now / 1000)


class MetricsSampler:
    def __init__(self, services: Services, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._services = services
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        queues = services.metrics.write_queue
        queues.labels("messages").set_function(services.message_writer.pending)
        queues.labels("visitors").set_function(services.visitor_writer.pending)
        queues.labels("visit_events").set_function(services.visit_log.pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def sample(self) -> None:
        """One refresh; a Store failure is counted and logged, and the gauges keep their
        last values (the sample timestamp shows how old they are)."""
        try:
            async with self._services.db.read() as conn:
                stats = await ops_stats(conn)
        except StoreUnavailable as exc:
            self._services.metrics.backend_errors.labels("store").inc()
            log.warning("metrics sample failed: %s", exc)
            return
        except Exception:  # a bug here must not stop the sampling
            self._services.metrics.backend_errors.labels("store").inc()
            log.exception("metrics sample failed")
            return
        record(self._services, stats, now_ms())

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self._interval_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
