"""The Redis Cluster broker (`redis+cluster://`): channels and keys spread over shards.

    redis+cluster://[[user]:password@]host[:port][,host[:port]...]

The hosts are seeds (port 6379 by default): `start()` asks the first that answers for
the slot map (CLUSTER SLOTS) and opens one sharded RedisBroker per primary — its own
command pipeline, SPUBLISH publisher and SSUBSCRIBE connection (Redis 7 sharded
pub/sub: a message travels only within the shard owning its channel's slot). Every
channel, key and script then goes to the primary owning its hash slot.

Atomicity: a script's KEYS must share one slot, or `run_script` raises ValueError
before sending anything. Callers put keys that scripts touch together under one hash
tag (`{...}`): presence groups are tagged per group (arguments.presence_keys), queues
and the agent-load hash share `{routing}` (chat/presence.py). Hence a broker prefix
must not contain braces: Redis would take the tag from it.

Failover inside the cluster is followed: each shard's connections go to whichever
primary owns the shard's first slot now (redis_cluster_shards.py). Resharding is
not: the slot → shard map is read at start-up, so after slots move between primaries
calls for them fail with BrokerUnavailable until the nodes are restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import ConnectionError as RedisConnectionError

from server.broker.arguments import check_name, presence_keys
from server.broker.base import BrokerUnavailable, ReconnectListener, ScriptArg
from server.broker.fanout import Handler, Subscription
from server.broker.redis_broker import RedisBroker
from server.broker.redis_cluster_shards import ShardPool, SlotLocator
from server.broker.redis_hosts import parse_host_port

SCHEME = "redis+cluster"
FORM = "redis+cluster://[[user]:password@]host[:port][,host[:port]...]"
DEFAULT_PORT = 6379


@dataclass(frozen=True, slots=True)
class ClusterUrl:
    seeds: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        return "cluster via " + ",".join(f"{host}:{port}" for host, port in self.seeds)

    def node_url(self, host: str, port: int) -> str:
        """A `redis://` URL of one primary, with the cluster's credentials."""
        auth = ""
        if self.username or self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password or '', safe='')}@"
        shown = f"[{host}]" if ":" in host else host
        return f"redis://{auth}{shown}:{port}/0"


