"""server/ws_protocol.py: bytes in, exact bytes and endpoint events out, on a fake
transport; plus what it relies on in uvicorn's upgrade hand-off (fails loudly on a
uvicorn upgrade that changes it)."""

from __future__ import annotations

import asyncio
import inspect
import re
import struct
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect, WebSocketState
from uvicorn.protocols.http import h11_impl, httptools_impl
from uvicorn.server import ServerState
from websockets.frames import Opcode

from server import ws_protocol
from server.ws_protocol import ChatSocketProtocol, socket_protocol
from tests.waiting import next_loop_turn

HANDSHAKE = (
    b"GET /ws/visitor?site=sk_1&x=%20y HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n"
    b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nOrigin: https://shop.example.com\r\n"
    b"Cookie: a=1\r\nCookie: beckon_session=s2\r\n\r\n"
)
# RFC 6455 1.3's own example key and answer.
ACCEPTED = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)
Endpoint = Callable[[Any], Awaitable[None]]


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closing = False
        self.aborted = False
        self.reading = True
        self.high_water: int | None = None
        self.lost: Callable[[Exception | None], None] | None = None  # connection_lost

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        # As asyncio does: the buffer is dropped and the protocol hears of it soon.
        self.closing = self.aborted = True
        if self.lost is not None:
            asyncio.get_running_loop().call_soon(self.lost, None)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high_water = high

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data


MASK = b"\x37\xfa\x21\x3d"


