"""server/ws_protocol.py: bytes in, exact bytes and ASGI events out, for uvicorn's
sans-I/O protocol and the lean subclass alike (the subclass must behave the same), plus
what the subclass relies on in uvicorn's class (fails loudly on a uvicorn upgrade)."""

from __future__ import annotations

import asyncio
import inspect
import re
import struct
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request

from server.ws_protocol import LeanWebSocketProtocol, _Inbox, _WriteGate
from tests.waiting import next_loop_turn

HANDSHAKE = (
    b"GET /ws/visitor?site=sk_1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nOrigin: https://shop.example.com\r\n\r\n"
)
ACCEPTED = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)
PROTOCOLS = [WebSocketsSansIOProtocol, LeanWebSocketProtocol]
App = Callable[[Any, Any, Any], Awaitable[None]]


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closing = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def close(self) -> None:
        self.closing = True

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


def client_frame(opcode: Opcode, data: bytes) -> bytes:
    return Frame(opcode, data).serialize(mask=True)


def client_close(code: int, reason: str = "") -> bytes:
    return client_frame(Opcode.CLOSE, Close(code, reason).serialize())


def server_close(code: int, reason: str = "") -> bytes:
    payload = struct.pack("!H", code) + reason.encode()
    return bytes([0x88, len(payload)]) + payload


HARNESSES: list[Harness] = []


@pytest.fixture(autouse=True)
async def _end_connections() -> AsyncIterator[None]:
    """Whatever a test left open is lost at its end, so no app task outlives it."""
    yield
    while HARNESSES:
        h = HARNESSES.pop()
        if not h.protocol.disconnected:
            h.protocol.connection_lost(None)
        await h.task_done()


class Harness:
    """One protocol on a fake transport; the app's received events are recorded."""

    def __init__(self, cls: type[WebSocketsSansIOProtocol], app: App, **config: Any) -> None:
        settings = {"ws_max_size": 65536, "ws_ping_interval": None, **config}
        cfg = Config(app=app, ws=cls, lifespan="off", log_config=None, **settings)
        cfg.load()
        self.state = ServerState()
        self.protocol = cls(cfg, self.state, {})
        self.transport = FakeTransport()
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


