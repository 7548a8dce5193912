"""uvicorn's sans-I/O WebSocket protocol with less kept per idle socket.

`LeanWebSocketProtocol` is uvicorn's `WebSocketsSansIOProtocol` (framing, RFC 6455 and
the handshake stay in the `websockets` library, every close code and limit stays
uvicorn's) minus state that an idle socket carries for its whole life:

- received events wait in `_Inbox` (a deque that exists only while events are
  queued, one future only while the app waits in `receive()`) instead of an
  `asyncio.Queue` (three deques and an Event, ~2.5 KiB even when empty);
- write flow control is `_WriteGate` (futures only while the transport is paused)
  instead of an `asyncio.Event` (a deque of waiters, ~0.7 KiB);
- the parent's 37 attributes live in slots instead of a per-socket dict (~1.6 KiB);
- the handshake request and response are dropped once the handshake is over. Their
  headers are copied into the ASGI scope; the `Request` itself stays referenced by
  the `websockets` parser (a local of `ServerProtocol.parse` for the socket's life),
  so its headers are emptied through the public `Headers.clear()`.

Pass the class to uvicorn as `ws=LeanWebSocketProtocol`.

This relies on the names of the parent's attributes, on how it uses `queue`
(`put_nowait`, `get`, `empty`), `writable` (`set`, `clear`, `wait`), `request` and
`response`, and on its methods `handle_connect` and `send`: uvicorn is pinned to one
minor version in pyproject.toml, and tests/unit/test_ws_protocol.py fails if any of
that changes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
    from uvicorn.config import Config
    from uvicorn.server import ServerState
    from websockets.http11 import Request

__all__ = ["LeanWebSocketProtocol"]


class _Inbox:
    """The part of `asyncio.Queue` uvicorn's protocol uses: `put_nowait`, `get`, `empty`.

    Unbounded like the queue it replaces (uvicorn pauses reading after each message).
    One consumer at a time: an ASGI app awaits `receive()` sequentially; a second
    concurrent `get()` raises RuntimeError instead of queueing behind the first.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[ASGIReceiveEvent] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, event: ASGIReceiveEvent) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> ASGIReceiveEvent:
        """The oldest event, waiting for one if none is queued. Cancelling the wait
        loses nothing: events stay queued until a `get` returns them."""
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("another task is already waiting in receive()")
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        items = self._items
        event = items.popleft()
        if not items:
            self._items = None  # an idle socket keeps no deque
        return event


class _WriteGate:
    """The part of `asyncio.Event` uvicorn's protocol uses for `writable`: `set`,
    `clear`, `wait`. Open (set) unless the transport paused writing; every waiter is
    released by `set()`, as with an Event."""

    __slots__ = ("_closed", "_waiters")

    def __init__(self) -> None:
        self._closed = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def set(self) -> None:
        self._closed = False
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._closed = True

    async def wait(self) -> bool:
        if not self._closed:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol, same behaviour, less memory per socket (see module)."""

    # The parent has no __slots__, so instances keep a __dict__; but it sets 37
    # attributes, past the 30 for which CPython shares dict keys between instances: each
    # socket had its own ~1.6 KiB dict. Slots named like the parent's attributes take
    # its assignments (a data descriptor wins over the instance dict), and the dict
    # stays empty.
    __slots__ = (
        "app",
        "app_state",
        "asgi_version",
        "client",
        "close_sent",
        "close_timeout",
        "close_timer",
        "config",
        "conn",
        "connections",
        "curr_msg_data_type",
        "default_headers",
        "disconnected",
        "frames",
        "handshake_complete",
        "handshake_initiated",
        "initial_response",
        "last_ping_rtt",
        "logger",
        "loop",
        "pending_ping_payload",
        "ping_interval",
        "ping_sent_at",
        "ping_timeout",
        "ping_timer",
        "pong_timer",
        "queue",
        "read_paused",
        "request",
        "response",
        "root_path",
        "scheme",
        "scope",
        "server",
        "tasks",
        "transport",
        "writable",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _WriteGate()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope holds its own copy of the headers; nothing reads the request again.
        self.request = None
        event.headers.clear()

    async def send(self, message: ASGISendEvent) -> None:
        try:
            await super().send(message)
        finally:
            # The response is read only to accept the handshake; after accept, a close
            # (403) or an HTTP response, the handshake is complete and it is not needed.
            if self.handshake_complete:
                self.response = None
