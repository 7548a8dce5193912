"""The loop both Redis pipelines share: one task per node owns the writes, and what
callers queue while one batch is in flight goes in the next (one write for N callers).

Each caller holds a future. A subclass's `_send` resolves the futures of its batch; if
it raises, the whole batch fails with BrokerUnavailable and the task lives on for later
callers. Once closed, a queued item fails at once (no task would ever send it).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Generic, TypeVar

from server.broker.base import BrokerUnavailable

T = TypeVar("T")
MAX_BATCH = 512
Batch = list[tuple[T, "asyncio.Future[Any]"]]


class BatchQueue(Generic[T]):
    # Whether an item whose caller gave up (cancelled) before it left is still sent.
    send_abandoned = True

    def __init__(self, what: str) -> None:
        self._what = what  # names the task and the batch in errors
        self._pending: Batch[T] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

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

    async def _send(self, batch: Batch[T]) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
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