def echo_app(events: list[dict[str, Any]]) -> App:
    """Accepts, then echoes each text upper-cased, until disconnected."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        events.append(await receive())
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            events.append(event)
            if event["type"] == "websocket.disconnect":
                return
            if event["text"] == "close me":
                await send({"type": "websocket.close", "code": 4408, "reason": "too slow"})
            else:
                await send({"type": "websocket.send", "text": event["text"].upper()})

    return app


async def accepted(cls: type[WebSocketsSansIOProtocol], **config: Any) -> tuple[Harness, list]:
    events: list[dict[str, Any]] = []
    h = Harness(cls, echo_app(events), **config)
    h.feed(HANDSHAKE)
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == ACCEPTED
    return h, events


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_messages_in_order_and_reads_paused_until_received(cls) -> None:  # type: ignore[no-untyped-def]
    h, events = await accepted(cls)
    h.feed(b"".join(client_frame(Opcode.TEXT, f"m{i}".encode()) for i in range(3)))
    assert h.transport.reading is False  # paused until the app has taken what is queued
    await h.until(lambda: len(events) == 4)
    assert [e.get("text") for e in events] == [None, "m0", "m1", "m2"]
    assert h.transport.take() == b"\x81\x02M0\x81\x02M1\x81\x02M2"
    assert h.transport.reading is True


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_oversize_frame_closes_1009_and_the_app_is_told(cls) -> None:  # type: ignore[no-untyped-def]
    h, events = await accepted(cls)
    h.feed(b"\x81\xff" + struct.pack("!Q", 70_000) + b"\x00\x00\x00\x00")
    reason = "frame with 70000 bytes exceeds limit of 65536 bytes"
    assert h.transport.take() == server_close(1009, reason)
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1009, "reason": reason}
    assert h.transport.closing


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_client_close_is_echoed_and_delivered(cls) -> None:  # type: ignore[no-untyped-def]
    h, events = await accepted(cls)
    h.feed(client_close(1001, "going away"))
    assert h.transport.take() == server_close(1001, "going away")
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1001, "reason": "going away"}


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_server_close_waits_for_the_echo(cls) -> None:  # type: ignore[no-untyped-def]
    h, _ = await accepted(cls)
    h.feed(client_frame(Opcode.TEXT, b"close me"))
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take() == server_close(4408, "too slow")
    assert not h.transport.closing
    h.feed(client_close(4408, "too slow"))
    assert h.transport.closing


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_lost_connection_delivers_1005(cls) -> None:  # type: ignore[no-untyped-def]
    h, events = await accepted(cls)
    h.protocol.connection_lost(None)
    await h.task_done()
    assert events[-1] == {"type": "websocket.disconnect", "code": 1005}


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_close_before_accept_is_http_403(cls) -> None:  # type: ignore[no-untyped-def]
    received: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.append(await receive())
        await send({"type": "websocket.close", "code": 1000})
        received.append(await receive())

    h = Harness(cls, app)
    h.feed(HANDSHAKE)
    await h.task_done()
    assert h.transport.take().startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert received == [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1006},
    ]
    assert h.transport.closing


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_send_waits_while_writing_is_paused(cls) -> None:  # type: ignore[no-untyped-def]
    h, _ = await accepted(cls)
    h.protocol.pause_writing()
    first = asyncio.ensure_future(h.protocol.send({"type": "websocket.send", "text": "a"}))
    second = asyncio.ensure_future(h.protocol.send({"type": "websocket.send", "text": "b"}))
    await next_loop_turn()
    assert not first.done() and not second.done()
    h.protocol.resume_writing()
    await asyncio.gather(first, second)
    assert h.transport.take() == b"\x81\x01a\x81\x01b"
    h.protocol.pause_writing()
    blocked = asyncio.ensure_future(h.protocol.send({"type": "websocket.send", "text": "c"}))
    await next_loop_turn()
    h.protocol.connection_lost(None)  # asyncio never resumes a lost transport
    with pytest.raises(ClientDisconnected):
        await blocked


@pytest.mark.parametrize("cls", PROTOCOLS)
async def test_unanswered_keepalive_ping_closes_1011(cls) -> None:  # type: ignore[no-untyped-def]
    h, _ = await accepted(cls, ws_ping_interval=0.01, ws_ping_timeout=0.05)
    await h.until(lambda: bool(h.transport.out))
    ping = h.transport.take()
    assert ping[:2] == b"\x89\x04"
    h.feed(client_frame(Opcode.PONG, ping[2:]))  # answered: the next ping follows
    await h.until(lambda: bool(h.transport.out))
    assert h.transport.take()[:2] == b"\x89\x04"
    await h.until(lambda: h.transport.closing)  # not answered
    assert h.transport.take() == server_close(1011, "keepalive ping timeout")


async def test_lean_protocol_keeps_no_handshake_objects() -> None:
    seen: list[Request] = []

    class Spy(LeanWebSocketProtocol):
        def handle_connect(self, event: Request) -> None:
            seen.append(event)
            super().handle_connect(event)

    h, _ = await accepted(Spy)
    protocol = h.protocol
    assert protocol.request is None and protocol.response is None
    assert len(seen[0].headers) == 0  # websockets' parser still holds the Request
    assert (b"Origin", b"https://shop.example.com") in protocol.scope["headers"]
    assert isinstance(protocol.queue, _Inbox) and isinstance(protocol.writable, _WriteGate)
    assert protocol.queue._items is None  # idle: no deque, only the app's waiter
    assert protocol.queue._waiter is not None and protocol.writable._waiters is None
    assert vars(protocol) == {}  # every attribute of the parent is in a slot


async def test_inbox_order_cancellation_and_one_consumer() -> None:
    inbox = _Inbox()
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "a"})
    assert await inbox.get() == {"type": "websocket.connect"}
    assert await inbox.get() == {"type": "websocket.receive", "text": "a"}
    assert inbox.empty() and inbox._items is None

    waiting = asyncio.ensure_future(inbox.get())
    await next_loop_turn()
    with pytest.raises(RuntimeError, match=r"^another task is already waiting in receive\(\)$"):
        await inbox.get()
    inbox.put_nowait({"type": "websocket.receive", "text": "b"})
    waiting.cancel()  # woken but cancelled before it ran: the event stays queued
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await inbox.get() == {"type": "websocket.receive", "text": "b"}
    assert inbox._waiter is None


async def test_write_gate_releases_every_waiter_and_forgets_cancelled_ones() -> None:
    gate = _WriteGate()
    assert await gate.wait() is True
    gate.clear()
    one, two = asyncio.ensure_future(gate.wait()), asyncio.ensure_future(gate.wait())
    gone = asyncio.ensure_future(gate.wait())
    await next_loop_turn()
    gone.cancel()
    await next_loop_turn()
    assert gate._waiters is not None and len(gate._waiters) == 2
    gate.set()
    assert await asyncio.gather(one, two) == [True, True]
    assert gate._waiters is None


# What the subclass relies on in uvicorn's class. A uvicorn upgrade that changes any of
# this must fail here, not in production.


def _parent_source() -> str:
    return inspect.getsource(WebSocketsSansIOProtocol)


def test_uvicorn_version_is_the_pinned_minor() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("uvicorn"))
    low, high = re.fullmatch(r"uvicorn\[standard\]>=(\d+\.\d+),<(\d+\.\d+)", pin).groups()  # type: ignore[union-attr]
    installed = tuple(int(p) for p in version("uvicorn").split(".")[:2])
    assert tuple(map(int, low.split("."))) <= installed < tuple(map(int, high.split(".")))


def test_parent_uses_queue_and_writable_only_through_what_the_lean_ones_offer() -> None:
    source = _parent_source()
    assert set(re.findall(r"self\.queue\.(\w+)", source)) == {"put_nowait", "get", "empty"}
    assert set(re.findall(r"self\.writable\.(\w+)", source)) == {"set", "clear", "wait"}
    # Never used otherwise (passed on, compared...): only assigned, once, in __init__.
    assert re.findall(r"self\.queue\b(?!\.)[^\n]*", source) == [
        "self.queue: asyncio.Queue[ASGIReceiveEvent] = asyncio.Queue()"
    ]
    assert re.findall(r"self\.writable\b(?!\.)[^\n]*", source) == [
        "self.writable = asyncio.Event()"
    ]


def test_parent_reads_the_handshake_objects_only_where_the_lean_class_drops_them() -> None:
    methods = {
        name: inspect.getsource(fn)
        for name, fn in vars(WebSocketsSansIOProtocol).items()
        if inspect.isfunction(fn)
    }
    assert {"handle_connect", "send", "receive"} <= set(methods)
    assert "self.request = event" in methods["handle_connect"]
    assert "self.response = self.conn.accept(event)" in methods["handle_connect"]
    assert [n for n, src in methods.items() if "self.request" in src] == ["handle_connect"]
    assert sorted(n for n, src in methods.items() if "self.response" in src) == [
        "handle_connect",
        "send",
    ]
    signature = inspect.signature(WebSocketsSansIOProtocol.__init__)
    assert list(signature.parameters) == ["self", "config", "server_state", "app_state", "_loop"]


def test_parent_attributes_are_exactly_the_lean_slots() -> None:
    """A new attribute in uvicorn's class would land in a per-socket dict again."""
    assigned = re.findall(r"self\.(\w+)(?:\s*:[^=\n]+)?\s*=(?!=)", _parent_source())
    assert set(assigned) == set(LeanWebSocketProtocol.__slots__)
    assert not set(LeanWebSocketProtocol.__slots__) & set(vars(WebSocketsSansIOProtocol))
