"""Event-loop lag: one cheap timer task per node, and how late each of its wake-ups was.

A loop busy with CPU work (or blocked by a synchronous call) wakes every timer late: the
lag is what every socket on the node waits on top of its own work, so it is charted and
alerted on (docs/monitoring/).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

INTERVAL_S = 0.5  # 2 wake-ups a second: nothing next to a node's other work


class LoopLagMonitor:
    """Observes the lag of each wake-up (seconds, ≥ 0) through `observe`."""

    def __init__(self, observe: Callable[[float], None], interval_s: float = INTERVAL_S) -> None:
        self._observe = observe
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._interval_s
            await asyncio.sleep(self._interval_s)
            self._observe(max(0.0, loop.time() - due))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
