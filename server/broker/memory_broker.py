"""The in-process broker (`memory://`): one node, no network, the default install.

Same contract and conformance suite as the Redis broker. Pub/sub delivers via the
event loop (`call_soon`), so a handler never runs inside `publish` and messages on
a channel arrive in publish order. TTLs run on an injectable monotonic `clock`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from server.broker.arguments import (
    check_bytes,
    check_name,
    encode_script_args,
    presence_keys,
    presence_member_args,
    ttl_to_ms,
)
from server.broker.base import BrokerUnavailable, ReconnectListener, ScriptArg
from server.broker.fanout import Handler, LocalFanout, Subscription
from server.broker.lua_scripts import LuaScript, load_lua_scripts
from server.broker.memory_keyspace import MemoryKeyspace
from server.broker.memory_scripts import SCRIPTS, MemoryScript

logger = logging.getLogger(__name__)


class MemoryBroker:
    """A `Broker` living in this process. Never reconnects, so listeners never fire."""

    def __init__(
        self, *, prefix: str = "beckon:", clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`clock` returns seconds (monotonic); tests pass a fake to move time."""
        self.prefix = prefix
        self.reconnects = 0
        self._keyspace = MemoryKeyspace(clock)
        self._fanout = LocalFanout()
        self._listeners: list[ReconnectListener] = []
        self._lua: dict[str, LuaScript] = {}
        self._scripts: dict[str, MemoryScript] = dict(SCRIPTS)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Read the Lua headers too: they define each script's arity on both backends.
        self._lua = load_lua_scripts()
        missing = set(self._lua) ^ set(self._scripts)
        if missing:
            raise RuntimeError(f"scripts without a Lua file or a memory twin: {sorted(missing)}")

    async def close(self) -> None:
        self._closed = True

    def _check_open(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise BrokerUnavailable("broker is closed")
        if self._loop is None:
            raise RuntimeError("broker used before start()")
        return self._loop

    async def ping(self) -> None:
        self._check_open()

    async def publish(self, channel: str, data: bytes) -> None:
        self.publish_nowait(channel, data).result()  # done at once; raises its failure

    def publish_nowait(self, channel: str, data: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            loop = self._check_open()
        except BrokerUnavailable as exc:
            future.set_exception(exc)
            return future
        check_name("channel", channel)
        check_bytes("data", data)
        # As in Redis, the message goes to the subscriptions live at publish time
        # (minus any closed before delivery). call_soon is FIFO: per-channel order
        # is publish order.
        tokens = self._fanout.tokens(channel)
        if tokens:
            loop.call_soon(self._deliver, channel, data, tokens)
        future.set_result(None)  # handed over: nothing in between can lose it
        return future

    def _deliver(self, channel: str, data: bytes, tokens: frozenset[int]) -> None:
        if not self._closed:  # a closed broker calls no handler, as with Redis
            self._fanout.dispatch(channel, data, tokens)

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        self._check_open()
        check_name("channel", channel)
        if not callable(handler):
            raise TypeError("handler must be callable")
        token, _first = self._fanout.add(channel, handler)
        return Subscription(channel, token, self._release)

    async def _release(self, channel: str, token: int) -> None:
        self._fanout.remove(channel, token)

    def add_reconnect_listener(self, listener: ReconnectListener) -> None:
        self._listeners.append(listener)

    async def presence_set(self, group: str, member: str, value: bytes, ttl_s: float) -> None:
        check_name("member", member)
        check_bytes("value", value)
        await self._run(
            "presence_set",
            presence_keys(self.prefix, check_name("group", group)),
            [member, value, ttl_to_ms(ttl_s)],
        )

    async def presence_set_many(
        self, group: str, members: Mapping[str, bytes], ttl_s: float
    ) -> None:
        keys = presence_keys(self.prefix, check_name("group", group))
        args = presence_member_args(members, ttl_s)
        if len(args) > 1:
            await self._run("presence_set_many", keys, args)

    async def presence_remove(self, group: str, member: str) -> None:
        check_name("member", member)
        await self._run(
            "presence_remove", presence_keys(self.prefix, check_name("group", group)), [member]
        )

    async def presence_members(self, group: str) -> dict[str, bytes]:
        flat = await self._run(
            "presence_members", presence_keys(self.prefix, check_name("group", group)), []
        )
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    async def state_get(self, key: str) -> bytes | None:
        self._check_open()
        return self._keyspace.get(self.prefix + check_name("key", key))

    async def state_get_many(self, keys: list[str]) -> list[bytes | None]:
        self._check_open()
        return [self._keyspace.get(self.prefix + check_name("key", key)) for key in keys]

    async def state_set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._check_open()
        check_bytes("value", value)
        self._keyspace.set(self.prefix + check_name("key", key), value, ttl_to_ms(ttl_s))

    def state_set_nowait(self, key: str, value: bytes, ttl_s: float) -> asyncio.Future[Any]:
        self._check_open()
        check_bytes("value", value)
        self._keyspace.set(self.prefix + check_name("key", key), value, ttl_to_ms(ttl_s))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def state_delete(self, key: str) -> None:
        self._check_open()
        self._keyspace.delete(self.prefix + check_name("key", key))

    async def run_script(self, name: str, keys: list[str], args: list[ScriptArg]) -> Any:
        self._check_open()
        return await self._run(name, [self.prefix + check_name("key", k) for k in keys], args)

    async def _run(self, name: str, full_keys: list[str], args: list[ScriptArg]) -> Any:
        self._check_open()
        if name not in self._scripts:
            raise KeyError(f"unknown broker script {name!r}")
        self._lua[name].check_arity(full_keys, args)
        # No await between here and the return: the script is atomic on the loop.
        return self._scripts[name](self._keyspace, full_keys, encode_script_args(args))

    def keyspace_keys(self) -> list[str]:
        """Every live key (tests check that TTLs and empty containers clean up)."""
        return self._keyspace.keys()
