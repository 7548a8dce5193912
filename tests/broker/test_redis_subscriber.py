"""The Redis pub/sub sender (RedisSubscriber): a (UN)SUBSCRIBE that fails for a reason
other than a lost connection fails its own waiters with BrokerUnavailable, and the
sender lives on for every later follow (before, its waiters hung until the next
connection loss or their timeout, and later commands waited for another follow)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.broker import BrokerUnavailable
from server.broker.redis_broker import RedisBroker
from tests.waiting import next_loop_turn

from .conftest import REDIS_URL
from .helpers import Collector

pytestmark = pytest.mark.redis

# Long enough that a waiter left hanging shows as the guard's timeout, not as the
# broker's own "did not confirm" error.
RETRY_WINDOW_S = 30.0
GUARD_S = 5.0  # a guard against the hang, not a measure


@pytest.fixture
async def broker(redis_admin, prefix: str):
    started = RedisBroker(REDIS_URL, prefix=prefix, retry_window_s=RETRY_WINDOW_S)
    await started.start()
    yield started
    await started.close()


async def test_a_subscribe_redis_py_cannot_encode_fails_alone(broker, caplog):
    # A lone surrogate passes check_name but has no UTF-8 form: packing the SUBSCRIBE
    # fails before anything is written, so the connection stays as it was.
    reconnects = broker.reconnects
    with pytest.raises(
        BrokerUnavailable, match=r"^Redis pub/sub SUBSCRIBE failed: UnicodeEncodeError"
    ):
        async with asyncio.timeout(GUARD_S):
            await broker.subscribe("bad\ud800", Collector())
    assert "Redis pub/sub SUBSCRIBE of 1 channel(s) failed" in caplog.text

    received = Collector()
    async with asyncio.timeout(GUARD_S):
        await broker.subscribe("good", received)
    await broker.publish("good", b"hello")
    assert await received.wait_for(1) == [b"hello"]
    assert broker.reconnects == reconnects


async def test_a_subscribe_whose_write_fails_oddly_fails_alone_and_later_ones_go(
    broker, monkeypatch
):
    before = Collector()
    await broker.subscribe("before", before)
    conn = broker._subscriber._conn
    original = conn.send_packed_command
    writing = asyncio.Event()
    fail_now = asyncio.Event()
    calls = 0

    async def fails_once(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            return await original(*args, **kwargs)
        writing.set()
        await fail_now.wait()
        raise RuntimeError("injected")

    monkeypatch.setattr(conn, "send_packed_command", fails_once)
    reconnected = asyncio.Event()
    broker.add_reconnect_listener(reconnected.set)

    first = asyncio.create_task(broker.subscribe("first", Collector()))
    async with asyncio.timeout(GUARD_S):
        await writing.wait()
    late_received = Collector()
    late = asyncio.create_task(broker.subscribe("late", late_received))
    await next_loop_turn()  # "late" is queued behind the failing write
    fail_now.set()

    with pytest.raises(BrokerUnavailable, match=r"^Redis pub/sub SUBSCRIBE failed: RuntimeError"):
        async with asyncio.timeout(GUARD_S):
            await first
    async with asyncio.timeout(GUARD_S):
        await late
        # What was written is unknown, so the connection was dropped and renewed:
        # the subscription made before the failure is live again too.
        await reconnected.wait()
    await broker.publish("late", b"l")
    await broker.publish("before", b"b")
    assert await late_received.wait_for(1) == [b"l"]
    assert await before.wait_for(1) == [b"b"]
    assert "first" not in broker._fanout.channels()
