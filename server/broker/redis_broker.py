"""The Redis broker (`redis://`, `rediss://`, `redis+sentinel://`): many nodes sharing one
Redis 7 (or one Sentinel-managed primary, followed across promotions: redis_sentinel.py).

Commands go through a bounded connection pool; pub/sub through one connection
per node (RedisSubscriber). Every failure to reach Redis becomes BrokerUnavailable
after a short bounded retry; nothing is dropped silently. Atomic operations are
the Lua files in server/broker/lua/, run with EVALSHA and re-loaded on NOSCRIPT.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from redis.asyncio.connection import BlockingConnectionPool, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, ReadOnlyError, ResponseError

from server.broker.arguments import (
    check_bytes,
    check_name,
    encode_script_args,
    presence_keys,
    presence_member_args,
    ttl_to_ms,
)
from server.broker.backoff import Backoff
from server.broker.base import BrokerUnavailable, ReconnectListener, ScriptArg, ScriptError
from server.broker.fanout import Handler, LocalFanout, Subscription
from server.broker.lua_scripts import LuaScript, load_lua_scripts
from server.broker.redis_pipeline import Lost, RedisPipeline
from server.broker.redis_publisher import RedisPublisher
from server.broker.redis_sentinel import SentinelPool, parse_sentinel_url
from server.broker.redis_subscriber import RedisSubscriber

logger = logging.getLogger(__name__)


def _is_sentinel(url: str) -> bool:
    return url.partition("://")[0].lower() == "redis+sentinel"


def _address(url: str) -> str:
    """host:port (or the socket path) of a Redis URL, without credentials."""
    if _is_sentinel(url):
        return parse_sentinel_url(url).address
    options = parse_url(url)
    if "path" in options:
        return str(options["path"])
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"


PoolFactory = Callable[..., BlockingConnectionPool]


def _open_pool(url: str, **options: Any) -> BlockingConnectionPool:
    if _is_sentinel(url):
        return SentinelPool(parse_sentinel_url(url), **options)
    return BlockingConnectionPool.from_url(url, **options)


class RedisBroker:
    """A `Broker` on Redis. Construction only parses the URL; `start()` connects."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "beckon:",
        retry_window_s: float = 1.0,
        start_timeout_s: float = 2.0,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 2.0,
        keepalive_s: float = 5.0,
        max_connections: int = 50,
        sharded: bool = False,
        pool_factory: PoolFactory | None = None,
        address: str | None = None,
    ) -> None:
        """`retry_window_s`: how long an operation retries before BrokerUnavailable.
        `start_timeout_s`: how long `start()` tries to reach Redis.
        `sharded`: sharded pub/sub (SPUBLISH/SSUBSCRIBE), for one primary of a Redis
        Cluster (see redis_cluster.py, which routes each channel and key to its node).
        `pool_factory(**options)`: builds the connection pool instead of `url` (whose
        credentials it must apply itself); `address` then names the target in messages.
        Raises ValueError for a malformed URL."""
        self._pool_factory = pool_factory
        self._sharded = sharded
        self._url = url
        self.address = address or _address(url)  # raises ValueError on a malformed URL
        self.prefix = prefix
        self._retry_window_s = retry_window_s
        self._start_timeout_s = start_timeout_s
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._keepalive_s = keepalive_s
        self._max_connections = max_connections
        self._fanout = LocalFanout()
        self._listeners: list[ReconnectListener] = []
        self._listener_tasks: set[asyncio.Task[Any]] = set()
        self._scripts: dict[str, LuaScript] = {}
        self._pool: BlockingConnectionPool | None = None
        self._subscriber: RedisSubscriber | None = None
        self._publisher: RedisPublisher | None = None
        self._commands: RedisPipeline | None = None
        self._closed = False

    @property
    def reconnects(self) -> int:
        """How many times the pub/sub connection was re-established after a loss."""
        return self._subscriber.reconnects if self._subscriber else 0

    async def start(self) -> None:
        if self._pool is not None or self._closed:
            raise RuntimeError("RedisBroker.start() may be called once")
        self._scripts = load_lua_scripts()
        self._pool = (self._pool_factory or partial(_open_pool, self._url))(
            max_connections=self._max_connections,
            timeout=self._retry_window_s,  # waiting for a free pooled connection
            socket_connect_timeout=1.0,
            socket_timeout=5.0,
            socket_keepalive=True,
            # RESP2: pub/sub messages are plain replies on the subscriber connection
            # (redis-py 8 defaults to RESP3, whose pushes it routes elsewhere).
            protocol=2,
            # Our own bounded retry (below) is the only one: redis-py must not retry
            # a script that may already have run.
            retry=Retry(NoBackoff(), 0),
        )
        base = self._backoff_base_s
        self._commands = RedisPipeline(self._pool)
        self._publisher = RedisPublisher(
            self._pool,
            self.address,
            self._retry_window_s,
            lambda: Backoff(base, max(base, 0.4)),
            command="SPUBLISH" if self._sharded else "PUBLISH",
        )
        try:
            await self._execute(("PING",), retry_after_send=True, window_s=self._start_timeout_s)
            self._subscriber = RedisSubscriber(
                self._pool,
                self._fanout,
                self.prefix,
                address=self.address,
                backoff=Backoff(self._backoff_base_s, self._backoff_cap_s),
                on_reconnect=self._notify_reconnect,
                keepalive_s=self._keepalive_s,
                sharded=self._sharded,
            )
            await self._subscriber.start(self._start_timeout_s)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._subscriber is not None:
            await self._subscriber.close()
        if self._publisher is not None:
            await self._publisher.close()
        if self._commands is not None:
            await self._commands.close()
        tasks = list(self._listener_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()

    def _check_open(self) -> BlockingConnectionPool:
        if self._closed:
            raise BrokerUnavailable("broker is closed")
        if self._pool is None:
            raise RuntimeError("broker used before start()")
        return self._pool

    async def _execute(
        self, command: tuple[Any, ...], *, retry_after_send: bool, window_s: float | None = None
    ) -> Any:
        """Run one command; retry connection failures for `window_s` (default retry window).

        Commands are pipelined with every other caller's (RedisPipeline). A failure
        after the command was sent is retried only if `retry_after_send` (the command
        is idempotent, or running it twice is harmless); otherwise it raises
        BrokerUnavailable at once. Redis error replies are raised as is.
        """
        self._check_open()
        assert self._commands is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._retry_window_s if window_s is None else window_s)
        backoff = Backoff(self._backoff_base_s, max(self._backoff_base_s, 0.4))
        while True:
            try:
                return await self._commands.execute(command)
            except Lost as exc:
                if exc.sent and not retry_after_send:
                    raise BrokerUnavailable(
                        f"lost Redis at {self.address} during {command[0]}: {exc.error}"
                    ) from exc.error
                error: BaseException = exc.error
            except ReadOnlyError as exc:  # a replica after failover: not usable yet
                raise BrokerUnavailable(f"Redis at {self.address} is read-only: {exc}") from exc
            delay = backoff.next_delay()
            if self._closed or loop.time() + delay > deadline:
                raise BrokerUnavailable(f"cannot reach Redis at {self.address}: {error}") from error

            await asyncio.sleep(delay)

    def _started_subscriber(self) -> RedisSubscriber:
        if self._closed:
            raise BrokerUnavailable("broker is closed")
        if self._subscriber is None:
            raise RuntimeError("broker used before start()")
        return self._subscriber

    async def ping(self) -> None:
        subscriber = self._started_subscriber()
        await self._execute(("PING",), retry_after_send=True)
        try:
            await asyncio.wait_for(subscriber.connected.wait(), self._retry_window_s)
        except TimeoutError:
            raise BrokerUnavailable(
                f"the pub/sub connection to Redis at {self.address} is down "
                f"(reconnecting; last error: {subscriber.last_error})"
            ) from None

    async def publish(self, channel: str, data: bytes) -> None:
        check_name("channel", channel)
        check_bytes("data", data)
        self._check_open()
        assert self._publisher is not None
        # Pipelined with the node's other publishes; retried even after a send: a
        # duplicate is harmless (receivers dedupe by seq), a silent drop is not.
        await self._publisher.publish(self.prefix + channel, data)

    def publish_nowait(self, channel: str, data: bytes) -> asyncio.Future[None]:
        check_name("channel", channel)
        check_bytes("data", data)
        try:
            self._check_open()
        except BrokerUnavailable as exc:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
            return future
        assert self._publisher is not None
        # The same pipeline as `publish`: queued now, so order is call order.
        return self._publisher.publish(self.prefix + channel, data)

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        subscriber = self._started_subscriber()
        check_name("channel", channel)
        if not callable(handler):
            raise TypeError("handler must be callable")
        token, _first = self._fanout.add(channel, handler)
        try:
            # Returns at once if the channel is already live; else waits for SUBSCRIBE.
            await subscriber.sync_channel(channel, self._retry_window_s)
        except BaseException:
            await self._release(channel, token)
            raise
        return Subscription(channel, token, self._release)

    async def _release(self, channel: str, token: int) -> None:
        if not self._fanout.remove(channel, token) or self._closed or self._subscriber is None:
            return
        try:
            await self._subscriber.sync_channel(channel, self._retry_window_s)
        except BrokerUnavailable as exc:
            # The handler is detached already; a channel without handlers only costs
            # traffic, and the next sync or reconnect drops it on the server.
            logger.info("UNSUBSCRIBE %r not confirmed: %s", channel, exc)

    def add_reconnect_listener(self, listener: ReconnectListener) -> None:
        self._listeners.append(listener)

    def _notify_reconnect(self) -> None:
        for listener in self._listeners:
            try:
                result = listener()
            except Exception:
                logger.exception("broker reconnect listener %r failed", listener)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._listener_tasks.add(task)
                task.add_done_callback(self._listener_done)

    def _listener_done(self, task: asyncio.Task[Any]) -> None:
        self._listener_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("broker reconnect listener failed", exc_info=task.exception())

    async def presence_set(self, group: str, member: str, value: bytes, ttl_s: float) -> None:
        check_name("member", member)
        check_bytes("value", value)
        keys = presence_keys(self.prefix, check_name("group", group))
        await self._run("presence_set", keys, [member, value, ttl_to_ms(ttl_s)], idempotent=True)

    async def presence_set_many(
        self, group: str, members: Mapping[str, bytes], ttl_s: float
    ) -> None:
        keys = presence_keys(self.prefix, check_name("group", group))
        args = presence_member_args(members, ttl_s)
        if len(args) > 1:
            await self._run("presence_set_many", keys, args, idempotent=True)

    async def presence_remove(self, group: str, member: str) -> None:
        check_name("member", member)
        keys = presence_keys(self.prefix, check_name("group", group))
        await self._run("presence_remove", keys, [member], idempotent=True)

    async def presence_members(self, group: str) -> dict[str, bytes]:
        keys = presence_keys(self.prefix, check_name("group", group))
        flat = await self._run("presence_members", keys, [], idempotent=True)
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    async def state_get(self, key: str) -> bytes | None:
        full_key = self.prefix + check_name("key", key)
        return await self._execute(("GET", full_key), retry_after_send=True)

    async def state_get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        full_keys = [self.prefix + check_name("key", key) for key in keys]
        return list(await self._execute(("MGET", *full_keys), retry_after_send=True))

    async def state_set(self, key: str, value: bytes, ttl_s: float) -> None:
        full_key = self.prefix + check_name("key", key)
        check_bytes("value", value)
        command = ("SET", full_key, value, "PX", ttl_to_ms(ttl_s))
        await self._execute(command, retry_after_send=True)

    def state_set_nowait(self, key: str, value: bytes, ttl_s: float) -> asyncio.Future[Any]:
        full_key = self.prefix + check_name("key", key)
        check_bytes("value", value)
        self._check_open()
        assert self._commands is not None
        # Straight into the pipeline, in order with every later command; not retried (the
        # next write of the key replaces it anyway).
        return self._commands.submit_nowait(("SET", full_key, value, "PX", ttl_to_ms(ttl_s)))

    async def state_delete(self, key: str) -> None:
        full_key = self.prefix + check_name("key", key)
        await self._execute(("DEL", full_key), retry_after_send=True)

    async def run_script(self, name: str, keys: list[str], args: list[ScriptArg]) -> Any:
        full_keys = [self.prefix + check_name("key", key) for key in keys]
        return await self._run(name, full_keys, args, idempotent=False)

    async def _run(
        self, name: str, full_keys: list[str], args: list[ScriptArg], *, idempotent: bool
    ) -> Any:
        self._check_open()
        script = self._scripts.get(name)
        if script is None:
            raise KeyError(f"unknown broker script {name!r}")
        script.check_arity(full_keys, args)
        command = ("EVALSHA", script.sha, len(full_keys), *full_keys, *encode_script_args(args))
        try:
            try:
                return await self._execute(command, retry_after_send=idempotent)
            except NoScriptError:
                # Redis restarted or its script cache was flushed; the script did not run.
                await self._execute(("SCRIPT", "LOAD", script.source), retry_after_send=True)
                return await self._execute(command, retry_after_send=idempotent)
        except ResponseError as exc:
            raise ScriptError(str(exc)) from exc
