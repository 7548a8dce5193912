"""A minimal WebSocket client as an asyncio Protocol: the load generator's only client.

Why not the `websockets` library: at tens of thousands of frames per second its
per-frame cost would make the generator the bottleneck on its one core. This client
does the RFC 6455 handshake, reads text/binary/ping/close frames, writes masked text
frames (all-zero mask key: masking is then the identity, and servers do not check the
key), and inflates permessage-deflate frames when the server negotiated it. It offers
`permessage-deflate; client_max_window_bits` like a browser does, unless told not to.

Contract: `await connect(...)` returns an open `WsProtocol` or raises `WsError`;
`on_message(bytes)` is called for every complete data frame; `closed` is a future set
when the connection ends.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import zlib
from collections.abc import Callable

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_ZERO_MASK = b"\x00\x00\x00\x00"
_TAIL = b"\x00\x00\xff\xff"


class WsError(Exception):
    """The handshake failed or the connection broke before it was open."""


class WsProtocol(asyncio.Protocol):
    def __init__(self, request: bytes, on_message: Callable[[bytes], None] | None) -> None:
        self._request = request
        self.on_message = on_message or (lambda _data: None)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._buf = bytearray()
        self._upgraded = False
        self._inflate: zlib._Decompress | None = None
        self._no_takeover = False
        self.deflate = False
        self.close_code: int | None = None
        self._frag: bytearray | None = None
        self._frag_deflated = False

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self._request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(WsError(f"connection lost in handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            self._handshake_reply(head)
            if not self._upgraded:
                return
        self._frames()

    # -- internals -----------------------------------------------------------------------
    def _handshake_reply(self, head: str) -> None:
        lines = head.split("\r\n")
        if self.opened.done():  # the caller gave up (timeout): drop the late reply
            self.transport.close()  # type: ignore[union-attr]
            return
        if " 101 " not in lines[0] + " ":
            self.opened.set_exception(WsError(f"handshake refused: {lines[0]}"))
            self.transport.close()  # type: ignore[union-attr]
            return
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                self.deflate = True
                self._no_takeover = "server_no_context_takeover" in value
                self._inflate = zlib.decompressobj(-15)
        self._upgraded = True
        self.opened.set_result(None)

    def _frames(self) -> None:
        buf = self._buf
        while True:
            n = len(buf)
            if n < 2:
                return
            b0 = buf[0]
            length = buf[1] & 0x7F
            pos = 2
            if length == 126:
                if n < 4:
                    return
                length = (buf[2] << 8) | buf[3]
                pos = 4
            elif length == 127:
                if n < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                pos = 10
            if n < pos + length:
                return
            payload = bytes(buf[pos : pos + length])
            del buf[: pos + length]
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode in (1, 2):
                if fin:
                    self._deliver(payload, bool(b0 & 0x40))
                else:
                    self._frag = bytearray(payload)
                    self._frag_deflated = bool(b0 & 0x40)
            elif opcode == 0 and self._frag is not None:
                self._frag += payload
                if fin:
                    whole, self._frag = bytes(self._frag), None
                    self._deliver(whole, self._frag_deflated)
            elif opcode == 9:
                self._send_frame(0x8A, payload)
            elif opcode == 8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self._send_frame(0x88, payload[:2])
                self.transport.close()  # type: ignore[union-attr]
                return

    def _deliver(self, payload: bytes, compressed: bool) -> None:
        if compressed and self._inflate is not None:
            if self._no_takeover:
                payload = zlib.decompressobj(-15).decompress(payload + _TAIL)
            else:
                payload = self._inflate.decompress(payload + _TAIL)
        self.on_message(payload)

    def _send_frame(self, b0: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = bytes((b0, 0x80 | n))
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0xFE, n)
        else:
            head = struct.pack("!BBQ", b0, 0xFF, n)
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(head + _ZERO_MASK + payload)

    # -- API -----------------------------------------------------------------------------
    def send(self, payload: bytes) -> None:
        """Queue one text frame (UTF-8 bytes); never blocks."""
        self._send_frame(0x81, payload)

    def close(self) -> None:
        """Send a 1000 close and drop the connection (the bench does not linger)."""
        self._send_frame(0x88, b"\x03\xe8")
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def connect(
    host: str,
    port: int,
    path: str,
    *,
    origin: str | None = None,
    on_message: Callable[[bytes], None] | None = None,
    local_ip: str | None = None,
    deflate: bool = True,
    timeout: float = 20.0,
) -> WsProtocol:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "User-Agent: beckon-bench/1",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    if deflate:
        lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    local = (local_ip, 0) if local_ip else None
    try:
        async with asyncio.timeout(timeout):
            _t, proto = await loop.create_connection(
                lambda: WsProtocol(request, on_message), host, port, local_addr=local
            )
            await proto.opened
    except (OSError, TimeoutError) as exc:
        raise WsError(f"{type(exc).__name__}: {exc}") from exc
    return proto
