"""One timer heap per node: each connected visitor's next wake-up (time-driven rules).

Not a task per visitor per rule: a single task sleeps until the earliest entry. An
entry is (due, visitor_id, generation); rescheduling bumps the generation, so stale
entries are skipped when they surface instead of being searched for and removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("beckon.scheduler")
WakeHandler = Callable[[str, float], Awaitable[None]]


class Scheduler:
    def __init__(self, on_wake: WakeHandler, clock: Callable[[], float] = time.time) -> None:
        self._on_wake = on_wake
        self._clock = clock
        self._heap: list[tuple[float, int, str]] = []
        self._current: dict[str, int] = {}  # visitor -> live generation
        self._generation = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._current)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def schedule(self, visitor_id: str, due: float | None) -> None:
        """Set (or, with None, clear) the visitor's wake-up, seconds since the epoch."""
        if due is None:
            self._current.pop(visitor_id, None)
            return
        self._generation += 1
        self._current[visitor_id] = self._generation
        heapq.heappush(self._heap, (due, self._generation, visitor_id))
        if self._heap[0][1] == self._generation:
            self._changed.set()  # the new entry is the earliest: wake the loop sooner
        if len(self._heap) > 4 * len(self._current) + 1024:
            self._compact()

    def _compact(self) -> None:
        self._heap = [e for e in self._heap if self._current.get(e[2]) == e[1]]
        heapq.heapify(self._heap)

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            timeout = None
            while self._heap:
                due, generation, visitor_id = self._heap[0]
                if self._current.get(visitor_id) != generation:
                    heapq.heappop(self._heap)
                    continue
                now = self._clock()
                if due > now:
                    timeout = due - now
                    break
                heapq.heappop(self._heap)
                del self._current[visitor_id]
                try:
                    await self._on_wake(visitor_id, due)
                except Exception:
                    log.exception("wake-up of %s failed", visitor_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
