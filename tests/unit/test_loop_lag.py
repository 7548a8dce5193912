"""server/loop_lag.py: the timer sees how late a blocked loop wakes it."""

from __future__ import annotations

import time

from server.loop_lag import LoopLagMonitor
from tests.waiting import wait_until


async def _count(seen: list[float]) -> int:
    return len(seen)


async def test_a_blocked_loop_is_observed_as_lag() -> None:
    seen: list[float] = []
    monitor = LoopLagMonitor(seen.append, interval_s=0.01)
    monitor.start()
    try:
        await wait_until(lambda: _count(seen), lambda n: n >= 1, 5, "a first wake-up")
        assert all(lag >= 0 for lag in seen)
        before = len(seen)
        time.sleep(0.2)  # noqa: ASYNC251 — block the loop on purpose: the timer fires late
        await wait_until(lambda: _count(seen), lambda n: n > before, 5, "the late wake-up")
        assert seen[before] >= 0.15
    finally:
        await monitor.close()


async def test_close_before_start_is_harmless() -> None:
    await LoopLagMonitor(lambda _lag: None).close()
