"""Conformance: publish/subscribe, refcounted local fan-out, handler isolation, lifecycle."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.broker import BrokerUnavailable
from server.broker.memory_broker import MemoryBroker
from tests.waiting import next_loop_turn

from .helpers import Collector


async def test_messages_arrive_in_publish_order_across_nodes(broker, second_node):
    received = Collector()
    await broker.subscribe("room:1", received)
    expected = [f"m{i}".encode() for i in range(200)]
    for data in expected:
        await second_node.publish("room:1", data)
    assert await received.wait_for(200) == expected
    assert {channel for channel, _ in received.messages} == {"room:1"}


async def test_publish_nowait_keeps_call_order_with_publish(broker, second_node):
    """Handed over at the call: a `publish` awaited after a `publish_nowait` goes after
    it, whichever finishes first (the chat's message, then its `closed`)."""
    received = Collector()
    await broker.subscribe("room:2", received)
    futures = [second_node.publish_nowait("room:2", f"n{i}".encode()) for i in range(50)]
    await second_node.publish("room:2", b"last")
    await asyncio.gather(*futures)
    assert await received.wait_for(51) == [f"n{i}".encode() for i in range(50)] + [b"last"]


async def test_publish_nowait_after_close_is_a_failed_future_not_a_raise(broker):
    await broker.close()
    future = broker.publish_nowait("c", b"x")
    with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
        await future


async def test_publish_nowait_rejects_bad_arguments_at_the_call(broker):
    with pytest.raises(TypeError, match=r"^data must be bytes, not str$"):
        broker.publish_nowait("c", "text")
    with pytest.raises(ValueError, match=r"^channel must not be empty$"):
        broker.publish_nowait("", b"x")


async def test_publish_reaches_only_its_channel(broker):
    one, two = Collector(), Collector()
    await broker.subscribe("a", one)
    await broker.subscribe("b", two)
    await broker.publish("b", b"for b")
    await broker.publish("a", b"for a")
    assert await one.wait_for(1) == [b"for a"]
    assert await two.wait_for(1) == [b"for b"]


async def test_publish_is_not_delivered_inside_publish(broker):
    received = Collector()
    delivered_by: list[asyncio.Task | None] = []

    def handler(channel: str, data: bytes) -> None:
        delivered_by.append(asyncio.current_task())
        received(channel, data)

    await broker.subscribe("c", handler)
    await broker.publish("c", b"x")
    assert await received.wait_for(1) == [b"x"]
    # Delivered later, by the loop, never re-entrantly from the publisher's own task.
    assert delivered_by != [asyncio.current_task()]


async def test_publish_without_subscribers_succeeds(broker):
    await broker.publish("nobody-listens", b"x")


async def test_two_handlers_share_a_channel_and_close_independently(broker):
    first, second = Collector(), Collector()
    sub_first = await broker.subscribe("c", first)
    sub_second = await broker.subscribe("c", second)
    await broker.publish("c", b"1")
    await first.wait_for(1)
    await second.wait_for(1)

    await sub_first.close()
    await broker.publish("c", b"2")
    assert await second.wait_for(2) == [b"1", b"2"]
    assert first.payloads == [b"1"]

    await sub_second.close()
    await broker.publish("c", b"3")
    late = Collector()
    await broker.subscribe("c", late)  # a new subscriber still works after the last left
    await broker.publish("c", b"4")
    assert await late.wait_for(1) == [b"4"]
    assert second.payloads == [b"1", b"2"]


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["redis://127.0.0.1:6379/0"], indirect=True)
async def test_redis_subscribes_once_per_channel_and_unsubscribes_after_the_last(
    broker, redis_admin, prefix
):
    async def numsub() -> int:
        [(_, count)] = await redis_admin.pubsub_numsub(prefix + "c")
        return count

    assert await numsub() == 0
    subs = [await broker.subscribe("c", Collector()) for _ in range(3)]
    assert await numsub() == 1  # one connection, however many local handlers
    await subs[0].close()
    await subs[1].close()
    assert await numsub() == 1
    await subs[2].close()
    assert await numsub() == 0  # close() returns after Redis confirmed UNSUBSCRIBE


async def test_subscription_close_is_idempotent_and_a_context_manager(broker):
    received = Collector()
    async with await broker.subscribe("c", received) as sub:
        assert not sub.closed
    assert sub.closed
    await sub.close()
    other = Collector()
    await broker.subscribe("c", other)
    await broker.publish("c", b"x")
    await other.wait_for(1)
    assert received.messages == []


