"""The loop both Redis pipelines share: one task per node owns the writes, and what
callers queue while one batch is in flight goes in the next (one write for N callers).

Each caller holds a future. A subclass's `_send` resolves the futures of its batch; if
it raises, the whole batch fails with BrokerUnavailable and the task lives on for later
callers. Once closed, a queued item fails at once (no task would ever send it).

With `max_queued`, callers of `_submit_when_room` wait while that many items are queued
and not yet taken for sending (backpressure: a stalled Redis must not turn a burst of
callers into an unbounded list), and are let in first come, first served.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, Generic, TypeVar

from server.broker.base import BrokerUnavailable

T = TypeVar("T")
MAX_BATCH = 512
Batch = list[tuple[T, "asyncio.Future[Any]"]]


class BatchQueue(Generic[T]):
    # Whether an item whose caller gave up (cancelled) before it left is still sent.
    send_abandoned = True

    def __init__(self, what: str, max_queued: int | None = None) -> None:
        """`max_queued`: how many items may wait to be sent before `_submit_when_room`
        makes callers wait (None: no bound, for callers that cannot wait)."""
        if max_queued is not None and max_queued < 1:
            raise ValueError(f"max_queued must be >= 1, got {max_queued}")
        self._what = what  # names the task and the batch in errors
        self._pending: Batch[T] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._max_queued = max_queued
        # Callers waiting for room, in arrival order (a cancelled one stays until
        # reached); `_granted`: callers let in that have not queued their item yet.
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        self._granted = 0

    def submit_nowait(self, item: T) -> asyncio.Future[Any]:
        """Queue `item` now, past `max_queued` if need be (for callers that cannot wait:
        each holds at most one item at a time); the future settles with its result."""
        return self._submit(item)

    @property
    def queued(self) -> int:
        """Items queued and not yet taken for sending."""
        return len(self._pending)

    @property
    def waiting(self) -> int:
        """Callers waiting for room (see `max_queued`)."""
        return sum(1 for room in self._room_waiters if not room.done())

    async def _submit_when_room(self, item: T) -> asyncio.Future[Any]:
        """`_submit`, after waiting (first come, first served) while `max_queued` items
        are queued. A caller cancelled while waiting queues nothing."""
        if self._max_queued is not None and not self._closed:
            if self._room_waiters or len(self._pending) + self._granted >= self._max_queued:
                room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._room_waiters.append(room)
                self._grant_room()  # the ones ahead may all have been cancelled
                try:
                    await room  # BrokerUnavailable if closed meanwhile
                except asyncio.CancelledError:
                    if room.done() and not room.cancelled() and room.exception() is None:
                        self._granted -= 1  # let in, then cancelled: pass the room on
                        self._grant_room()
                    raise
                self._granted -= 1
        return self._submit(item)

    def _grant_room(self) -> None:
        assert self._max_queued is not None
        waiters = self._room_waiters
        while waiters and len(self._pending) + self._granted < self._max_queued:
            room = waiters.popleft()
            if not room.done():  # else cancelled while waiting
                room.set_result(None)
                self._granted += 1

    def _submit(self, item: T) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(BrokerUnavailable("broker is closed"))
            return future
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._what)
        self._pending.append((item, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        _unavailable(self._pending, "broker is closed")
        self._pending.clear()
        waiters, self._room_waiters = self._room_waiters, deque()
        for room in waiters:
            if not room.done():
                room.set_exception(BrokerUnavailable("broker is closed"))

    async def _send(self, batch: Batch[T]) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                if self._room_waiters:
                    self._grant_room()
                if not self.send_abandoned:
                    batch = [entry for entry in batch if not entry[1].done()]
                    if not batch:
                        continue
                try:
                    await self._send(batch)
                except asyncio.CancelledError:
                    _unavailable(batch, "broker is closed")
                    raise
                except BrokerUnavailable as exc:
                    _fail(batch, exc)
                except Exception as exc:  # e.g. a reply redis-py cannot parse
                    _unavailable(batch, f"{self._what} batch failed: {exc!r}")


def _fail(batch: Batch[Any], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def _unavailable(batch: Batch[Any], message: str) -> None:
    _fail(batch, BrokerUnavailable(message))
