"""Connections to "the primary that owns slot N now": how a cluster shard follows a failover.

Each shard of RedisClusterBroker is a sharded RedisBroker whose pool is a ShardPool:
every new connection asks the cluster (CLUSTER SLOTS, through SlotLocator) which
primary owns the shard's first slot, the way a Sentinel pool asks the sentinels. When
a primary dies, its connections fail; the broker's reconnect loops keep asking, and
once the cluster has promoted the replica they land on it, resubscribe and report
the reconnect (listeners re-sync from the Store). A node that answers MOVED for the
shard's keys (a demoted primary, or moved slots) is treated like a lost connection,
so the next connection asks again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import redis.asyncio as redis_asyncio
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.sentinel import SentinelManagedConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

SlotRange = tuple[int, int, str, int]
"""(first slot, last slot, primary host, primary port)."""

LOOKUP_REUSE_S = 0.2
"""A slot map this fresh is reused: many connections reconnecting at once ask once."""


class SlotLocator:
    """Reads the slot map from the seeds and every node it has seen, first answer wins."""

    def __init__(
        self, seeds: tuple[tuple[str, int], ...], username: str | None, password: str | None
    ) -> None:
        self._nodes: list[tuple[str, int]] = list(seeds)
        self._username = username
        self._password = password
        self._ranges: list[SlotRange] = []
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def ranges(self, *, fresh: bool = False) -> list[SlotRange]:
        """The slot map; raises redis ConnectionError naming each node's failure."""
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if fresh or now - self._read_at > LOOKUP_REUSE_S or not self._ranges:
                self._ranges = await self._read()
                self._read_at = asyncio.get_running_loop().time()
            return self._ranges

    async def primary_of(self, slot: int) -> tuple[str, int]:
        for first, last, host, port in await self.ranges():
            if first <= slot <= last:
                return host, port
        raise RedisConnectionError(f"no primary serves slot {slot} (cluster not ready)")

    async def _read(self) -> list[SlotRange]:
        errors = []
        for host, port in list(self._nodes):
            client = redis_asyncio.Redis(
                host=host,
                port=port,
                username=self._username,
                password=self._password,
                protocol=2,
                socket_connect_timeout=0.5,
                socket_timeout=1.0,
            )
            try:
                reply = await client.execute_command("CLUSTER", "SLOTS")
            except (OSError, redis_asyncio.RedisError) as exc:
                errors.append(f"{host}:{port}: {exc}")
                continue
            finally:
                await client.aclose()
            return self._learn(reply, host)
        raise RedisConnectionError("; ".join(errors))

    def _learn(self, reply: list[Any], asked_host: str) -> list[SlotRange]:
        ranges = []
        for first, last, *nodes in reply:
            addresses = [
                # An empty host means "the address you reached me on" (Redis 7).
                (node[0].decode() if node[0] else asked_host, int(node[1]))
                for node in nodes
            ]
            ranges.append((int(first), int(last), *addresses[0]))
            for address in addresses:  # replicas too: one of them may be promoted
                if address not in self._nodes:
                    self._nodes.append(address)
        return ranges


class ShardConnection(SentinelManagedConnection):
    """A connection to the pool's current primary; MOVED counts as a lost connection."""

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if not str(exc).startswith("MOVED"):
                raise
            await self.disconnect()
            raise RedisConnectionError(f"{self.host}:{self.port} no longer owns it: {exc}") from exc


class ShardPool(BlockingConnectionPool):
    """A pool whose connections go to the primary owning `slot` (SentinelManagedConnection
    calls `get_master_address()` on each connect)."""

    def __init__(self, locator: SlotLocator, slot: int, **connection_kwargs: Any) -> None:
        self.is_master = True  # read by SentinelManagedConnection
        self.check_connection = False
        self._locator = locator
        self._slot = slot
        self.master_address: tuple[str, int] | None = None
        super().__init__(connection_class=ShardConnection, **connection_kwargs)
        self.connection_kwargs["connection_pool"] = weakref.proxy(self)

    async def get_master_address(self) -> tuple[str, int]:
        address = await self._locator.primary_of(self._slot)
        if address != self.master_address:
            if self.master_address is not None:
                logger.warning(
                    "Redis Cluster: slot %d moved from %s:%s to %s:%s",
                    self._slot,
                    *self.master_address,
                    *address,
                )
            self.master_address = address
            await self.disconnect(inuse_connections=False)
        return address
