"""Conformance: many callers at once (the Redis broker pipelines their commands in
batches): each gets its own reply, in its own order, and an error reply fails only the
command that caused it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio.connection import BlockingConnectionPool

from server.broker import BrokerUnavailable, ScriptError
from server.broker.backoff import Backoff
from server.broker.held_connection import HeldConnection
from server.broker.redis_pipeline import RedisPipeline
from server.broker.redis_publisher import RedisPublisher
from tests.waiting import next_loop_turn

from .conftest import REDIS_URL

GUARD_S = 5.0  # a guard against a hang, not a measure


async def test_concurrent_callers_each_get_their_own_reply(broker):
    async def one(i: int) -> bytes | None:
        await broker.state_set(f"k{i}", f"v{i}".encode(), 30)
        await broker.presence_set("tabs", f"m{i}", str(i).encode(), 30)
        return await broker.state_get(f"k{i}")

    got = await asyncio.gather(*(one(i) for i in range(300)))
    assert got == [f"v{i}".encode() for i in range(300)]
    members = await broker.presence_members("tabs")
    assert members == {f"m{i}": str(i).encode() for i in range(300)}


async def test_an_error_reply_fails_only_its_own_command(broker):
    await broker.state_set("before", b"1", 30)

    async def bad() -> None:
        await broker.run_script("decr_floor", ["c"], [0])

    results = await asyncio.gather(
        broker.state_get("before"),
        bad(),
        broker.run_script("decr_floor", ["missing"], [3]),
        broker.state_set("after", b"2", 30),
        return_exceptions=True,
    )
    assert results[0] == b"1"
    assert isinstance(results[1], ScriptError)
    assert str(results[1]) == "decr_floor: amount must be an integer >= 1"
    assert results[2] == 0
    assert results[3] is None
    assert await broker.state_get("after") == b"2"
    with pytest.raises(ScriptError, match=r"^decr_floor: amount must be an integer >= 1$"):
        await bad()


@pytest.mark.redis
async def test_a_command_queued_after_close_fails_at_once(redis_admin):
    # A caller that was backing off when the broker closed comes back and queues its
    # command again: it must get BrokerUnavailable, not wait forever on a stopped task.
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    pipeline = RedisPipeline(pool)
    try:
        assert await pipeline.execute(("PING",)) == b"PONG"
        await pipeline.close()
        with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
            async with asyncio.timeout(5):  # a guard against the hang, not a measure
                await pipeline.execute(("PING",))
    finally:
        await pool.aclose()


@pytest.mark.redis
async def test_a_command_whose_caller_gave_up_before_it_left_is_not_sent(redis_admin, prefix):
    # A cancelled caller (its socket closed) never learns a result: a script that has not
    # left yet must not run behind its back (e.g. assign a chat no one will offer).
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    pipeline = RedisPipeline(pool)
    try:
        gave_up = asyncio.create_task(pipeline.execute(("SET", prefix + "k", b"v")))
        await next_loop_turn()  # queued; the pipeline's task has not taken it yet
        assert pipeline.queued == 1
        gave_up.cancel()
        assert await pipeline.execute(("GET", prefix + "k")) is None
    finally:
        await pipeline.close()
        await pool.aclose()


class GatedBatches:
    """Holds the pipeline's n-th batch (its connection `get`) until `open(n)`, so batches
    stay unsent while a test queues callers; `reached(n)` is set when the n-th batch
    starts. `on_checkout(n)` runs synchronously as the n-th batch starts."""

    def __init__(self, held: HeldConnection) -> None:
        self._get = held.get
        self._gates: dict[int, asyncio.Event] = {}
        self._reached: dict[int, asyncio.Event] = {}
        self.on_checkout: dict[int, Callable[[], None]] = {}
        self._calls = 0
        held.get = self._gated  # type: ignore[method-assign]

    def _event(self, events: dict[int, asyncio.Event], n: int) -> asyncio.Event:
        return events.setdefault(n, asyncio.Event())

    def open(self, n: int) -> None:
        self._event(self._gates, n).set()

    async def reached(self, n: int) -> None:
        async with asyncio.timeout(GUARD_S):
            await self._event(self._reached, n).wait()

    async def _gated(self, *args: Any, **kwargs: Any) -> Any:
        self._calls += 1
        n = self._calls
        self._event(self._reached, n).set()
        if n in self.on_checkout:
            self.on_checkout[n]()
        await self._event(self._gates, n).wait()
        return await self._get(*args, **kwargs)


@pytest.mark.redis
async def test_callers_past_the_bound_wait_and_proceed_in_order_when_it_drains(redis_admin, prefix):
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    pipeline = RedisPipeline(pool, max_queued=4)
    gated = GatedBatches(pipeline._conn)
    key = prefix + "list"
    try:
        in_flight = asyncio.create_task(pipeline.execute(("RPUSH", key, "0")))
        await gated.reached(1)  # the first batch has left the queue, unsent
        callers = [
            asyncio.create_task(pipeline.execute(("RPUSH", key, str(i)))) for i in range(1, 11)
        ]
        await next_loop_turn()  # every caller has either queued its command or waits
        assert (pipeline.queued, pipeline.waiting) == (4, 6)
        assert not any(task.done() for task in [in_flight, *callers])

        for n in range(1, 5):
            gated.open(n)
        async with asyncio.timeout(GUARD_S):
            replies = await asyncio.gather(in_flight, *callers)
        # RPUSH answers the list's length: each caller's command ran in arrival order.
        assert replies == list(range(1, 12))
        assert await redis_admin.lrange(key, 0, -1) == [str(i).encode() for i in range(11)]
        assert (pipeline.queued, pipeline.waiting) == (0, 0)
    finally:
        await pipeline.close()
        await pool.aclose()


@pytest.mark.redis
async def test_a_caller_cancelled_while_waiting_for_room_sends_nothing_and_takes_no_room(
    redis_admin, prefix
):
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    pipeline = RedisPipeline(pool, max_queued=1)
    gated = GatedBatches(pipeline._conn)
    try:
        first = asyncio.create_task(pipeline.execute(("SET", prefix + "a", b"1")))
        await gated.reached(1)
        queued = asyncio.create_task(pipeline.execute(("SET", prefix + "b", b"1")))
        waits = [
            asyncio.create_task(pipeline.execute(("SET", prefix + name, b"1")))
            for name in ("c", "d", "e")
        ]
        await next_loop_turn()
        assert (pipeline.queued, pipeline.waiting) == (1, 3)
        waits[0].cancel()  # cancelled while waiting
        # "d" is let in when "b" leaves (second checkout), then cancelled before it
        # queued its command: the room it was given passes on to "e".
        gated.on_checkout[2] = waits[1].cancel
        for n in range(1, 4):
            gated.open(n)
        async with asyncio.timeout(GUARD_S):
            await asyncio.gather(first, queued, waits[2])
        for task in waits[:2]:
            with pytest.raises(asyncio.CancelledError):
                await task
        got = await redis_admin.mget(*(prefix + name for name in "abcde"))
        assert got == [b"1", b"1", None, None, b"1"]
        assert (pipeline.queued, pipeline.waiting, pipeline._granted) == (0, 0, 0)
    finally:
        await pipeline.close()
        await pool.aclose()


@pytest.mark.redis
async def test_callers_waiting_for_room_fail_when_the_pipeline_closes(redis_admin, prefix):
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    pipeline = RedisPipeline(pool, max_queued=1)
    gated = GatedBatches(pipeline._conn)
    try:
        callers = [
            asyncio.create_task(pipeline.execute(("SET", prefix + str(i), b"1"))) for i in range(3)
        ]
        await gated.reached(1)
        assert (pipeline.queued, pipeline.waiting) == (1, 1)
        await pipeline.close()
        results = await asyncio.gather(*callers, return_exceptions=True)
        assert [str(r) for r in results] == ["broker is closed"] * 3
        assert all(isinstance(r, BrokerUnavailable) for r in results)
    finally:
        await pool.aclose()


def test_max_queued_must_be_positive():
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    with pytest.raises(ValueError, match=r"^max_queued must be >= 1, got 0$"):
        RedisPipeline(pool, max_queued=0)


def _publisher() -> tuple[BlockingConnectionPool, RedisPublisher]:
    pool = BlockingConnectionPool.from_url(REDIS_URL, protocol=2)
    return pool, RedisPublisher(pool, REDIS_URL, retry_window_s=1.0, backoff=Backoff)


@pytest.mark.redis
async def test_a_publish_after_close_fails_at_once(redis_admin, prefix):
    pool, publisher = _publisher()
    try:
        await publisher.publish(prefix + "c", b"x")
        await publisher.close()
        with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
            async with asyncio.timeout(5):  # a guard against the hang, not a measure
                await publisher.publish(prefix + "c", b"y")
    finally:
        await pool.aclose()


@pytest.mark.redis
async def test_a_publish_batch_that_fails_oddly_leaves_the_publisher_working(redis_admin, prefix):
    # A payload redis-py cannot encode fails its batch (not a connection error): the
    # publisher's task must live on, or every later publish waits forever.
    pool, publisher = _publisher()
    try:
        with pytest.raises(BrokerUnavailable, match="publish batch failed"):
            await publisher.publish(prefix + "c", object())  # type: ignore[arg-type]
        async with asyncio.timeout(5):  # a guard against the hang, not a measure
            await publisher.publish(prefix + "c", b"fine")
    finally:
        await publisher.close()
        await pool.aclose()
