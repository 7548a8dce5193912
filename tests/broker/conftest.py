"""Fixtures of the Broker conformance suite (style habit 8).

Every test using `broker` runs twice: on the memory backend (with a fake clock)
and on the real Redis at 127.0.0.1:6379 db 0, each time under a unique key
prefix whose keys are deleted at teardown (never FLUSHDB: that Redis is shared).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis_asyncio

from server.broker.memory_broker import MemoryBroker
from server.broker.redis_broker import RedisBroker

from .helpers import FakeClock, wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"

BACKENDS = [
    pytest.param("memory://", id="memory"),
    pytest.param(REDIS_URL, id="redis", marks=pytest.mark.redis),
]


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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The broker URL under test: "memory://" or the shared Redis."""
    if request.param == REDIS_URL:
        request.getfixturevalue("redis_admin")  # fail clearly if Redis is down
    return request.param


@pytest.fixture
async def make_broker(
    backend: str, prefix: str, clock: FakeClock
) -> AsyncIterator[Callable[[], MemoryBroker | RedisBroker]]:
    """Build unstarted brokers of the backend under test, all on the test's prefix."""
    made: list[MemoryBroker | RedisBroker] = []

    def make() -> MemoryBroker | RedisBroker:
        broker: MemoryBroker | RedisBroker
        if backend == "memory://":
            broker = MemoryBroker(prefix=prefix, clock=clock)
        else:
            broker = RedisBroker(backend, prefix=prefix)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


@pytest.fixture
async def broker(
    make_broker: Callable[[], MemoryBroker | RedisBroker],
) -> MemoryBroker | RedisBroker:
    started = make_broker()
    await started.start()
    return started


@pytest.fixture
async def second_node(
    backend: str, broker: MemoryBroker | RedisBroker, make_broker
) -> MemoryBroker | RedisBroker:
    """Another node on the same keyspace: a second RedisBroker on Redis; on memory://,
    which is single-node by definition, the same broker."""
    if backend == "memory://":
        return broker
    other = make_broker()
    await other.start()
    return other


class Probe:
    """Backend-specific look at raw keys (full, prefixed names), for TTL assertions."""

    def __init__(self, broker: MemoryBroker | RedisBroker, admin: redis_asyncio.Redis | None):
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
    admin = request.getfixturevalue("redis_admin") if backend != "memory://" else None
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
