"""Pipelined PUBLISH: everything published while one write is in flight goes in the next.

One task per node owns the writes, so publishes leave in the order they were made (a
receiver still orders by `seq`; this keeps the common case free of gap reads) and a
burst of N messages costs one round trip and one syscall instead of N. Each caller
still learns whether its publish reached Redis: failures are retried within the
window (a duplicate PUBLISH is harmless, a silent drop is not), then raised as
BrokerUnavailable to everyone in the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import BlockingConnectionPool

from server.broker.backoff import Backoff
from server.broker.base import BrokerUnavailable
from server.broker.redis_subscriber import CONNECTION_ERRORS

MAX_BATCH = 512


class RedisPublisher:
    def __init__(
        self,
        pool: BlockingConnectionPool,
        address: str,
        retry_window_s: float,
        backoff: Callable[[], Backoff],
    ) -> None:
        self._pool = pool
        self._address = address
        self._retry_window_s = retry_window_s
        self._backoff = backoff
        self._pending: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def publish(self, channel: str, data: bytes) -> asyncio.Future[None]:
        """Queue one PUBLISH; the future resolves when Redis has accepted it
        (BrokerUnavailable once closed: no task would ever send it)."""
        if self._closed:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(BrokerUnavailable("broker is closed"))
            return future
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-publisher")
        future = asyncio.get_running_loop().create_future()
        self._pending.append((channel, data, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, _, future in self._pending:
            if not future.done():
                future.set_exception(BrokerUnavailable("broker is closed"))
        self._pending.clear()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    await self._send(batch)
                except Exception as exc:  # the task lives on for later publishes
                    if not isinstance(exc, BrokerUnavailable):
                        exc = BrokerUnavailable(f"Redis publish batch failed: {exc!r}")
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, _, future in batch:
                        if not future.done():
                            future.set_result(None)

    async def _send(self, batch: list[tuple[str, bytes, Any]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_window_s
        backoff = self._backoff()
        while True:
            try:
                conn = await self._pool.get_connection()
            except CONNECTION_ERRORS as exc:
                error: BaseException = exc
            else:
                try:
                    commands = [("PUBLISH", channel, data) for channel, data, _ in batch]
                    await conn.send_packed_command(conn.pack_commands(commands))
                    for _ in commands:
                        await conn.read_response()
                    return
                except CONNECTION_ERRORS as exc:
                    await conn.disconnect()
                    error = exc
                except BaseException:
                    await conn.disconnect()  # replies may still be due: never reuse it
                    raise
                finally:
                    await self._pool.release(conn)
            delay = backoff.next_delay()
            if loop.time() + delay > deadline:
                message = f"cannot reach Redis at {self._address}: {error}"
                raise BrokerUnavailable(message) from error
            await asyncio.sleep(delay)
