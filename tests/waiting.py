"""Waiting on a condition with a timeout — for the few things tests can only poll
(an HTTP endpoint's answer, a port opening). Never a fixed sleep as a wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
POLL_INTERVAL_S = 0.05
NO_DELAY = 0  # sleeping for no time yields one turn of the event loop


async def next_loop_turn() -> None:
    """Let callbacks already scheduled on the event loop run (not a wait for anything)."""
    await asyncio.sleep(NO_DELAY)


async def settled(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Loop turns until `condition` holds (what it waits for runs in another task), then
    a few more, so that anything that would go wrong afterwards has had its chance."""
    async with asyncio.timeout(timeout):
        while not condition():
            await next_loop_turn()
    for _ in range(3):
        await next_loop_turn()


async def wait_until(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float, what: str
) -> T:
    """Call `probe` until `done(result)`; the last result, or AssertionError on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {result!r}")
        await asyncio.sleep(POLL_INTERVAL_S)
