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
import contextlib
from typing import Any

from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ResponseError

from server.broker.base import BrokerUnavailable
from server.broker.redis_subscriber import CONNECTION_ERRORS

MAX_BATCH = 512


class Lost(Exception):
    """The connection failed before the command's reply arrived.

    `sent`: the command may have reached Redis (and run); `error` is the cause.
    """

    def __init__(self, error: BaseException, sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent


class RedisPipeline:
    def __init__(self, pool: BlockingConnectionPool) -> None:
        self._pool = pool
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def execute(self, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        """Queue one command; the future resolves to its reply.

        Raises (through the future) `Lost` when the connection failed, redis-py's
        ResponseError (or subclass) for an error reply; BrokerUnavailable once closed (no
        task would ever answer it)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(BrokerUnavailable("broker is closed"))
            return future
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-commands")
        self._pending.append((command, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, future in self._pending:
            if not future.done():
                future.set_exception(BrokerUnavailable("broker is closed"))
        self._pending.clear()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                # A caller that gave up (cancelled) before its command left never learns
                # its result: it is not sent (a script must not run behind its back).
                batch = [c for c in self._pending[:MAX_BATCH] if not c[1].done()]
                del self._pending[:MAX_BATCH]
                if not batch:
                    continue
                try:
                    await self._send(batch)
                except asyncio.CancelledError:
                    _unavailable(batch, "broker is closed")
                    raise
                except Exception as exc:  # e.g. a reply redis-py cannot parse
                    # The connection was dropped; the task lives on for later callers.
                    _unavailable(batch, f"Redis command batch failed: {exc!r}")

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            conn = await self._pool.get_connection()
        except CONNECTION_ERRORS as exc:
            _fail(batch, exc, sent=False)
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
                _fail(batch, exc, sent=True)
            except BaseException:
                await conn.disconnect()  # replies may still be due: never reuse it
                raise
        finally:
            await self._pool.release(conn)


def _fail(
    batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]], error: BaseException, sent: bool
) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(Lost(error, sent))


def _unavailable(batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]], message: str) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(BrokerUnavailable(message))
