"""Concurrent loads of the same key share one call.

A cache that expires lets every caller that arrives before the first reload finishes
read the store itself: at 100 page loads in flight that is 100 identical queries, and
more connections than the pool keeps (each opened and closed again). Callers of `run`
for a key already loading wait for that load instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """`load()`'s result, shared with every caller of `key` while it runs. Its
        exception reaches them all; the next call loads again. A caller cancelled
        while waiting does not cancel the load the others wait for."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(load())
            self._flights[key] = flight
            flight.add_done_callback(partial(self._landed, key))
        return await asyncio.shield(flight)

    def forget(self, key: K) -> None:
        """The data changed: callers from now on start a new load, not join this one."""
        self._flights.pop(key, None)

    def _landed(self, key: K, flight: asyncio.Future[V]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here, so a load nobody awaited logs nothing
