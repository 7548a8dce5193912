"""Fixtures of the Broker conformance suite (style habit 8).

Every test using `broker` runs three times: on the memory backend (with a fake
clock), on the real Redis at 127.0.0.1:6379 db 0, and on a 3-primary Redis Cluster
this session starts on loopback ports (tests/redis_cluster.py), each time under a
unique key prefix whose keys are deleted at teardown (never FLUSHDB: that Redis is
shared).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.asyncio.cluster import RedisCluster as ClusterClient

from server.broker.memory_broker import MemoryBroker
from server.broker.redis_broker import RedisBroker
from server.broker.redis_cluster import RedisClusterBroker
from tests.redis_cluster import RedisCluster

from .helpers import FakeClock, wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"
CLUSTER = "redis+cluster://"
"""Stands for the session's Redis Cluster, whose ports are known once it runs."""

BACKENDS = [
    pytest.param("memory://", id="memory"),
    pytest.param(REDIS_URL, id="redis", marks=pytest.mark.redis),
    pytest.param(CLUSTER, id="cluster", marks=pytest.mark.redis),
]

Broker = MemoryBroker | RedisBroker | RedisClusterBroker


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """One Redis Cluster for the session (per xdist worker): ~5 s to start. In a
    directory of its own: pytest's numbered temp dirs are pruned by concurrent runs."""
    with tempfile.TemporaryDirectory(prefix="beckon-redis-cluster-") as directory:
        cluster = RedisCluster(Path(directory))
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def prefix() -> str:
    return f"beckon-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_admin(prefix: str) -> AsyncIterator[redis_asyncio.Redis]:
    """A plain client on the shared Redis, for checks; deletes the test's keys after."""
    client = redis_asyncio.Redis.from_url(REDIS_URL, protocol=2, socket_connect_timeout=1)
    try:
        await client.ping()
    except (OSError, redis_asyncio.ConnectionError) as exc:
        await client.aclose()
        pytest.fail(
            f"Redis is not reachable at 127.0.0.1:6379 ({exc}). The broker conformance "
            "suite needs Redis 7 there: install redis-server, or run the project's test "
            "command, which starts it."
        )
    yield client
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cluster_admin(redis_cluster, prefix: str) -> AsyncIterator[ClusterClient]:  # type: ignore[no-untyped-def]
    """A cluster client for checks; deletes the test's keys (on every primary) after."""
    client = ClusterClient(host="127.0.0.1", port=redis_cluster.ports[0], protocol=2)
    yield client
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    for key in keys:
        await client.delete(key)
    await client.aclose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The broker URL under test: "memory://", the shared Redis or the session's cluster."""
    if request.param == REDIS_URL:
        request.getfixturevalue("redis_admin")  # fail clearly if Redis is down
    if request.param == CLUSTER:
        request.getfixturevalue("cluster_admin")  # its keys are deleted after the test
        return request.getfixturevalue("redis_cluster").url
    return request.param


def is_cluster(backend: str) -> bool:
    return backend.startswith(CLUSTER)


@pytest.fixture
async def make_broker(
    backend: str, prefix: str, clock: FakeClock
) -> AsyncIterator[Callable[[], Broker]]:
    """Build unstarted brokers of the backend under test, all on the test's prefix."""
    made: list[Broker] = []

    def make() -> Broker:
        broker: Broker
        if backend == "memory://":
            broker = MemoryBroker(prefix=prefix, clock=clock)
        elif is_cluster(backend):
            broker = RedisClusterBroker(backend, prefix=prefix)
        else:
            broker = RedisBroker(backend, prefix=prefix)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


@pytest.fixture
async def broker(
    make_broker: Callable[[], Broker],
) -> Broker:
    started = make_broker()
    await started.start()
    return started


@pytest.fixture
async def second_node(backend: str, broker: Broker, make_broker) -> Broker:
    """Another node on the same keyspace: a second RedisBroker on Redis; on memory://,
    which is single-node by definition, the same broker."""
    if backend == "memory://":
        return broker
    other = make_broker()
    await other.start()
    return other


class Probe:
    """Backend-specific look at raw keys (full, prefixed names), for TTL assertions."""

    def __init__(self, broker: Broker, admin: redis_asyncio.Redis | ClusterClient | None):
        self._broker = broker
        self._admin = admin

    async def pttl(self, key: str) -> int:
        """Milliseconds left on `prefix + key`: -2 missing, -1 no TTL."""
        full = self._broker.prefix + key
        if self._admin is None:
            return self._broker._keyspace.pttl(full)  # type: ignore[union-attr]
        return await self._admin.pttl(full)

    async def keys(self) -> set[str]:
        """Every live key of this test, without the prefix."""
        prefix = self._broker.prefix
        if self._admin is None:
            names = self._broker.keyspace_keys()  # type: ignore[union-attr]
        else:
            names = [k.decode() async for k in self._admin.scan_iter(match=prefix + "*")]
        return {name.removeprefix(prefix) for name in names}


@pytest.fixture
def probe(backend: str, broker, request: pytest.FixtureRequest) -> Probe:
    admin = None
    if is_cluster(backend):
        admin = request.getfixturevalue("cluster_admin")
    elif backend != "memory://":
        admin = request.getfixturevalue("redis_admin")
    return Probe(broker, admin)


class Expiry:
    """Lets TTL tests run on both backends without fixed sleeps.

    memory://: moves the fake clock by `seconds`, then the predicate must hold at once.
    redis://: real time must pass, so it polls the predicate (bounded by a timeout).
    """

    def __init__(self, backend: str, clock: FakeClock) -> None:
        self._memory = backend == "memory://"
        self._clock = clock

    async def after(self, seconds: float, predicate: Callable[[], Awaitable[bool]]) -> None:
        if self._memory:
            self._clock.advance(seconds)
            assert await predicate(), f"not true {seconds} s later"
        else:
            await wait_until(predicate, within_s=seconds + 3.0, what=f"expiry after {seconds} s")


@pytest.fixture
def expiry(backend: str, clock: FakeClock) -> Expiry:
    return Expiry(backend, clock)
