"""The node's single Redis pub/sub connection (style habit 3) and its reconnect loop.

One reader task owns the connection. It resubscribes every channel that still has
local handlers after any connection loss, with capped, jittered backoff, and only
then reports the reconnect, so an owner re-syncing from the Store on that signal
cannot miss a message published after its re-sync (guarantee 5).

`sync_channel` makes the server side match the local fan-out for one channel
(SUBSCRIBE when it has handlers, UNSUBSCRIBE when not) and returns only once Redis
confirmed it: a publish from any node after that is delivered.

`sharded=True` speaks Redis 7's sharded pub/sub instead (SSUBSCRIBE / SUNSUBSCRIBE,
`smessage`), for one Redis Cluster primary (redis_cluster.py): a command then names
channels of one hash slot only, so batches are split by slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.broker.backoff import Backoff
from server.broker.base import BrokerUnavailable
from server.broker.fanout import LocalFanout

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
"""What a lost or refused connection raises (redis-py wraps most OSErrors)."""

_SHARDED_KINDS = {
    b"smessage": b"message",
    b"ssubscribe": b"subscribe",
    b"sunsubscribe": b"unsubscribe",
}
"""Sharded pub/sub replies, by the plain kind they mean here."""


class RedisSubscriber:
    """Owns the pub/sub connection: reads, dispatches, reconnects, resubscribes."""

    def __init__(
        self,
        pool: ConnectionPool,
        fanout: LocalFanout,
        prefix: str,
        *,
        address: str,
        backoff: Backoff,
        on_reconnect: Callable[[], None],
        keepalive_s: float = 5.0,
        sharded: bool = False,
    ) -> None:
        """`keepalive_s`: after this long without traffic send PING; no reply within
        another `keepalive_s` means the connection is dead (half-open TCP).
        `sharded`: SSUBSCRIBE/SUNSUBSCRIBE (Redis Cluster) instead of SUBSCRIBE."""
        self._sharded = sharded
        self._pool = pool
        self._fanout = fanout
        self._prefix = prefix
        self._address = address
        self._backoff = backoff
        self._on_reconnect = on_reconnect
        self._keepalive_s = keepalive_s
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.last_error: BaseException | None = None
        self._conn: AbstractConnection | None = None
        # Logical channel names Redis confirmed on the current connection.
        self._server_channels: set[str] = set()
        # (b"subscribe" | b"unsubscribe", channel) -> futures, FIFO like Redis replies.
        self._waiters: dict[tuple[bytes, str], deque[asyncio.Future[bool]]] = {}
        # channel -> [lock, users]: serialises sync_channel per channel; dropped when unused.
        self._locks: dict[str, list] = {}
        self._task: asyncio.Task[None] | None = None
        self._cleanup_tasks: set[asyncio.Task[None]] = set()
        # (connection, b"subscribe" | b"unsubscribe", full channel name) not yet written;
        # one task writes them all, one command per kind (see _send_soon).
        self._outbox: list[tuple[AbstractConnection, bytes, str]] = []
        self._sender: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float) -> None:
        """Open the connection; raise BrokerUnavailable if not up within `timeout_s`."""
        self._task = asyncio.create_task(self._run(), name="beckon-broker-pubsub")
        try:
            await asyncio.wait_for(self.connected.wait(), timeout_s)
        except TimeoutError:
            await self.close()
            raise BrokerUnavailable(
                f"cannot open a pub/sub connection to Redis at {self._address}: {self.last_error}"
            ) from None

    async def close(self) -> None:
        """Stop the reader and close the connection. Idempotent."""
        tasks = [t for t in (self._task, self._sender, *self._cleanup_tasks) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def sync_channel(self, channel: str, timeout_s: float) -> None:
        """Make Redis' subscription to `channel` match whether it has local handlers.

        Waits (up to `timeout_s`) for a connection and for Redis' confirmation.
        Raises BrokerUnavailable on timeout.
        """
        entry = self._locks.get(channel)
        if entry is None:
            entry = self._locks[channel] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with asyncio.timeout(timeout_s):
                async with entry[0]:
                    await self._reconcile(channel)
        except TimeoutError:
            raise BrokerUnavailable(
                f"Redis at {self._address} did not confirm (un)subscribing {channel!r} "
                f"within {timeout_s} s (last error: {self.last_error})"
            ) from None
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[channel]

    async def _reconcile(self, channel: str) -> None:
        while True:
            # A command an earlier, cancelled or timed-out, sync left in flight: until
            # its reply is in, `_server_channels` is stale (an UNSUBSCRIBE on its way
            # would undo a "nothing to do" decided now).
            inflight = self._inflight(channel)
            if inflight is not None:
                await asyncio.shield(inflight)
                continue
            wanted = self._fanout.has(channel)
            conn = self._conn
            if not self.connected.is_set() or conn is None:
                if not wanted:
                    return  # a lost connection took the subscription with it
                await self.connected.wait()
                continue
            if wanted == (channel in self._server_channels):
                return
            kind = b"subscribe" if wanted else b"unsubscribe"
            confirmed = asyncio.get_running_loop().create_future()
            self._waiters.setdefault((kind, channel), deque()).append(confirmed)
            self._send_soon(conn, kind, self._prefix + channel)
            # Shielded: a caller that gives up leaves the waiter to the reply (or to the
            # connection's loss), so the next sync of this channel can wait for it.
            await asyncio.shield(confirmed)  # True: confirmed; False: lost, go round again

    def _inflight(self, channel: str) -> asyncio.Future[bool] | None:
        """The last unanswered (UN)SUBSCRIBE of `channel`, if any (replies are FIFO)."""
        for kind in (b"subscribe", b"unsubscribe"):
            waiters = self._waiters.get((kind, channel))
            if waiters and not waiters[-1].done():
                return waiters[-1]
        return None

    def _send_soon(self, conn: AbstractConnection, kind: bytes, name: str) -> None:
        """Queue one (UN)SUBSCRIBE; what is queued in the same turn of the loop (e.g. the
        hellos one group commit released) leaves as one command with many channels.

        Each channel has at most one command in flight (sync_channel's lock), so merging
        commands of different channels never reorders one channel's."""
        self._outbox.append((conn, kind, name))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())

    async def _send_queued(self) -> None:
        try:
            while self._outbox:
                outbox, self._outbox = self._outbox, []
                by_kind: dict[tuple[bytes, int], list[str]] = {}
                for conn, kind, name in outbox:
                    if conn is self._conn:
                        by_kind.setdefault((kind, self._slot(name)), []).append(name)
                for (kind, _slot), names in by_kind.items():
                    conn = self._conn
                    # Never send on a connection the reader already dropped (redis-py
                    # would silently open a new, unsubscribed one): the reader failed
                    # those waiters, which go round again on the new connection. Checked
                    # before each command: the reader may drop it during the last write.
                    if conn is None or not conn.is_connected:
                        break
                    if not await self._send_one(conn, kind, names):
                        break
        finally:
            self._sender = None

    async def _send_one(self, conn: AbstractConnection, kind: bytes, names: list[str]) -> bool:
        """Write one (UN)SUBSCRIBE; False if the connection is lost (the reader fails
        every waiter then). Any other failure fails this command's waiters only, with
        BrokerUnavailable: the sender must live on, or every later sync would wait for
        the next connection loss."""
        command = ("S" if self._sharded else "") + kind.decode().upper()
        written = False
        try:
            packed = conn.pack_command(command, *names)  # e.g. a name without UTF-8 form
            written = True  # from here on, part of it may be on the wire
            await conn.send_packed_command(packed, check_health=False)
        except CONNECTION_ERRORS as exc:
            self.last_error = exc
            return False
        except Exception as exc:
            logger.exception(
                "Redis pub/sub %s of %d channel(s) failed at %s", command, len(names), self._address
            )
            self._fail_command(
                kind, names, BrokerUnavailable(f"Redis pub/sub {command} failed: {exc!r}")
            )
            if written:
                # Redis may still answer part of it, and its replies would be matched
                # to later waiters of those channels: renew the connection (redis-py
                # does so itself after a failed write; the reader resubscribes).
                await conn.disconnect(nowait=True)
                return False
        return True

    def _fail_command(self, kind: bytes, names: list[str], error: BaseException) -> None:
        """Fail the waiters of a command Redis will not answer on this connection."""
        for name in names:
            channel = name[len(self._prefix) :]  # _reconcile prefixed it
            waiters = self._waiters.get((kind, channel))
            if not waiters:
                continue
            # One command in flight per channel (sync_channel's lock): it is the last.
            waiter = waiters.pop()
            if not waiters:
                del self._waiters[(kind, channel)]
            if not waiter.done():
                waiter.set_exception(error)

    async def _run(self) -> None:
        ever_connected = False
        while True:
            conn = self._pool.connection_class(**self._pool.connection_kwargs)
            try:
                await conn.connect()
                self._conn = conn
                await self._resubscribe(conn)
                self._backoff.reset()
                self.connected.set()
                if ever_connected:
                    self.reconnects += 1
                    logger.warning(
                        "reconnected to Redis pub/sub at %s, %d channels resubscribed",
                        self._address,
                        len(self._server_channels),
                    )
                    self._on_reconnect()
                ever_connected = True
                self._drop_unwanted_channels()
                await self._read_forever(conn)
            except CONNECTION_ERRORS as exc:
                self.last_error = exc
                if self.connected.is_set():
                    logger.warning("lost Redis pub/sub connection to %s: %s", self._address, exc)
                else:
                    logger.info("cannot reach Redis pub/sub at %s: %s", self._address, exc)
            except Exception as exc:
                # E.g. an error reply (NOPERM) to SUBSCRIBE: the reader must not die
                # quietly, or the node would stop receiving. Start over, loudly.
                self.last_error = exc
                logger.exception("Redis pub/sub reader failed at %s; reconnecting", self._address)
            finally:
                self.connected.clear()
                self._conn = None
                self._server_channels.clear()
                self._fail_waiters()
                await conn.disconnect(nowait=True)
            await asyncio.sleep(self._backoff.next_delay())

    async def _resubscribe(self, conn: AbstractConnection) -> None:
        channels = self._fanout.channels()
        if not channels:
            return
        by_slot: dict[int, list[str]] = {}
        for channel in channels:
            name = self._prefix + channel
            by_slot.setdefault(self._slot(name), []).append(name)
        command = "SSUBSCRIBE" if self._sharded else "SUBSCRIBE"
        for names in by_slot.values():
            await conn.send_command(command, *names)
        while not self._server_channels.issuperset(channels):
            reply = await conn.read_response(timeout=self._keepalive_s)
            if reply is None:
                raise RedisTimeoutError(f"no SUBSCRIBE confirmation within {self._keepalive_s} s")
            self._handle(reply)

    async def _read_forever(self, conn: AbstractConnection) -> None:
        ping_outstanding = False
        while True:
            reply = await conn.read_response(timeout=self._keepalive_s)
            if reply is None:
                if ping_outstanding:
                    raise RedisTimeoutError(f"no reply to PING within {self._keepalive_s} s")
                await conn.send_command("PING", check_health=False)
                ping_outstanding = True
                continue
            ping_outstanding = False
            self._handle(reply)

    def _slot(self, name: str) -> int:
        """The hash slot a sharded command must keep to; 0 for all when not sharded."""
        return key_slot(name.encode()) if self._sharded else 0

    def _handle(self, reply: list | bytes) -> None:
        if reply == b"PONG":  # the keepalive's reply while no channel is subscribed
            return
        kind = _SHARDED_KINDS.get(reply[0], reply[0]) if self._sharded else reply[0]
        if kind == b"message":
            channel = self._logical(reply[1])
            if channel is not None:
                self._fanout.dispatch(channel, reply[2])
        elif kind in (b"subscribe", b"unsubscribe"):
            channel = self._logical(reply[1])
            if channel is None:
                return
            if kind == b"subscribe":
                self._server_channels.add(channel)
            else:
                self._server_channels.discard(channel)
            waiters = self._waiters.get((kind, channel))
            if waiters:
                waiter = waiters.popleft()
                if not waiters:
                    del self._waiters[(kind, channel)]
                if not waiter.done():
                    waiter.set_result(True)
        elif kind != b"pong":
            logger.warning("unexpected reply on the Redis pub/sub connection: %r", reply)

    def _logical(self, raw: bytes | None) -> str | None:
        name = raw.decode() if isinstance(raw, bytes) else None
        if name is None or not name.startswith(self._prefix):
            return None
        return name[len(self._prefix) :]

    def _fail_waiters(self) -> None:
        waiters, self._waiters = self._waiters, {}
        for queue in waiters.values():
            for waiter in queue:
                if not waiter.done():
                    waiter.set_result(False)

    def _drop_unwanted_channels(self) -> None:
        """UNSUBSCRIBE channels whose last handler left while we were resubscribing."""
        for channel in self._server_channels.difference(self._fanout.channels()):
            task = asyncio.create_task(self._sync_quietly(channel))
            self._cleanup_tasks.add(task)
            task.add_done_callback(self._cleanup_tasks.discard)

    async def _sync_quietly(self, channel: str) -> None:
        try:
            await self.sync_channel(channel, self._keepalive_s)
        except BrokerUnavailable as exc:
            # Harmless: messages on a channel without handlers are dropped locally,
            # and the next sync or reconnect for this channel fixes the server side.
            logger.info("could not unsubscribe %r yet: %s", channel, exc)
