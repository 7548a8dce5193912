"""The chat sockets' own WebSocket protocol: RFC 6455 server side, no ASGI in between.

uvicorn parses the HTTP request and, on `Upgrade: websocket`, hands the connection to
the class given as `ws=` (`socket_protocol(app, endpoints)` builds it). From there this
module does the handshake, the framing and the closing handshake itself, and the
endpoint gets the protocol object as its socket: `accept`, `receive`, `send_text`,
`close`, `headers`, `query_params`, `cookies`, `app`, `application_state` — the part of
Starlette's `WebSocket` the endpoints use, so they run unchanged under any ASGI server
through the app's `WebSocketRoute`s too.

Why not uvicorn's protocol plus the `websockets` library: a chat node's sockets are
mostly idle, and every one kept uvicorn's ASGI scope and event dicts, the library's
protocol object, parser generators and handshake objects, and every frame went through
several layers of objects in both directions. Here an idle socket is one object with
slots, a dict of the headers the endpoints read, the endpoint's task, and an entry in its
node's keepalive wheel (server/ws_keepalive.py: one loop timer for every socket's ping
and pong deadlines); a frame is parsed and written in place.

What it does (and what it refuses):
- handshake (parsed in `server/ws_handshake.py`): GET, `Upgrade: websocket`,
  `Connection: upgrade`, `Sec-WebSocket-Version: 13` (else 426 naming 13) and a 16-byte
  base64 key (else 400); no extension and no subprotocol is negotiated (chat frames are
  ~200 bytes: per-socket zlib state costs far more memory than it saves); a path
  without an endpoint, or a close before `accept`, is HTTP 403, as Starlette does;
- frames: client frames must be masked, reserved bits clear, control frames final and
  ≤ 125 bytes, continuation only inside a fragmented message (1002 otherwise); a message
  over `ws_max_size` closes 1009 as soon as its header says so; text must be UTF-8 (1007);
- close: a peer's close is echoed with its code and the transport closed; the server's
  own close waits up to `CLOSE_TIMEOUT_S` for the echo; codes outside RFC 6455's
  allowed ranges close 1002;
- keepalive: a ping every `ws_ping_interval`, the connection dropped (1011) when the pong
  does not come within `ws_ping_timeout` (uvicorn's settings); both deadlines are kept
  by the loop's keepalive wheel, so each may pass up to `WHEEL_TICK_S` (1 s) late;
- flow control: reading pauses while `READ_PAUSE_AT` messages wait for the endpoint;
  `send_text` waits while the transport's write buffer is over its high-water mark
  (`send_buffer_bytes`);
- a peer that does not read: while the write buffer is over its high-water mark, reading
  pauses too (the peer's own buffers take the back-pressure) and pongs are coalesced —
  one pending pong, for the latest ping (RFC 6455 5.5.3) — so what such a peer costs is
  bounded; if the buffer stays over the mark for `send_stall_s`, the endpoint hears 1008
  and the connection is aborted (a close frame would only queue behind what the peer
  never read, so the buffer is dropped with the connection);
- shutdown: uvicorn's `shutdown()` stops reading, tells the endpoint (1012), lets it
  finish the frame in hand (its answer is written), then closes with 1012.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser
from starlette.websockets import WebSocketDisconnect, WebSocketState

from server.ids import new_id
from server.logs import connection_id
from server.ws_handshake import (
    MAX_REQUEST_BYTES,
    HandshakeRefused,
    Headers,
    accept_value,
    http_response,
    parse_request,
)
from server.ws_keepalive import KeepaliveWheel, keepalive_wheel

try:  # C; `websockets` (a uvicorn[standard] dependency) ships it
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the pure fallback

    def apply_mask(data: bytes, mask: bytes) -> bytes:
        n = len(data)
        if not n:
            return b""
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


__all__ = ["ChatSocketProtocol", "socket_protocol"]

log = logging.getLogger("beckon.ws")

CLOSE_TIMEOUT_S = 10.0
READ_PAUSE_AT = 32  # messages waiting for the endpoint before reading pauses
SEND_BUFFER_BYTES = 64 * 1024  # the write buffer's high-water mark (asyncio's default)
SEND_STALL_S = 20.0  # over the high-water mark this long: the peer is not reading
CLOSE_NOT_READING = 1008  # RFC 6455 7.4.1 policy violation: it did not read what we sent
# RFC 6455 7.4: what a peer may send in a close frame.
ALLOWED_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_SMALL_TEXT_HEADERS = [bytes((0x80 | OP_TEXT, n)) for n in range(126)]

Endpoint = Callable[[Any], Awaitable[None]]


def frame_header(first_byte: int, length: int) -> bytes:
    """An unmasked (server) frame header."""
    if length < 126:
        return bytes((first_byte, length))
    if length < 65536:
        return struct.pack("!BBH", first_byte, 126, length)
    return struct.pack("!BBQ", first_byte, 127, length)


def close_frame(code: int | None, reason: str = "") -> bytes:
    if code is None:  # 1005: the peer's close had no code; echo none
        return b"\x88\x00"
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes((0x80 | OP_CLOSE, len(payload))) + payload


class ChatSocketProtocol(asyncio.Protocol):
    """One WebSocket connection, and the socket its endpoint reads and writes.

    Built by `socket_protocol`, which sets `app` and `endpoints`; uvicorn instantiates
    it on an upgrade with its config and server state.
    """

    app: Any = None
    endpoints: Mapping[str, Endpoint] = {}
    send_buffer_bytes: int = SEND_BUFFER_BYTES
    send_stall_s: float = SEND_STALL_S

    __slots__ = (
        "_accept",
        "_buf",
        "_close_sent",
        "_config",
        "_connections",
        "_disconnect",
        "_draining",
        "_fragment_op",
        "_fragments",
        "_fragments_size",
        "_headers",
        "_inbox",
        "_keepalive_at",
        "_opened",
        "_ping",
        "_pong",
        "_query",
        "_read_paused",
        "_stall",
        "_tasks",
        "_timer",
        "_waiter",
        "_wheel",
        "_write_paused",
        "_write_waiters",
        "application_state",
        "transport",
    )

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any] | None = None,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config = config  # ws_max_size, ws_ping_interval, ws_ping_timeout
        self._connections: set[Any] = server_state.connections
        self._tasks: set[asyncio.Task[None]] = server_state.tasks
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.application_state = WebSocketState.CONNECTING
        self._opened = False  # the upgrade request has been read
        self._accept: bytes | None = None
        self._headers = Headers()
        self._query = ""
        self._buf: bytearray | None = None  # unparsed bytes; None on an idle socket
        self._inbox: deque[dict[str, Any]] | None = None  # None while nothing waits
        self._waiter: asyncio.Future[None] | None = None
        self._disconnect: dict[str, Any] | None = None
        self._fragments: list[bytes] | None = None
        self._fragment_op = 0
        self._fragments_size = 0
        self._close_sent = False
        self._draining = False  # shutting down: the endpoint's return closes with 1012
        # Reading is paused while READ_PAUSE_AT messages wait (until the endpoint has
        # taken them all) and while writing is paused (until it resumes).
        self._read_paused = False
        self._write_paused = False
        self._write_waiters: list[asyncio.Future[None]] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the close timeout
        # The pending ping or pong deadline: its bucket in the loop's keepalive wheel.
        self._wheel: KeepaliveWheel | None = None
        self._keepalive_at: float | None = None
        self._stall: asyncio.TimerHandle | None = None  # armed while writing is paused
        self._ping: bytes | None = None
        self._pong: bytes | None = None  # the one pong waiting for writing to resume

    # -- what the endpoint uses (Starlette's WebSocket names) ------------------------------
    @property
    def headers(self) -> Headers:
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        return QueryParams(self._query)

    @property
    def cookies(self) -> dict[str, str]:
        return cookie_parser(self._headers.get("cookie", ""))

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError("accept() after the socket was accepted or closed")
        if self._disconnect is not None:  # the peer left during the endpoint's first reads
            self.application_state = WebSocketState.DISCONNECTED
            return
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + (self._accept or b"") + b"\r\n\r\n"
        )
        self._accept = None
        self.application_state = WebSocketState.CONNECTED
        self._schedule_ping()

    async def receive(self) -> dict[str, Any]:
        """The next `websocket.receive` event; `websocket.disconnect` once the peer has
        gone (every later call returns it again). Messages that arrived before the close
        come first. Cancelling the wait loses nothing."""
        while not self._inbox:
            if self._disconnect is not None:
                return self._disconnect
            if self._waiter is not None:
                raise RuntimeError("another task is already waiting in receive()")
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        inbox = self._inbox
        event = inbox.popleft()
        if not inbox:
            self._inbox = None
            if self._read_paused and not self._write_paused and not self._draining:
                self._read_paused = False
                self.transport.resume_reading()
        return event

    async def send_text(self, data: str) -> None:
        while self._write_paused:  # connection_lost clears it
            await self._writable()
        if not self.send_text_now(data):
            raise WebSocketDisconnect(1006)

    def send_text_now(self, data: str) -> bool:
        """Write a text message now if the socket takes it without waiting; False (and
        nothing written) while writing is paused or the socket is not open."""
        if (
            self._write_paused
            or self.application_state is not WebSocketState.CONNECTED
            or self.transport.is_closing()
        ):
            return False
        payload = data.encode()
        n = len(payload)
        self.transport.write(
            (_SMALL_TEXT_HEADERS[n] if n < 126 else frame_header(0x80 | OP_TEXT, n)) + payload
        )
        return True

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        state = self.application_state
        if state is WebSocketState.CONNECTING:
            self._refuse(http_response("403 Forbidden"))
            return
        if state is WebSocketState.DISCONNECTED or self._close_sent:
            return
        self.application_state = WebSocketState.DISCONNECTED
        self._close_sent = True
        self._cancel_timer()
        if self.transport.is_closing():
            return
        self.transport.write(close_frame(code, reason or ""))
        if self._draining:  # reading has stopped: no echo could be read
            self.transport.close()
            return
        self._timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT_S, self.transport.close)

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._connections.add(self)
        # Explicit, so the bound is ours (documented), not whatever the loop defaults to.
        self.transport.set_write_buffer_limits(high=self.send_buffer_bytes)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._cancel_timer()
        self._pong = None  # resume_writing (below) also disarms the stall deadline
        self.application_state = WebSocketState.DISCONNECTED
        self._buf = self._fragments = None
        self._tell_endpoint({"type": "websocket.disconnect", "code": 1006})
        # asyncio never resumes a transport lost while paused: release the writers
        # (they then find the socket disconnected).
        self.resume_writing()

    def eof_received(self) -> None:
        return None  # the transport closes itself; connection_lost tells the endpoint

    def pause_writing(self) -> None:
        """The peer is not reading as fast as we write: stop reading it too (what it sends
        would only make us write more), and give it `send_stall_s` to catch up."""
        self._write_paused = True
        if not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()
        if self._stall is None and self.send_stall_s:
            self._stall = asyncio.get_running_loop().call_later(
                self.send_stall_s, self._not_reading
            )

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        pong, self._pong = self._pong, None
        if pong is not None and not self._close_sent and not self.transport.is_closing():
            self.transport.write(frame_header(0x80 | OP_PONG, len(pong)) + pong)
        # (Not while shutting down: reading stopped for good.)
        if self._read_paused and self._inbox is None and not self._draining:
            self._read_paused = False
            self.transport.resume_reading()
        waiters, self._write_waiters = self._write_waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def shutdown(self) -> None:
        """uvicorn is stopping. An open socket reads nothing more (frames not yet handed
        to the endpoint are dropped: the peer has no answer to them and sends them again
        elsewhere); the endpoint hears 1012, finishes the frame in hand, so its ack is
        written, and returns; then `_run` closes with 1012. uvicorn bounds the wait."""
        self._cancel_timer()
        if self.application_state is WebSocketState.CONNECTED and not self._close_sent:
            self._draining = True
            self.transport.pause_reading()
            self._inbox = None
            self._tell_endpoint({"type": "websocket.disconnect", "code": 1012})
            return
        if self.application_state is WebSocketState.CONNECTING:
            self._refuse(http_response("503 Service Unavailable"))
            return
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        if buf is not None:
            buf += data
            data = buf  # type: ignore[assignment]
        if not self._opened:
            data = self._read_request(data)
            if not data:
                return
        end = self._read_frames(data)
        if end >= len(data):
            self._buf = None
        elif data is buf:
            del buf[:end]
        else:
            self._buf = bytearray(data[end:])

    # -- handshake ------------------------------------------------------------------------
    def _read_request(self, data: bytes) -> bytes:
        """Frame bytes after the request (usually none), once the request is whole."""
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > MAX_REQUEST_BYTES:
                self._refuse(http_response("431 Request Header Fields Too Large"))
            elif self._buf is None:
                self._buf = bytearray(data)
            return b""
        try:
            path, query, headers, key = parse_request(bytes(data[:end]))
        except HandshakeRefused as exc:
            self._refuse(exc.response)
            return b""
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            self._refuse(http_response("403 Forbidden"))
            return b""
        self._opened = True
        self._headers, self._query, self._accept = headers, query, accept_value(key)
        task = asyncio.get_running_loop().create_task(self._run(endpoint, path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        rest = bytes(data[end + 4 :])
        self._buf = None
        return rest

    def _refuse(self, response: bytes) -> None:
        self.application_state = WebSocketState.DISCONNECTED
        self._close_sent = True
        self._opened = True  # nothing more is read
        self.transport.write(response)
        self.transport.close()
        self._tell_endpoint({"type": "websocket.disconnect", "code": 1006})

    async def _run(self, endpoint: Endpoint, path: str) -> None:
        # This task's context (and its children's): every line it logs names the socket.
        connection_id.set(new_id("cn"))
        log.debug("socket %s opened", path)
        try:
            await endpoint(self)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("socket endpoint failed")
            if self.application_state is WebSocketState.CONNECTING:
                self._refuse(http_response("500 Internal Server Error"))
            elif not self._close_sent and not self.transport.is_closing():
                self._close_sent = True
                self.transport.write(close_frame(1011, "internal error"))
        if self.application_state is WebSocketState.CONNECTING:
            log.error("socket endpoint returned without accepting or closing")
            self._refuse(http_response("500 Internal Server Error"))
        elif not self._close_sent and not self.transport.is_closing():
            self._close_sent = True
            self.transport.write(close_frame(1012 if self._draining else 1000))
        self.application_state = WebSocketState.DISCONNECTED
        log.debug("socket %s finished", path)
        if self._keepalive_at is not None and not self.transport.is_closing():
            # Our close just went out on a live connection: wait for the peer's echo as
            # close() does, bounded (the keepalive must not stand in for the timeout).
            self._cancel_keepalive()
            self._timer = asyncio.get_running_loop().call_later(
                CLOSE_TIMEOUT_S, self.transport.close
            )
        if not (self._close_sent and self._timer is not None):
            # Not waiting for the peer's echo of our close: done with the connection.
            self._cancel_timer()
            self.transport.close()

    # -- frames ---------------------------------------------------------------------------
    def _read_frames(self, data: bytes) -> int:
        """Handle every whole frame in `data`; the offset where the unread rest starts."""
        max_size = self._config.ws_max_size
        n = len(data)
        i = 0
        while n - i >= 2 and not self.transport.is_closing():
            first, second = data[i], data[i + 1]
            length = second & 0x7F
            start = i + 2
            if length == 126:
                if n - i < 4:
                    break
                length = (data[i + 2] << 8) | data[i + 3]
                start = i + 4
            elif length == 127:
                if n - i < 10:
                    break
                length = int.from_bytes(data[i + 2 : i + 10], "big")
                start = i + 10
            if not second & 0x80:
                self._close_now(1002, "incorrect masking")
                return n
            if length + self._fragments_size > max_size:
                too_big = f"frame with {length} bytes exceeds limit of {max_size} bytes"
                self._close_now(1009, too_big)
                return n
            end = start + 4 + length
            if end > n:
                break
            payload = apply_mask(data[start + 4 : end], data[start : start + 4])
            i = end
            self._frame(first, payload)
        return i

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        final = first & 0x80
        if first & 0x70:
            self._close_now(1002, "reserved bits must be 0")
        elif opcode >= OP_CLOSE:
            if not final or len(payload) > 125:
                self._close_now(1002, "control frames must be final and at most 125 bytes")
            elif opcode == OP_CLOSE:
                self._closed_by_peer(payload)
            elif opcode == OP_PING:
                if self._close_sent:
                    pass
                elif self._write_paused:
                    # One pending pong, for the latest ping (RFC 6455 5.5.3): a peer
                    # that pings and never reads must not make us buffer a pong each.
                    self._pong = payload
                else:
                    self.transport.write(frame_header(0x80 | OP_PONG, len(payload)) + payload)
            elif opcode == OP_PONG:
                if self._ping is not None and payload == self._ping:
                    self._ping = None
                    self._cancel_keepalive()
                    self._schedule_ping()
            else:
                self._close_now(1002, f"invalid opcode {opcode}")
        elif opcode == OP_CONT:
            if self._fragments is None:
                self._close_now(1002, "continuation frame without a message to continue")
                return
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            if final:
                whole = b"".join(self._fragments)
                self._fragments, self._fragments_size = None, 0
                self._message(self._fragment_op, whole)
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._fragments is not None:
                self._close_now(1002, "a new message inside a fragmented one")
            elif final:
                self._message(opcode, payload)
            else:
                self._fragments, self._fragment_op = [payload], opcode
                self._fragments_size = len(payload)
        else:
            self._close_now(1002, f"invalid opcode {opcode}")

    def _message(self, opcode: int, payload: bytes) -> None:
        if self._close_sent or self._draining:
            return  # past our close: discarded, reading goes on for the echo
        if opcode == OP_TEXT:
            try:
                event = {"type": "websocket.receive", "text": payload.decode()}
            except UnicodeDecodeError:
                self._close_now(1007, "invalid UTF-8 in a text message")
                return
        else:
            event = {"type": "websocket.receive", "bytes": bytes(payload)}
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = deque()
        inbox.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(inbox) >= READ_PAUSE_AT and not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()

    def _closed_by_peer(self, payload: bytes) -> None:
        if len(payload) == 1:
            self._close_now(1002, "close frame with a one-byte payload")
            return
        code = int.from_bytes(payload[:2], "big") if payload else 1005
        if payload and code not in ALLOWED_CLOSE_CODES and not 3000 <= code <= 4999:
            self._close_now(1002, f"invalid close code {code}")
            return
        try:
            reason = payload[2:].decode()
        except UnicodeDecodeError:
            self._close_now(1007, "invalid UTF-8 in the close reason")
            return
        # Unless it answers ours: echoed, as RFC 6455 5.5.1 asks.
        self._close_now(code, reason)

    def _close_now(self, code: int, reason: str) -> None:
        """Close with `code` at once, without waiting for an echo: a protocol error, or
        the peer's close answered (1005, no code, is answered without one)."""
        self._cancel_timer()
        if not self._close_sent:
            self._close_sent = True
            self.transport.write(close_frame(None if code == 1005 else code, reason))
        self.application_state = WebSocketState.DISCONNECTED
        self._tell_endpoint({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.close()

    def _tell_endpoint(self, event: dict[str, Any]) -> None:
        if self._disconnect is None:
            self._disconnect = event
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- timers and flow control ----------------------------------------------------------
    def _schedule_ping(self) -> None:
        interval = self._config.ws_ping_interval
        if interval and not self._close_sent:
            self._keepalive_in(interval, self._send_ping)

    def _send_ping(self) -> None:
        self._keepalive_at = None  # the wheel let go of this deadline
        if self._close_sent or self.transport.is_closing():
            return
        if self._write_paused:  # the stall deadline watches this peer now
            self._schedule_ping()
            return
        self._ping = os.urandom(4)
        self.transport.write(b"\x89\x04" + self._ping)
        timeout = self._config.ws_ping_timeout
        if timeout:
            self._keepalive_in(timeout, self._ping_timed_out)
        else:
            self._schedule_ping()

    def _ping_timed_out(self) -> None:
        self._keepalive_at = None
        self._ping = None
        if self._write_paused:  # its pong may wait unread behind our paused reading
            self._schedule_ping()
            return
        self._close_now(1011, "keepalive ping timeout")

    def _keepalive_in(self, delay: float, due: Callable[[], None]) -> None:
        wheel = self._wheel
        if wheel is None:
            wheel = self._wheel = keepalive_wheel(asyncio.get_running_loop())
        self._cancel_keepalive()
        self._keepalive_at = wheel.add(self, delay, due)

    def _cancel_keepalive(self) -> None:
        if self._keepalive_at is not None:
            self._wheel.remove(self, self._keepalive_at)  # type: ignore[union-attr]
            self._keepalive_at = None

    def _not_reading(self) -> None:
        """Writing stayed paused for `send_stall_s`: the peer does not read. Its close
        frame would wait behind everything it has not read, so the connection is aborted
        (the buffer dropped with it); the endpoint hears 1008."""
        self._stall = None
        if not self._write_paused:
            return
        # Also when our close is sent and the transport closing: a closing transport
        # waits for its buffer to drain, which such a peer never lets happen.
        log.info("aborting a socket whose peer has not read for %s s", self.send_stall_s)
        self._cancel_timer()
        self._close_sent = True
        self._pong = None
        self.application_state = WebSocketState.DISCONNECTED
        self._tell_endpoint(
            {"type": "websocket.disconnect", "code": CLOSE_NOT_READING, "reason": "not reading"}
        )
        self.transport.abort()

    def _cancel_timer(self) -> None:
        """Cancel every deadline of the connection but the stall deadline."""
        self._cancel_keepalive()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _writable(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        if self._write_waiters is None:
            self._write_waiters = []
        self._write_waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._write_waiters is not None and waiter in self._write_waiters:
                self._write_waiters.remove(waiter)


def socket_protocol(
    app: Any,
    endpoints: Mapping[str, Endpoint],
    *,
    send_buffer_bytes: int = SEND_BUFFER_BYTES,
    send_stall_s: float = SEND_STALL_S,
) -> type[ChatSocketProtocol]:
    """The protocol class to pass to uvicorn as `ws=`: sockets on `endpoints`' paths,
    whose endpoints see `app` as `socket.app` (for `app.state`). `send_buffer_bytes`:
    each socket's write-buffer high-water mark; `send_stall_s`: how long it may stay
    over it before the connection is closed (1008); 0 never closes."""
    return type(
        "ChatSocketProtocolFor" + type(app).__name__,
        (ChatSocketProtocol,),
        {
            "__slots__": (),
            "app": app,
            "endpoints": dict(endpoints),
            "send_buffer_bytes": send_buffer_bytes,
            "send_stall_s": send_stall_s,
        },
    )
