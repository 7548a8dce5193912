"""One keepalive wheel per event loop: the chat sockets' ping and pong deadlines on a
single timer, not one loop timer per socket.

With a timer per socket, a node holding thousands of idle sockets woke its loop for
each socket's ping and again for each pong deadline, at scattered times: most of an
idle node's CPU (bench/PERF_NOTES.md, "The idle burn"). Here deadlines are put in
buckets, one per `WHEEL_TICK_S` (finer for short delays), and the loop's only keepalive
timer is armed for the earliest bucket: the loop wakes at most once per tick, and only
the sockets in a due bucket are touched. A deadline is never early, and at most one
tick late.

A socket is in the wheel only while it has a deadline: `add` returns its bucket, which
the socket keeps to `remove` itself (on a pong, a close, a lost connection).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import weakref
from collections.abc import Callable, Hashable

__all__ = ["WHEEL_TICK_S", "KeepaliveWheel", "keepalive_wheel"]

log = logging.getLogger("beckon.ws")

WHEEL_TICK_S = 1.0
"""The coarsest bucket: a ping every 20 s may go out up to this much later."""
TICKS_PER_DELAY = 8
"""A delay shorter than this many ticks gets finer buckets (tests ping every 10 ms)."""

Due = Callable[[], None]


class KeepaliveWheel:
    """Deadlines of many sockets on one loop timer (see the module)."""

    # No reference to the loop of its own: the wheel is the value of a weak mapping keyed
    # by its loop, and would keep it alive. It runs on the running loop.
    __slots__ = ("__weakref__", "_buckets", "_slots", "_timer", "_timer_at")

    def __init__(self) -> None:
        self._buckets: dict[float, dict[Hashable, Due]] = {}  # due time -> socket -> call
        self._slots: list[float] = []  # heap of bucket due times (emptied ones linger)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        """Sockets with a deadline in the wheel."""
        return sum(len(bucket) for bucket in self._buckets.values())

    @property
    def armed(self) -> bool:
        """Whether the wheel's loop timer is scheduled (it is while any socket is in)."""
        return self._timer is not None

    def add(self, socket: Hashable, delay: float, due: Due) -> float:
        """Call `due()` once, `delay` seconds from now or up to a tick later; the
        bucket to pass to `remove`. A socket is in at most one bucket: the caller
        removes the old deadline before adding a new one."""
        loop = asyncio.get_running_loop()
        tick = min(WHEEL_TICK_S, delay / TICKS_PER_DELAY)
        slot = math.ceil((loop.time() + delay) / tick) * tick
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = {}
            heapq.heappush(self._slots, slot)
            if slot < self._timer_at:
                self._arm(loop, slot)
        bucket[socket] = due
        return slot

    def remove(self, socket: Hashable, slot: float) -> None:
        """Drop `socket`'s deadline in bucket `slot` (nothing if it is not there)."""
        bucket = self._buckets.get(slot)
        if bucket is None or bucket.pop(socket, None) is None or bucket:
            return
        del self._buckets[slot]
        if not self._buckets:  # nothing left to wake up for
            self._disarm()

    def _arm(self, loop: asyncio.AbstractEventLoop, slot: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(slot, self._fire)
        self._timer_at = slot

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = math.inf
        self._slots.clear()

    def _fire(self) -> None:
        # The loop's clock may read a hair before the time it fired us at (uvloop's has
        # millisecond steps): the bucket we were armed for is due all the same.
        loop = asyncio.get_running_loop()
        due_until = max(loop.time(), self._timer_at)
        self._timer = None
        self._timer_at = math.inf
        slots = self._slots
        while slots and slots[0] <= due_until:
            bucket = self._buckets.pop(heapq.heappop(slots), None)
            for due in (bucket or {}).values():
                # Each deadline was its own loop callback before: one failing must not
                # cost the others theirs.
                try:
                    due()
                except Exception:
                    log.exception("keepalive deadline failed")
        # Buckets emptied by `remove` stay in the heap until their time: skip them.
        while slots and slots[0] not in self._buckets:
            heapq.heappop(slots)
        # A deadline added above may have armed the timer for a later bucket.
        if slots and slots[0] < self._timer_at:
            self._arm(loop, slots[0])


_WHEELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KeepaliveWheel] = (
    weakref.WeakKeyDictionary()
)


def keepalive_wheel(loop: asyncio.AbstractEventLoop) -> KeepaliveWheel:
    """The wheel of `loop` (one per loop: a node's sockets all share it)."""
    wheel = _WHEELS.get(loop)
    if wheel is None:
        wheel = _WHEELS[loop] = KeepaliveWheel()
    return wheel
