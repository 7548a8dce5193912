"""Conformance: many callers at once (the Redis broker pipelines their commands in
batches): each gets its own reply, in its own order, and an error reply fails only the
command that caused it."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.connection import BlockingConnectionPool

from server.broker import BrokerUnavailable, ScriptError
from server.broker.backoff import Backoff
from server.broker.redis_pipeline import RedisPipeline
from server.broker.redis_publisher import RedisPublisher

from .conftest import REDIS_URL


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
        gave_up = pipeline.execute(("SET", prefix + "k", b"v"))
        gave_up.cancel()
        assert await pipeline.execute(("GET", prefix + "k")) is None
    finally:
        await pipeline.close()
        await pool.aclose()


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
