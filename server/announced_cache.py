"""A per-node cache of rarely changing rows, dropped everywhere when one changes.

The node that changes a row calls `announce(key)`: its own entry goes at once, and
every other node drops its entry when the broker delivers the key on `channel`.
Entries also expire after `max_age_s`, in case an announcement was lost while the
broker was down. A load that overlaps an announcement is used once but not kept, so a
reader can never re-cache what was true before the change. `None` (not found) is never
kept, so probing random keys cannot fill the cache, and it holds at most `max_entries`.
Concurrent misses of one key share one load (`server/single_flight.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from server.broker.base import Broker, BrokerUnavailable
from server.broker.fanout import Subscription
from server.single_flight import SingleFlight

V = TypeVar("V")
log = logging.getLogger("beckon.cache")


class AnnouncedCache(Generic[V]):
    def __init__(
        self,
        channel: str,
        load: Callable[[str], Awaitable[V]],
        max_age_s: float = 30.0,
        max_entries: int = 10_000,
    ) -> None:
        self.channel = channel
        self._max_entries = max_entries
        self._load = load
        self._max_age_s = max_age_s
        self._entries: dict[str, tuple[V, float]] = {}
        self._changes = 0
        self._loads: SingleFlight[str, V] = SingleFlight()
        self._subscription: Subscription | None = None
        # Called with the key of each change this node hears of (its own and others').
        self.listeners: list[Callable[[str], None]] = []

    async def get(self, key: str) -> V:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[1] < self._max_age_s:
            return entry[0]
        changes = self._changes
        value = await self._loads.run(key, lambda: self._load(key))
        if changes == self._changes and value is not None:
            if len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest insert
            self._entries[key] = (value, time.monotonic())
        return value

    def invalidate(self, key: str) -> None:
        self._entries.pop(key, None)
        self._changes += 1
        # A load under way may have read the old row: later callers must not join it.
        self._loads.forget(key)
        for listener in self.listeners:
            try:
                listener(key)
            except Exception:  # a listener's bug must not break the cache
                log.exception("a change listener of %s failed", self.channel)

    async def follow(self, broker: Broker) -> None:
        """Listen for other nodes' announcements (once, at start-up)."""
        self._subscription = await broker.subscribe(
            self.channel, lambda _channel, data: self.invalidate(data.decode())
        )

    async def announce(self, broker: Broker, key: str) -> None:
        """After a change is stored: drop it here, and tell the other nodes."""
        self.invalidate(key)
        try:
            await broker.publish(self.channel, key.encode())
        except BrokerUnavailable as exc:  # stored anyway; other nodes expire the entry
            log.warning("could not announce a change on %s: %s", self.channel, exc)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
