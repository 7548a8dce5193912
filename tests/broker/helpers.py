"""Helpers shared by the broker tests (imported relatively; fixtures live in conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.waiting import POLL_INTERVAL_S


class FakeClock:
    """A monotonic clock (seconds) that only moves when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Collector:
    """A subscription handler that records (channel, data) and lets tests await counts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._changed = asyncio.Event()

    def __call__(self, channel: str, data: bytes) -> None:
        self.messages.append((channel, data))
        self._changed.set()

    @property
    def payloads(self) -> list[bytes]:
        return [data for _, data in self.messages]

    async def wait_for(self, count: int, within_s: float = 5.0) -> list[bytes]:
        """Wait until at least `count` messages arrived; fail after `within_s` seconds."""
        async with asyncio.timeout(within_s):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.payloads


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within_s: float = 5.0, what: str = "condition"
) -> None:
    """Poll an async predicate until it holds; fail after `within_s` seconds.

    Only for server-side time (Redis TTLs), where no event can be awaited.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await predicate():
        if loop.time() > deadline:
            pytest.fail(f"{what} did not hold within {within_s} s")
        await asyncio.sleep(POLL_INTERVAL_S)
