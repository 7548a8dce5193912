"""Hub.publish_detached (server/hub/hub.py) and chat_events.publish_message: a stored
message is handed to the broker in call order and the caller goes on without waiting
for the broker's answer; a failure is counted and logged; at most DETACHED_LIMIT wait
for an answer before a caller has to wait for its own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from server.broker.base import BrokerUnavailable
from server.broker.envelope import decode_envelope
from server.hub import hub as hub_module
from server.hub.chat_events import publish_message
from server.hub.hub import Hub
from server.metrics import Metrics
from tests.waiting import next_loop_turn


class SlowBroker:
    """Takes publishes and answers only when the test says so (Redis down: ~1 s)."""

    def __init__(self) -> None:
        self.handed: list[tuple[str, bytes]] = []
        self.pending: list[asyncio.Future[None]] = []

    def add_reconnect_listener(self, listener: Any) -> None:
        pass

    def publish_nowait(self, channel: str, data: bytes) -> asyncio.Future[None]:
        self.handed.append((channel, data))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future

    async def publish(self, channel: str, data: bytes) -> None:
        await self.publish_nowait(channel, data)

    def fail_all(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_exception(BrokerUnavailable("cannot reach Redis at x: refused"))


def row(seq: int) -> dict[str, Any]:
    return {
        "id": f"m{seq}",
        "conversation_id": "cv_1",
        "seq": seq,
        "internal": False,
        "author_kind": "visitor",
        "author_name": None,
        "author_id": None,
        "text": f"t{seq}",
        "ts": 1,
        "client_msg_id": f"c{seq}",
    }


def broker_publish_errors(metrics: Metrics) -> float:
    return metrics.errors.labels("broker_publish")._value.get()


async def test_publish_message_does_not_wait_for_the_broker_and_a_failure_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = SlowBroker()
    hub = Hub(None, broker, Metrics())  # type: ignore[arg-type]
    async with asyncio.timeout(2):  # returns although the broker never answered
        await publish_message(hub, row(1))
        await publish_message(hub, row(2))
    assert hub.detached_publishes == 2
    kinds = [
        (c, decode_envelope(d).kind, decode_envelope(d).payload["seq"]) for c, d in broker.handed
    ]
    assert kinds == [("conv:cv_1", "message", 1), ("conv:cv_1", "message", 2)]
    with caplog.at_level(logging.WARNING, logger="beckon.hub"):
        broker.fail_all()
        await next_loop_turn()
    assert hub.detached_publishes == 0
    assert broker_publish_errors(hub.metrics) == 2
    assert (
        caplog.messages
        == ["publish on conv:cv_1 deferred to re-sync: cannot reach Redis at x: refused"] * 2
    )


async def test_a_later_awaited_publish_leaves_after_the_detached_ones() -> None:
    broker = SlowBroker()
    hub = Hub(None, broker, Metrics())  # type: ignore[arg-type]
    await publish_message(hub, row(1))
    closing = asyncio.create_task(hub.publish("conv:cv_1", "closed", {"type": "closed"}))
    await next_loop_turn()
    assert [decode_envelope(d).kind for _, d in broker.handed] == ["message", "closed"]
    broker.pending[1].set_result(None)
    await closing
    broker.fail_all()


async def test_past_the_limit_a_caller_waits_for_its_own_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "DETACHED_LIMIT", 2)
    broker = SlowBroker()
    hub = Hub(None, broker, Metrics())  # type: ignore[arg-type]
    await publish_message(hub, row(1))
    await publish_message(hub, row(2))
    third = asyncio.create_task(publish_message(hub, row(3)))
    await next_loop_turn()
    assert not third.done() and len(broker.handed) == 3  # handed over, then waits
    broker.pending[0].set_result(None)  # another's answer does not release it
    await next_loop_turn()
    assert not third.done()
    broker.pending[2].set_exception(BrokerUnavailable("down"))
    async with asyncio.timeout(2):
        await third  # answered (a failure, counted): it goes on
    assert hub.detached_publishes == 1
    broker.fail_all()
    await next_loop_turn()
    assert hub.detached_publishes == 0