async def test_a_failing_handler_is_logged_and_isolated(broker, caplog):
    def explode(channel: str, data: bytes) -> None:
        raise RuntimeError("handler bug")

    before, after = Collector(), Collector()
    await broker.subscribe("c", before)
    await broker.subscribe("c", explode)
    await broker.subscribe("c", after)
    with caplog.at_level(logging.ERROR, logger="server.broker.fanout"):
        await broker.publish("c", b"1")
        await broker.publish("c", b"2")
        assert await after.wait_for(2) == [b"1", b"2"]
    assert before.payloads == [b"1", b"2"]
    failures = [r for r in caplog.records if "failed on channel 'c'" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info[1].args == ("handler bug",)


async def test_a_handler_may_unsubscribe_itself_while_called(broker):
    received: list[bytes] = []
    others = Collector()
    subs = {}
    closing: list[asyncio.Future[None]] = []

    def once(channel: str, data: bytes) -> None:
        received.append(data)
        # Handlers are sync; close() is scheduled, and must not disturb dispatch.
        closing.append(asyncio.ensure_future(subs["once"].close()))

    subs["once"] = await broker.subscribe("c", once)
    await broker.subscribe("c", others)
    await broker.publish("c", b"1")
    await others.wait_for(1)
    await broker.publish("c", b"2")
    await others.wait_for(2)
    assert received == [b"1"]
    assert closing[0].done()


@pytest.mark.parametrize(
    ("channel", "data", "error", "message"),
    [
        ("c", "text", TypeError, "data must be bytes, not str"),
        ("c", None, TypeError, "data must be bytes, not NoneType"),
        ("", b"x", ValueError, "channel must not be empty"),
        (7, b"x", TypeError, "channel must be a str, not int"),
    ],
)
async def test_publish_rejects_bad_arguments(broker, channel, data, error, message):
    with pytest.raises(error, match=rf"^{message}$"):
        await broker.publish(channel, data)


async def test_subscribe_rejects_a_non_callable_handler(broker):
    with pytest.raises(TypeError, match=r"^handler must be callable$"):
        await broker.subscribe("c", "not a function")


async def test_operations_before_start_raise_runtime_error(make_broker):
    idle = make_broker()
    with pytest.raises(RuntimeError, match=r"^broker used before start\(\)$"):
        await idle.publish("c", b"x")
    with pytest.raises(RuntimeError, match=r"^broker used before start\(\)$"):
        await idle.subscribe("c", Collector())
    with pytest.raises(RuntimeError, match=r"^broker used before start\(\)$"):
        await idle.state_get("k")


async def test_operations_after_close_raise_broker_unavailable(broker):
    await broker.close()
    await broker.close()  # idempotent
    for operation in (
        broker.publish("c", b"x"),
        broker.subscribe("c", Collector()),
        broker.ping(),
        broker.state_get("k"),
        broker.presence_members("g"),
        broker.run_script("queue_position", ["q"], ["m"]),
    ):
        with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
            await operation


async def test_ping_succeeds_on_a_started_broker(broker):
    await broker.ping()


async def test_memory_broker_delivers_nothing_after_close():
    broker = MemoryBroker(prefix="t:")
    await broker.start()
    received = Collector()
    await broker.subscribe("c", received)
    await broker.publish("c", b"x")  # scheduled on the loop, not yet delivered
    await broker.close()
    for _ in range(3):
        await next_loop_turn()  # the scheduled delivery runs (and must do nothing)
    assert received.messages == []


async def test_many_subscribes_at_once_are_each_live_when_they_return(broker, second_node):
    # A burst of hellos: the Redis broker sends their SUBSCRIBEs together; each caller
    # still returns only once its own channel is live.
    collectors = [Collector() for _ in range(150)]

    async def join(i: int) -> None:
        await broker.subscribe(f"visitor:{i}", collectors[i])
        await second_node.publish(f"visitor:{i}", f"hello {i}".encode())

    await asyncio.gather(*(join(i) for i in range(150)))
    for i, received in enumerate(collectors):
        assert await received.wait_for(1) == [f"hello {i}".encode()]


async def test_a_new_handler_is_live_after_an_unsubscribe_that_was_cancelled(broker, second_node):
    # The last handler leaves and its close is cancelled (its socket's task ended) while
    # the UNSUBSCRIBE is in flight; a handler arriving at that moment must still be live
    # once subscribe returns (not unsubscribed by the reply that was still on its way).
    marker = Collector()
    await broker.subscribe("marker", marker)
    leaving = await broker.subscribe("room:x", Collector())
    closing = asyncio.create_task(leaving.close())
    await next_loop_turn()  # the close has sent (or queued) its UNSUBSCRIBE
    closing.cancel()
    await asyncio.gather(closing, return_exceptions=True)
    arriving = Collector()
    await broker.subscribe("room:x", arriving)
    await second_node.publish("room:x", b"for the new handler")
    await second_node.publish("marker", b"after it")
    await marker.wait_for(1)  # one connection, publish order: room:x came first
    assert arriving.payloads == [b"for the new handler"]
