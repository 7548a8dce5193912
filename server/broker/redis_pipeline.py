"""Pipelined commands: everything asked while one batch is in flight goes in the next.

One task per node owns the command writes (PUBLISH has its own, RedisPublisher): a
burst of N commands from N callers — 100 visitors saying hello at once each read and
write their state — costs one pool checkout, one write and one read pass instead of N
round trips. Replies come back in order, so each caller gets its own reply, or its own
error reply (raised as redis-py raises it). A lost connection fails every command of
the batch with `Lost`, which says whether the command may have run; the broker's
`_execute` decides whether to retry (only what is safe to run twice).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ResponseError

from server.broker.batch_queue import Batch, BatchQueue
from server.broker.redis_subscriber import CONNECTION_ERRORS


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

    def __init__(self, pool: BlockingConnectionPool) -> None:
        super().__init__("Redis command")
        self._pool = pool

    def execute(self, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        """Queue one command; the future resolves to its reply.

        Raises (through the future) `Lost` when the connection failed, redis-py's
        ResponseError (or subclass) for an error reply; BrokerUnavailable once closed (no
        task would ever answer it)."""
        return self._submit(command)

    async def _send(self, batch: Batch[tuple[Any, ...]]) -> None:
        try:
            conn = await self._pool.get_connection()
        except CONNECTION_ERRORS as exc:
            _lost(batch, exc, sent=False)
            return
        try:
            try:
                await conn.send_packed_command(conn.pack_commands([c for c, _ in batch]))
                for _, future in batch:
                    try:
                        reply = await conn.read_response()
                    except ResponseError as exc:  # this command's error reply only
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(reply)
            except CONNECTION_ERRORS as exc:
                await conn.disconnect()
                _lost(batch, exc, sent=True)
            except BaseException:
                await conn.disconnect()  # replies may still be due: never reuse it
                raise
        finally:
            await self._pool.release(conn)


def _lost(batch: Batch[tuple[Any, ...]], error: BaseException, sent: bool) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(Lost(error, sent))