def client_frame(
    opcode: Opcode, data: bytes, fin: bool = True, rsv1: bool = False, mask: bool = True
) -> bytes:
    """A client frame, built by hand so that invalid ones can be built too."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | int(opcode)
    n = len(data)
    if n < 126:
        head = bytes((first, (0x80 if mask else 0) | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + data
    return head + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(data))


def client_close(code: int, reason: str = "") -> bytes:
    return client_frame(Opcode.CLOSE, struct.pack("!H", code) + reason.encode())


def server_close(code: int, reason: str = "") -> bytes:
    payload = struct.pack("!H", code) + reason.encode()
    return bytes([0x88, len(payload)]) + payload


HARNESSES: list[Harness] = []


@pytest.fixture(autouse=True)
async def _end_connections() -> AsyncIterator[None]:
    """Whatever a test left open is lost at its end, so no endpoint task outlives it."""
    yield
    while HARNESSES:
        h = HARNESSES.pop()
        if h.protocol in h.state.connections:
            h.protocol.connection_lost(None)
        await h.task_done()


class Harness:
    """One protocol on a fake transport, its endpoint on every path of `paths`."""

    def __init__(
        self,
        endpoint: Endpoint,
        paths: tuple[str, ...] = ("/ws/visitor",),
        send_stall_s: float = 30.0,
        **config: Any,
    ) -> None:
        settings = {"ws_max_size": 65536, "ws_ping_interval": None, "ws_ping_timeout": None}
        self.app = SimpleNamespace(state=SimpleNamespace())
        cls = socket_protocol(
            self.app,
            dict.fromkeys(paths, endpoint),
            send_buffer_bytes=4096,
            send_stall_s=send_stall_s,
        )
        self.state = ServerState()
        self.protocol = cls(SimpleNamespace(**{**settings, **config}), self.state, {})
        self.transport = FakeTransport()
        self.transport.lost = self.protocol.connection_lost
        self.protocol.connection_made(self.transport)
        HARNESSES.append(self)

    def feed(self, data: bytes) -> None:
        self.protocol.data_received(data)

    async def until(self, condition: Callable[[], bool], timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await next_loop_turn()

    async def task_done(self) -> None:
        await self.until(lambda: not self.state.tasks)


def echo(events: list[dict[str, Any]]) -> Endpoint:
    """Accepts, then echoes each text upper-cased, until disconnected."""

    async def endpoint(ws: Any) -> None:
        await ws.accept()
        while True:
            event = await ws.receive()
            events.append(event)
            if event["type"] == "websocket.disconnect":
                return
            if event.get("text") == "close me":
                await ws.close(4408, "too slow")
            elif "text" in event:
                await ws.send_text(event["text"].upper())

    return endpoint


async def accepted(**config: Any) -> tuple[Harness, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    h = Harness(echo(events), **config)
    assert h.transport.high_water == 4096  # send_buffer_bytes, set on the transport
    h.feed(HANDSHAKE)
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == ACCEPTED
    return h, events


async def closed_with(h: Harness, events: list[dict[str, Any]], data: bytes) -> tuple[int, str]:
    """Feed `data`; the close frame the server answered with, after the endpoint heard it."""
    h.feed(data)
    assert h.transport.closing
    out = h.transport.take()
    assert out[0] == 0x88
    code, reason = struct.unpack("!H", out[2:4])[0], out[4:].decode()
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": code, "reason": reason}
    return code, reason


# -- the handshake -------------------------------------------------------------------------


async def test_endpoint_sees_headers_query_and_cookies_not_the_handshake_headers() -> None:
    seen: dict[str, Any] = {}

    async def endpoint(ws: Any) -> None:
        seen.update(
            origin=ws.headers.get("Origin"),
            host=ws.headers.get("host"),
            key=ws.headers.get("sec-websocket-key"),
            site=ws.query_params.get("site"),
            x=ws.query_params.get("x"),
            cookies=ws.cookies,
            app=ws.app,
            state=ws.application_state,
        )
        await ws.accept()
        seen["after"] = ws.application_state

    h = Harness(endpoint)
    h.feed(HANDSHAKE)
    await h.task_done()
    assert seen == {
        "origin": "https://shop.example.com",
        "host": "127.0.0.1:8000",
        "key": None,  # read by the handshake only, not kept for the socket's life
        "site": "sk_1",
        "x": " y",
        "cookies": {"a": "1", "beckon_session": "s2"},
        "app": h.app,
        "state": WebSocketState.CONNECTING,
        "after": WebSocketState.CONNECTED,
    }
    # The endpoint returned without closing: a normal close, then the connection ends.
    assert h.transport.take() == ACCEPTED + server_close(1000)
    assert h.transport.closing


async def test_request_split_across_reads_and_frames_right_behind_it() -> None:
    h, events = await accepted()
    h2 = Harness(echo(events2 := []))
    data = HANDSHAKE + client_frame(Opcode.TEXT, b"early")
    for i in range(len(data)):  # one byte at a time
        h2.feed(data[i : i + 1])
    await h2.until(lambda: len(events2) == 1)
    assert events2 == [{"type": "websocket.receive", "text": "early"}]
    assert h2.transport.take() == ACCEPTED + b"\x81\x05EARLY"
    assert not events and not h.transport.out


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (HANDSHAKE.replace(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"), b"426"),
        (HANDSHAKE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"c2hvcnQ="), b"400"),
        (HANDSHAKE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"not base64!"), b"400"),
        (HANDSHAKE.replace(b"GET ", b"POST "), b"400"),
        (HANDSHAKE.replace(b"Upgrade: websocket\r\n", b""), b"400"),
        (HANDSHAKE.replace(b"keep-alive, Upgrade", b"keep-alive"), b"400"),
        (HANDSHAKE.replace(b"Host: 127.0.0.1:8000", b"no colon here"), b"400"),
        (HANDSHAKE.replace(b"/ws/visitor", b"/ws/nothing"), b"403"),
        (b"GET /ws/visitor HTTP/1.1\r\nX: " + b"y" * 20_000, b"431"),
    ],
)
async def test_bad_handshakes_get_an_http_error_and_no_endpoint(
    request_bytes: bytes, status: bytes
) -> None:
    ran: list[bool] = []

    async def endpoint(ws: Any) -> None:
        ran.append(True)

    h = Harness(endpoint)
    h.feed(request_bytes)
    out = h.transport.take()
    assert out.startswith(b"HTTP/1.1 " + status + b" ")
    assert h.transport.closing and not h.state.tasks and not ran
    if status == b"426":
        assert b"sec-websocket-version: 13\r\n" in out


async def test_close_before_accept_is_http_403() -> None:
    received: list[dict[str, Any]] = []

    async def endpoint(ws: Any) -> None:
        await ws.close(4401)
        received.append(await ws.receive())

    h = Harness(endpoint)
    h.feed(HANDSHAKE)
    await h.task_done()
    assert h.transport.take().startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert h.transport.closing
    assert received == [{"type": "websocket.disconnect", "code": 1006}]


async def test_endpoint_failure_is_500_before_accept_and_1011_after() -> None:
    async def before(ws: Any) -> None:
        raise ValueError("boom")

    async def after(ws: Any) -> None:
        await ws.accept()
        raise ValueError("boom")

    h = Harness(before)
    h.feed(HANDSHAKE)
    await h.task_done()
    assert h.transport.take().startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    h = Harness(after)
    h.feed(HANDSHAKE)
    await h.task_done()
    assert h.transport.take() == ACCEPTED + server_close(1011, "internal error")
    assert h.transport.closing


# -- messages --------------------------------------------------------------------------------


async def test_messages_in_order_and_reads_paused_until_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ws_protocol, "READ_PAUSE_AT", 3)
    h, events = await accepted()
    h.feed(b"".join(client_frame(Opcode.TEXT, f"m{i}".encode()) for i in range(4)))
    assert h.transport.reading is False  # paused: more than 3 wait for the endpoint
    await h.until(lambda: len(events) == 4)
    assert [e.get("text") for e in events] == ["m0", "m1", "m2", "m3"]
    assert h.transport.take() == b"\x81\x02M0\x81\x02M1\x81\x02M2\x81\x02M3"
    assert h.transport.reading is True


async def test_fragments_are_one_message_and_pings_between_them_are_answered() -> None:
    h, events = await accepted()
    h.feed(
        client_frame(Opcode.TEXT, "hé".encode()[:2], fin=False)
        + client_frame(Opcode.PING, b"hb")
        + client_frame(Opcode.CONT, "hé".encode()[2:] + b"llo")
    )
    await h.until(lambda: len(events) == 1)
    assert events == [{"type": "websocket.receive", "text": "héllo"}]
    await h.until(lambda: len(h.transport.out) > 4)
    assert h.transport.take() == b"\x8a\x02hb" + b"\x81\x06H\xc3\x89LLO"


async def test_long_and_binary_messages() -> None:
    h, events = await accepted()
    text = "x" * 300
    h.feed(client_frame(Opcode.TEXT, text.encode()) + client_frame(Opcode.BINARY, b"\x00\xff"))
    await h.until(lambda: len(events) == 2)
    assert events == [
        {"type": "websocket.receive", "text": text},
        {"type": "websocket.receive", "bytes": b"\x00\xff"},
    ]
    assert h.transport.take() == b"\x81\x7e" + struct.pack("!H", 300) + b"X" * 300


async def test_idle_socket_keeps_no_buffer_queue_or_dict() -> None:
    h, _ = await accepted()
    protocol = h.protocol
    assert protocol._buf is None and protocol._inbox is None and protocol._fragments is None
    assert protocol._waiter is not None  # the endpoint waits in receive()
    assert not hasattr(protocol, "__dict__")


# -- closing ---------------------------------------------------------------------------------


async def test_client_close_is_echoed_and_delivered() -> None:
    h, events = await accepted()
    assert await closed_with(h, events, client_close(1001, "going away")) == (1001, "going away")


async def test_client_close_without_a_code_is_echoed_without_one() -> None:
    h, events = await accepted()
    h.feed(client_frame(Opcode.CLOSE, b""))
    assert h.transport.take() == b"\x88\x00" and h.transport.closing
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1005, "reason": ""}


async def test_server_close_waits_for_the_echo_or_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h, _ = await accepted()
    h.feed(client_frame(Opcode.TEXT, b"close me"))
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == server_close(4408, "too slow")
    assert not h.transport.closing
    h.feed(client_frame(Opcode.TEXT, b"ignored") + client_close(4408, "too slow"))
    assert h.transport.closing and not h.transport.out  # no second close, no echo of text

    monkeypatch.setattr(ws_protocol, "CLOSE_TIMEOUT_S", 0.01)
    h, _ = await accepted()
    h.feed(client_frame(Opcode.TEXT, b"close me"))
    await h.until(lambda: h.transport.closing)  # the peer never answered
    assert h.transport.take() == server_close(4408, "too slow")


async def test_lost_connection_delivers_1006_and_send_then_fails() -> None:
    h, events = await accepted()
    h.protocol.connection_lost(None)
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1006}
    assert await h.protocol.receive() == events[-1]  # and again, never a hang
    with pytest.raises(WebSocketDisconnect):
        await h.protocol.send_text("late")
    assert h.state.connections == set()


async def test_shutdown_tells_endpoint_and_peer_1012() -> None:
    h, events = await accepted()
    h.protocol.shutdown()
    assert not h.transport.reading
    await h.task_done()
    assert h.transport.take() == server_close(1012) and h.transport.closing
    assert events[-1] == {"type": "websocket.disconnect", "code": 1012}


async def test_shutdown_lets_the_frame_in_hand_answer_then_closes_1012() -> None:
    release = asyncio.Event()
    handled: list[Any] = []

    async def endpoint(ws: Any) -> None:
        await ws.accept()
        while True:
            event = await ws.receive()
            if event["type"] == "websocket.disconnect":
                handled.append(event["code"])
                return
            handled.append(event["text"])
            await release.wait()  # e.g. the message's commit
            await ws.send_text("ack " + event["text"])

    h = Harness(endpoint)
    h.feed(HANDSHAKE)
    await h.until(lambda: bool(h.transport.out))
    h.transport.take()
    h.feed(client_frame(Opcode.TEXT, b"one") + client_frame(Opcode.TEXT, b"two"))
    await h.until(lambda: handled == ["one"])
    h.protocol.shutdown()
    assert h.transport.out == b"" and not h.transport.closing  # "one" is still in hand
    h.feed(client_frame(Opcode.TEXT, b"three"))  # already on its way: dropped too
    release.set()
    await h.task_done()
    # "two" and "three" got no answer: the client sends them again to another node.
    assert handled == ["one", 1012]
    assert h.transport.take() == b"\x81\x07ack one" + server_close(1012)
    assert h.transport.closing


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (client_frame(Opcode.TEXT, b"unmasked", mask=False), 1002),
        (client_frame(Opcode.TEXT, b"x", rsv1=True), 1002),
        (client_frame(Opcode.CONT, b"x"), 1002),
        (client_frame(Opcode.TEXT, b"a", fin=False) + client_frame(Opcode.TEXT, b"b"), 1002),
        (client_frame(Opcode.PING, b"x", fin=False), 1002),
        (client_frame(Opcode.PING, b"x" * 126), 1002),
        (bytes([0x83, 0x80]) + b"\x00" * 4, 1002),  # reserved opcode 3
        (client_frame(Opcode.CLOSE, b"\x03"), 1002),  # one-byte close payload
        (client_close(1005), 1002),  # a code no peer may send
        (client_close(2999), 1002),
        (client_frame(Opcode.TEXT, b"\xff\xfe"), 1007),
        (client_frame(Opcode.CLOSE, b"\x03\xe8\xff"), 1007),
        (b"\x81\xff" + struct.pack("!Q", 70_000) + b"\x00" * 4, 1009),  # header alone says so
        (
            client_frame(Opcode.TEXT, b"a" * 40_000, fin=False)
            + client_frame(Opcode.CONT, b"b" * 30_000),
            1009,
        ),
    ],
)
async def test_protocol_errors_close_with_their_code(data: bytes, code: int) -> None:
    h, events = await accepted()
    got, _reason = await closed_with(h, events, data)
    assert got == code


async def test_oversize_reason_names_the_sizes() -> None:
    h, events = await accepted()
    reason = "frame with 70000 bytes exceeds limit of 65536 bytes"
    data = b"\x81\xff" + struct.pack("!Q", 70_000) + b"\x00" * 4
    assert await closed_with(h, events, data) == (1009, reason)


# -- flow control and keepalive ----------------------------------------------------------


async def test_send_waits_while_writing_is_paused() -> None:
    h, _ = await accepted()
    h.protocol.pause_writing()
    first = asyncio.ensure_future(h.protocol.send_text("a"))
    second = asyncio.ensure_future(h.protocol.send_text("b"))
    await next_loop_turn()
    assert not first.done() and not second.done()
    h.protocol.resume_writing()
    await asyncio.gather(first, second)
    assert h.transport.take() == b"\x81\x01a\x81\x01b"
    h.protocol.pause_writing()
    blocked = asyncio.ensure_future(h.protocol.send_text("c"))
    await next_loop_turn()
    h.protocol.connection_lost(None)  # asyncio never resumes a lost transport
    with pytest.raises(WebSocketDisconnect):
        await blocked


async def test_keepalive_ping_answered_then_unanswered_closes_1011() -> None:
    h, _ = await accepted(ws_ping_interval=0.01, ws_ping_timeout=0.05)
    await h.until(lambda: bool(h.transport.out))
    ping = h.transport.take()
    assert ping[:2] == b"\x89\x04"
    h.feed(client_frame(Opcode.PONG, b"stale"))  # not the ping in flight: ignored
    h.feed(client_frame(Opcode.PONG, ping[2:]))  # answered: the next ping follows
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take()[:2] == b"\x89\x04"
    await h.until(lambda: h.transport.closing)  # not answered
    assert h.transport.take() == server_close(1011, "keepalive ping timeout")


# -- a peer that does not read ------------------------------------------------------------


async def test_pings_while_writing_is_paused_get_one_pong_for_the_latest() -> None:
    h, _ = await accepted()
    h.protocol.pause_writing()
    assert h.transport.reading is False  # the peer does not read: we stop reading it
    h.feed(b"".join(client_frame(Opcode.PING, f"p{i}".encode()) for i in range(1000)))
    assert h.transport.out == b""  # nothing buffered per ping
    h.protocol.resume_writing()
    assert h.transport.take() == b"\x8a\x04p999"
    assert h.transport.reading is True
    h.feed(client_frame(Opcode.PING, b"now"))  # writable again: answered at once
    assert h.transport.take() == b"\x8a\x03now"


async def test_reading_resumes_with_writing_only_once_the_endpoint_took_its_messages() -> None:
    h, events = await accepted()
    h.protocol.pause_writing()
    h.feed(client_frame(Opcode.TEXT, b"a") + client_frame(Opcode.TEXT, b"b"))
    await h.until(lambda: len(events) == 1)  # the echo of "a" waits for writing
    h.protocol.resume_writing()
    assert h.transport.reading is False  # "b" still waits for the endpoint
    await h.until(lambda: len(events) == 2)
    await h.until(lambda: h.transport.reading)
    assert h.transport.take() == b"\x81\x01A\x81\x01B"


async def test_peer_that_does_not_read_is_aborted_1008_after_the_stall_deadline() -> None:
    h, events = await accepted(send_stall_s=0.05)
    resumed, _ = await accepted(send_stall_s=0.05)
    h.protocol.pause_writing()
    resumed.protocol.pause_writing()
    resumed.protocol.resume_writing()  # caught up in time: the deadline is disarmed
    h.feed(client_frame(Opcode.PING, b"x"))
    await h.task_done()
    # No close frame: it would only queue behind what the peer never read.
    assert h.transport.aborted and h.transport.take() == b""
    assert events[-1] == {"type": "websocket.disconnect", "code": 1008, "reason": "not reading"}
    assert not resumed.transport.closing and resumed.protocol._stall is None
    with pytest.raises(WebSocketDisconnect):
        await h.protocol.send_text("late")


async def test_a_close_stuck_behind_unread_output_is_aborted_too() -> None:
    h, events = await accepted(send_stall_s=0.05)
    h.feed(client_frame(Opcode.TEXT, b"close me"))  # our close waits for the echo...
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == server_close(4408, "too slow")
    h.protocol.pause_writing()  # ...behind output the peer does not read
    await h.until(lambda: h.transport.aborted)
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1008, "reason": "not reading"}


async def test_while_writing_is_paused_the_stall_deadline_not_the_keepalive_decides() -> None:
    h, events = await accepted(ws_ping_interval=0.05, ws_ping_timeout=0.01, send_stall_s=0.5)
    h.protocol.pause_writing()  # the peer's pong could not even be read now
    await h.until(lambda: h.transport.aborted)
    assert h.transport.take() == b""  # no keepalive ping went out while paused
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1008, "reason": "not reading"}


async def test_no_stall_deadline_when_it_is_zero() -> None:
    h, _ = await accepted(send_stall_s=0)
    h.protocol.pause_writing()
    assert h.protocol._stall is None and not h.transport.closing


# -- what it relies on in uvicorn --------------------------------------------------------


def test_uvicorn_version_is_the_pinned_minor() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("uvicorn"))
    low, high = re.fullmatch(r"uvicorn\[standard\]>=(\d+\.\d+),<(\d+\.\d+)", pin).groups()  # type: ignore[union-attr]
    installed = tuple(int(p) for p in version("uvicorn").split(".")[:2])
    assert tuple(map(int, low.split("."))) <= installed < tuple(map(int, high.split(".")))


@pytest.mark.parametrize("module", [httptools_impl, h11_impl])
def test_uvicorn_hands_over_the_upgrade_as_this_class_expects(module: Any) -> None:
    """Built with keyword config/server_state/app_state, given the transport, then the
    request re-serialized as bytes; `server_state` has `connections` and `tasks`."""
    source = inspect.getsource(module)
    handoff = source[source.index("def handle_websocket_upgrade") :]
    handoff = handoff[: handoff.index("\n    def ", 1)]
    assert re.search(
        r"self\.ws_protocol_class\(\s*(#[^\n]*)?\s*config=self\.config,\s*"
        r"server_state=self\.server_state,\s*app_state=self\.app_state,?\s*\)",
        handoff,
    )
    assert "protocol.connection_made(self.transport)" in handoff
    assert "protocol.data_received(" in handoff
    assert {"connections", "tasks"} <= set(vars(ServerState()))
    parameters = list(inspect.signature(ChatSocketProtocol.__init__).parameters)
    assert parameters[:4] == ["self", "config", "server_state", "app_state"]


async def test_a_close_while_shutting_down_does_not_wait_for_an_echo() -> None:
    # Reading has stopped: the peer's echo could never be read, so no 10 s wait.
    closed: list[int] = []

    async def endpoint(ws: Any) -> None:
        await ws.accept()
        event = await ws.receive()
        closed.append(event["code"])
        await ws.close(4408, "too slow")

    h = Harness(endpoint)
    h.feed(HANDSHAKE)
    await h.until(lambda: bool(h.transport.out))
    h.transport.take()
    h.protocol.shutdown()
    await h.task_done()
    assert closed == [1012]
    assert h.transport.take() == server_close(4408, "too slow") and h.transport.closing