def parse_cluster_url(url: str) -> ClusterUrl:
    """Parse `url` (see the module docstring); raise ValueError saying what is wrong."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != SCHEME:
        raise ValueError(f"not a {SCHEME}:// URL")
    netloc, slash, path = rest.partition("/")
    if "?" in netloc or (slash and path.strip("/") not in ("", "0")):
        raise ValueError(f"a {SCHEME}:// URL has no options nor database (always 0): {FORM}")
    userinfo, _, hosts = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    seeds = tuple(parse_host_port(item, SCHEME, DEFAULT_PORT, FORM) for item in hosts.split(","))
    return ClusterUrl(seeds, username, password)


class RedisClusterBroker:
    """A `Broker` on a Redis 7 Cluster; construction parses only, `start()` connects."""

    def __init__(self, url: str, *, prefix: str = "beckon:", **node_options: Any) -> None:
        """`node_options` go to each primary's RedisBroker (retry window, backoff, ...).
        Raises ValueError for a malformed URL or a prefix with braces."""
        self._target = parse_cluster_url(url)
        if "{" in prefix or "}" in prefix:
            raise ValueError(
                f"the broker prefix {prefix!r} contains a brace: in Redis Cluster it would "
                "decide every key's slot (BECKON_BROKER_PREFIX)"
            )
        self.address = self._target.address
        self.prefix = prefix
        self._node_options = node_options
        self._nodes: list[RedisBroker] = []
        self._by_slot: list[RedisBroker] = []
        self._listeners: list[ReconnectListener] = []
        self._started = False
        self._closed = False

    @property
    def reconnects(self) -> int:
        return sum(node.reconnects for node in self._nodes)

    async def start(self) -> None:
        if self._started or self._closed:
            raise RuntimeError("RedisClusterBroker.start() may be called once")
        self._started = True
        target = self._target
        locator = SlotLocator(target.seeds, target.username, target.password)
        try:
            try:
                ranges = await locator.ranges(fresh=True)
            except RedisConnectionError as exc:
                raise BrokerUnavailable(f"cannot reach Redis at {self.address}: {exc}") from None
            primaries: dict[tuple[str, int], RedisBroker] = {}
            self._by_slot = [None] * REDIS_CLUSTER_HASH_SLOTS  # type: ignore[list-item]
            for first, last, host, port in ranges:
                node = primaries.get((host, port))
                if node is None:
                    # The shard follows whichever primary owns its first slot.
                    node = primaries[(host, port)] = RedisBroker(
                        target.node_url(host, port),
                        prefix=self.prefix,
                        sharded=True,
                        pool_factory=partial(
                            ShardPool,
                            locator,
                            first,
                            username=target.username,
                            password=target.password,
                        ),
                        address=f"{host}:{port} (slot {first} and its range)",
                        **self._node_options,
                    )
                    for listener in self._listeners:
                        node.add_reconnect_listener(listener)
                for slot in range(first, last + 1):
                    self._by_slot[slot] = node
            self._nodes = list(primaries.values())
            uncovered = self._by_slot.count(None)  # type: ignore[arg-type]
            if uncovered:
                raise BrokerUnavailable(
                    f"Redis Cluster at {self.address} serves only "
                    f"{REDIS_CLUSTER_HASH_SLOTS - uncovered} of {REDIS_CLUSTER_HASH_SLOTS} slots"
                )
            await asyncio.gather(*(node.start() for node in self._nodes))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(node.close() for node in self._nodes), return_exceptions=True)

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerUnavailable("broker is closed")
        if not self._nodes:
            raise RuntimeError("broker used before start()")

    def _node(self, full_name: str) -> RedisBroker:
        self._check_open()
        return self._by_slot[key_slot(full_name.encode())]

    async def ping(self) -> None:
        self._check_open()
        await asyncio.gather(*(node.ping() for node in self._nodes))

    async def publish(self, channel: str, data: bytes) -> None:
        await self._node(self.prefix + check_name("channel", channel)).publish(channel, data)

    def publish_nowait(self, channel: str, data: bytes) -> asyncio.Future[None]:
        # One channel is always one shard, whose pipeline keeps call order.
        full_name = self.prefix + check_name("channel", channel)
        try:
            node = self._node(full_name)
        except BrokerUnavailable as exc:  # closed: a failed future, as the contract says
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
            return future
        return node.publish_nowait(channel, data)

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        return await self._node(self.prefix + check_name("channel", channel)).subscribe(
            channel, handler
        )

    def add_reconnect_listener(self, listener: ReconnectListener) -> None:
        # Any shard's reconnect may have lost messages of its channels: tell everyone.
        self._listeners.append(listener)
        for node in self._nodes:
            node.add_reconnect_listener(listener)

    def _group_node(self, group: str) -> RedisBroker:
        return self._node(presence_keys(self.prefix, check_name("group", group))[0])

    async def presence_set(self, group: str, member: str, value: bytes, ttl_s: float) -> None:
        await self._group_node(group).presence_set(group, member, value, ttl_s)

    async def presence_set_many(
        self, group: str, members: Mapping[str, bytes], ttl_s: float
    ) -> None:
        # One group's two keys share its hash tag: one shard takes the whole call.
        await self._group_node(group).presence_set_many(group, members, ttl_s)

    async def presence_remove(self, group: str, member: str) -> None:
        await self._group_node(group).presence_remove(group, member)

    async def presence_members(self, group: str) -> dict[str, bytes]:
        return await self._group_node(group).presence_members(group)

    async def state_get(self, key: str) -> bytes | None:
        return await self._node(self.prefix + check_name("key", key)).state_get(key)

    async def state_get_many(self, keys: list[str]) -> list[bytes | None]:
        # MGET takes one slot's keys only: one MGET per slot, all pipelined at once.
        by_slot: dict[int, list[int]] = {}
        for i, key in enumerate(keys):
            slot = key_slot((self.prefix + check_name("key", key)).encode())
            by_slot.setdefault(slot, []).append(i)
        self._check_open()
        groups = list(by_slot.values())
        answers = await asyncio.gather(
            *(
                self._by_slot[key_slot((self.prefix + keys[g[0]]).encode())].state_get_many(
                    [keys[i] for i in g]
                )
                for g in groups
            )
        )
        values: list[bytes | None] = [None] * len(keys)
        for group, answer in zip(groups, answers, strict=True):
            for i, value in zip(group, answer, strict=True):
                values[i] = value
        return values

    async def state_set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._node(self.prefix + check_name("key", key)).state_set(key, value, ttl_s)

    def state_set_nowait(self, key: str, value: bytes, ttl_s: float) -> asyncio.Future[Any]:
        return self._node(self.prefix + check_name("key", key)).state_set_nowait(key, value, ttl_s)

    async def state_delete(self, key: str) -> None:
        await self._node(self.prefix + check_name("key", key)).state_delete(key)

    async def run_script(self, name: str, keys: list[str], args: list[ScriptArg]) -> Any:
        full_keys = [self.prefix + check_name("key", key) for key in keys]
        slots = {key_slot(key.encode()) for key in full_keys}
        if len(slots) > 1:
            raise ValueError(
                f"script {name!r}: its KEYS {keys!r} are in different Redis Cluster slots; "
                "give them one hash tag, e.g. {site}"
            )
        node = self._node(full_keys[0] if full_keys else self.prefix)
        return await node.run_script(name, keys, args)
