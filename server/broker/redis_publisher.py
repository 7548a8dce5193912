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
import math
from collections.abc import Callable

from redis.asyncio.connection import BlockingConnectionPool

from server.broker.backoff import Backoff
from server.broker.base import BrokerUnavailable
from server.broker.batch_queue import Batch, BatchQueue
from server.broker.held_connection import HeldConnection
from server.broker.redis_pipeline import REPLY_TIMEOUT_S
from server.broker.redis_subscriber import CONNECTION_ERRORS


class RedisPublisher(BatchQueue[tuple[str, bytes]]):
    def __init__(
        self,
        pool: BlockingConnectionPool,
        address: str,
        retry_window_s: float,
        backoff: Callable[[], Backoff],
        command: str = "PUBLISH",
    ) -> None:
        """`command`: PUBLISH, or SPUBLISH for sharded pub/sub (Redis Cluster)."""
        super().__init__("Redis publish")
        self._command = command
        self._conn = HeldConnection(pool)
        self._address = address
        self._retry_window_s = retry_window_s
        self._backoff = backoff

    def publish(self, channel: str, data: bytes) -> asyncio.Future[None]:
        """Queue one PUBLISH; the future resolves when Redis has accepted it
        (BrokerUnavailable once closed: no task would ever send it)."""
        return self._submit((channel, data))

    async def _send(self, batch: Batch[tuple[str, bytes]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_window_s
        backoff = self._backoff()
        while True:
            try:
                conn = await self._conn.get()
            except CONNECTION_ERRORS as exc:
                error: BaseException = exc
            else:
                try:
                    commands = [(self._command, *message) for message, _ in batch]
                    await conn.send_packed_command(conn.pack_commands(commands))
                    # One deadline for the batch's replies, as in RedisPipeline.
                    async with asyncio.timeout(conn.socket_timeout or REPLY_TIMEOUT_S):
                        for _ in commands:
                            await conn.read_response(timeout=math.inf)
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
                    return
                except CONNECTION_ERRORS as exc:
                    await self._conn.drop()
                    error = exc
                except BaseException:
                    await self._conn.drop()  # replies may still be due: never reuse it
                    raise
            delay = backoff.next_delay()
            if loop.time() + delay > deadline:
                message = f"cannot reach Redis at {self._address}: {error}"
                raise BrokerUnavailable(message) from error
            await asyncio.sleep(delay)
