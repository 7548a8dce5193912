"""server/ws_keepalive.py: every socket's ping and pong deadlines on one wheel per event
loop (one loop timer), with the keepalive's behaviour of tests/unit/test_ws_protocol.py."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from typing import Any

import pytest
from websockets.frames import Opcode

from server import ws_protocol
from server.ws_keepalive import keepalive_wheel
from tests.unit.test_ws_protocol import (
    ACCEPTED,
    HANDSHAKE,
    Harness,
    _end_connections,  # noqa: F401 - the autouse fixture that ends what a test left open
    accepted,
    client_close,
    client_frame,
    server_close,
)

PING = b"\x89\x04"


def wheel() -> Any:
    return keepalive_wheel(asyncio.get_running_loop())


def live_timers() -> int:
    """Timers scheduled on the loop and not cancelled (asyncio's own loop keeps them in
    `_scheduled`)."""
    loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)
    if scheduled is None:
        pytest.skip(f"{type(loop).__name__} does not list its timers")
    return sum(not handle.cancelled() for handle in scheduled)


async def test_a_socket_that_never_answers_is_closed_1011() -> None:
    h, events = await accepted(ws_ping_interval=0.02, ws_ping_timeout=0.02)
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take()[:2] == PING
    await h.until(lambda: h.transport.closing)  # no pong
    assert h.transport.take() == server_close(1011, "keepalive ping timeout")
    await h.task_done()
    assert events[-1] == {
        "type": "websocket.disconnect",
        "code": 1011,
        "reason": "keepalive ping timeout",
    }
    assert len(wheel()) == 0 and not wheel().armed


async def test_a_socket_that_answers_stays_open_over_many_intervals() -> None:
    h, _ = await accepted(ws_ping_interval=0.01, ws_ping_timeout=0.03)
    for _ in range(5):
        await h.until(lambda: bool(h.transport.out))
        ping = h.transport.take()
        assert ping[:2] == PING
        assert not h.transport.closing
        h.feed(client_frame(Opcode.PONG, ping[2:]))
    assert not h.transport.closing
    assert len(wheel()) == 1  # its next ping


@pytest.mark.parametrize("how", ["peer close", "lost", "shutdown", "server close"])
async def test_a_socket_that_ends_leaves_the_wheel(how: str) -> None:
    h, _ = await accepted(ws_ping_interval=20, ws_ping_timeout=20)
    assert len(wheel()) == 1 and wheel().armed
    if how == "peer close":
        h.feed(client_close(1000))
    elif how == "lost":
        h.protocol.connection_lost(None)
    elif how == "shutdown":
        h.protocol.shutdown()
    else:
        h.feed(client_frame(Opcode.TEXT, b"close me"))  # the endpoint closes 4408
    await h.until(lambda: len(wheel()) == 0)
    assert not wheel().armed  # no socket: nothing wakes the loop


async def test_many_sockets_share_one_timer() -> None:
    before = live_timers()
    sockets = [(await accepted(ws_ping_interval=20, ws_ping_timeout=20))[0] for _ in range(200)]
    assert len(wheel()) == 200
    assert live_timers() - before == 1  # the wheel's; no timer per socket
    for h in sockets[:150]:
        h.protocol.connection_lost(None)
    assert len(wheel()) == 50 and live_timers() - before == 1
    for h in sockets[150:]:
        h.protocol.connection_lost(None)
    assert len(wheel()) == 0 and live_timers() == before


async def test_pings_of_many_sockets_each_get_their_own_pong_deadline() -> None:
    sockets = [(await accepted(ws_ping_interval=0.01, ws_ping_timeout=0.05))[0] for _ in range(20)]
    for h in sockets:
        await h.until(lambda h=h: bool(h.transport.out))  # type: ignore[misc]
    answering = sockets[::2]
    for h in answering:
        ping = h.transport.take()
        h.feed(client_frame(Opcode.PONG, ping[2:]))
    for h in sockets[1::2]:
        await h.until(lambda h=h: h.transport.closing)  # type: ignore[misc]
        assert h.transport.take().endswith(server_close(1011, "keepalive ping timeout"))
    assert not any(h.transport.closing for h in answering)


async def test_a_failing_deadline_costs_the_others_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reached = asyncio.Event()

    def fails() -> None:
        raise RuntimeError("boom")

    wheel().add("first", 0.01, fails)
    wheel().add("second", 0.01, reached.set)
    with caplog.at_level(logging.ERROR, logger="beckon.ws"):
        async with asyncio.timeout(2):
            await reached.wait()
    assert "keepalive deadline failed" in caplog.text
    assert len(wheel()) == 0 and not wheel().armed


async def test_an_endpoint_that_returns_waits_for_the_echo_of_its_close_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The endpoint returns without closing: 1000 goes out and the connection waits for
    the peer's echo, at most CLOSE_TIMEOUT_S (the keepalive no longer holds it)."""
    monkeypatch.setattr(ws_protocol, "CLOSE_TIMEOUT_S", 0.02)

    async def endpoint(ws: Any) -> None:
        await ws.accept()
        await ws.receive()

    for echo in (True, False):
        h = Harness(endpoint, ws_ping_interval=20, ws_ping_timeout=20)
        h.feed(HANDSHAKE)
        await h.until(lambda h=h: bool(h.transport.out))  # type: ignore[misc]
        assert h.transport.take() == ACCEPTED
        h.feed(client_frame(Opcode.TEXT, b"bye"))
        await h.task_done()
        assert h.transport.take() == server_close(1000)
        assert len(wheel()) == 0
        if echo:
            assert not h.transport.closing
            h.feed(client_close(1000))
        await h.until(lambda h=h: h.transport.closing)  # type: ignore[misc]


async def test_a_pong_after_our_close_keeps_the_close_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ws_protocol, "CLOSE_TIMEOUT_S", 0.02)
    h, _ = await accepted(ws_ping_interval=0.01, ws_ping_timeout=20)
    await h.until(lambda: bool(h.transport.out))
    ping = h.transport.take()
    h.feed(client_frame(Opcode.TEXT, b"close me"))  # our close, then the late pong
    await h.until(lambda: bool(h.transport.out))
    h.feed(client_frame(Opcode.PONG, ping[2:]))
    await h.until(lambda: h.transport.closing)  # the peer never echoed: timed out


def test_a_wheel_does_not_keep_its_loop_alive() -> None:
    loop = asyncio.new_event_loop()

    async def use_the_wheel() -> None:
        woke = asyncio.Event()
        keepalive_wheel(asyncio.get_running_loop()).add("socket", 0.01, woke.set)
        await woke.wait()

    loop.run_until_complete(asyncio.wait_for(use_the_wheel(), 2))
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
