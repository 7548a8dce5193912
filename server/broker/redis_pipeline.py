"""Pipelined commands: everything asked while one batch is in flight goes in the next.

One task per node owns the command writes (PUBLISH has its own, RedisPublisher): a
burst of N commands from N callers — 100 visitors saying hello at once each read and
write their state — costs one pool checkout, one write and one read pass instead of N
round trips. Replies come back in order, so each caller gets its own reply, or its own
error reply (raised as redis-py raises it). A lost connection fails every command of
the batch with `Lost`, which says whether the command may have run; the broker's
`_execute` decides whether to retry (only what is safe to run twice).

At most MAX_QUEUED commands wait to be sent; past that, callers wait for room (in
arrival order) rather than grow the list while Redis is slow or unreachable.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ResponseError

from server.broker.batch_queue import Batch, BatchQueue
from server.broker.held_connection import HeldConnection
from server.broker.redis_subscriber import CONNECTION_ERRORS

REPLY_TIMEOUT_S = 5.0
"""The batch's replies' deadline when the connection has no socket timeout of its own."""
MAX_QUEUED = 10_000
"""Commands queued and not yet sent before callers wait: ~20 full batches, far more
than a node's concurrent callers in normal operation (each awaits its reply)."""


class Lost(Exception):
    """The connection failed before the command's reply arrived.

    `sent`: the command may have reached Redis (and run); `error` is the cause.
    """

    def __init__(self, error: BaseException, sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent


class RedisPipeline(BatchQueue[tuple[Any, ...]]):
    # A caller that gave up (cancelled) before its command left never learns its
    # result: it is not sent (a script must not run behind its back).
    send_abandoned = False

    def __init__(self, pool: BlockingConnectionPool, max_queued: int = MAX_QUEUED) -> None:
        super().__init__("Redis command", max_queued)
        self._conn = HeldConnection(pool)

    async def execute(self, command: tuple[Any, ...]) -> Any:
        """Queue one command (waiting for room past `max_queued`); return its reply.

        Raises `Lost` when the connection failed, redis-py's ResponseError (or subclass)
        for an error reply; BrokerUnavailable once closed (no task would ever answer it).
        Cancelled before the command left, it is not sent."""
        future = await self._submit_when_room(command)
        return await future

    async def _send(self, batch: Batch[tuple[Any, ...]]) -> None:
        try:
            conn = await self._conn.get()
        except CONNECTION_ERRORS as exc:
            _lost(batch, exc, sent=False)
            return
        try:
            await conn.send_packed_command(conn.pack_commands([c for c, _ in batch]))
            # One deadline for the batch's replies (the connection's socket timeout),
            # not one per reply: redis-py's per-read timeout context was a tenth of
            # a busy node's time. A deadline passed is a lost connection (OSError).
            async with asyncio.timeout(conn.socket_timeout or REPLY_TIMEOUT_S):
                for _, future in batch:
                    try:
                        reply = await conn.read_response(timeout=math.inf)
                    except ResponseError as exc:  # this command's error reply only
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(reply)
        except CONNECTION_ERRORS as exc:
            await self._conn.drop()
            _lost(batch, exc, sent=True)
        except BaseException:
            await self._conn.drop()  # replies may still be due: never reuse it
            raise


def _lost(batch: Batch[tuple[Any, ...]], error: BaseException, sent: bool) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(Lost(error, sent))
