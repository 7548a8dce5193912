"""The hub's shared channels (server/hub/hub.py) on each broker: sockets arriving and
leaving at the same moment never cut another socket off, and a socket that has left
is never held by a channel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.websockets import WebSocketState

from server.broker.envelope import encode_envelope
from server.hub.connection import Connection
from server.hub.hub import Hub
from server.metrics import Metrics
from tests.waiting import next_loop_turn


class _Socket:
    """The little of a WebSocket a Connection writes to: text frames, in order."""

    def __init__(self) -> None:
        self.application_state = WebSocketState.CONNECTED
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        self.application_state = WebSocketState.DISCONNECTED


async def _no_gap(_conversation_id: str, _after_seq: int) -> list[dict[str, Any]]:
    return []


class _Events:
    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []
        self.changed = asyncio.Event()

    def __call__(self, kind: str, payload: Any) -> None:
        self.got.append((kind, payload))
        self.changed.set()

    async def wait_for(self, count: int) -> list[tuple[str, Any]]:
        async with asyncio.timeout(5):
            while len(self.got) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.got


@pytest.fixture
def hub(broker) -> Hub:
    return Hub(None, broker, Metrics())  # type: ignore[arg-type]


def _conn(hub: Hub) -> Connection:
    conn = Connection(_Socket(), "visitor", _no_gap, hub.metrics)  # type: ignore[arg-type]
    hub.add(conn)
    return conn


async def test_first_follower_leaving_mid_subscribe_does_not_fail_the_next(hub, broker):
    leaving, staying = _conn(hub), _conn(hub)
    events = _Events()
    first = asyncio.create_task(hub.follow(leaving, "visitor:v1", _Events()))
    await next_loop_turn()  # the first follower's SUBSCRIBE is under way
    second = asyncio.create_task(hub.follow(staying, "visitor:v1", events))
    await next_loop_turn()  # the second waits on it
    first.cancel()  # e.g. its socket closed: its follow-up tasks are cancelled
    await asyncio.gather(first, return_exceptions=True)  # (memory:// may be live already)
    await second  # live for the socket that stayed: no BrokerUnavailable
    await hub.remove(leaving)
    await broker.publish("visitor:v1", encode_envelope("status", "other", {"n": 1}))
    assert await events.wait_for(1) == [("status", {"n": 1})]
    assert staying.channels == ["visitor:v1"]
    assert leaving.channels == []


async def test_follow_after_the_socket_left_holds_nothing(hub, broker):
    conn = _conn(hub)
    await hub.follow(conn, "visitor:v2", _Events())
    await hub.remove(conn)
    # A follow-up that ran late (e.g. spawned by an event delivered while the socket was
    # shutting down) must not put the gone socket back on a channel.
    await hub.follow(conn, "conv:c2", _Events())
    assert conn.channels == []
    assert "conv:c2" not in hub._channels  # the node does not stay subscribed for it
    assert "visitor:v2" not in hub._channels


async def test_nothing_is_spawned_for_a_socket_that_left(hub):
    conn = _conn(hub)
    await hub.remove(conn)
    ran: list[str] = []

    async def late() -> None:
        ran.append("late")

    conn.spawn(late())
    await next_loop_turn()
    await next_loop_turn()
    assert ran == []
