"""One WebSocket: a bounded outbound queue drained by one writer task, and per-conversation
delivery positions so every frame leaves in `seq` order with gaps filled from the Store.

Guarantee 4 lives here: pub/sub is a hint; the writer compares each message's `seq`
with what this socket already has and reads anything missing from the Store first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from server.broker.base import Subscription
from server.wire.codec import encode_frame

log = logging.getLogger("beckon.hub")

OUTBOUND_LIMIT = 1024  # queued items
OUTBOUND_BYTES = 1024 * 1024  # queued encoded frames; the real memory bound per socket
GAP_PAGE = 500  # what one GapLoader call returns at most
CLOSE_SLOW_READER = 4408
# Loads messages with seq > after_seq, visible to this socket, in order.
GapLoader = Callable[[str, int], Awaitable[list[dict[str, Any]]]]


@dataclass(slots=True)
class _Frame:
    text: str
    type: str


@dataclass(slots=True)
class _Message:
    conversation_id: str
    seq: int
    frame: _Frame | None  # None: advances the position without sending (a note)


@dataclass(slots=True)
class _Sync:
    conversation_id: str
    after_seq: int


def _encode(frame: dict[str, Any]) -> _Frame:
    # Encoded when queued, so the queue's byte bound is exact and the writer only writes.
    return _Frame(encode_frame(frame), str(frame.get("type", "?")))


class Connection:
    """Owns the socket's writes. Readers call `send`, `deliver`, `sync`; never await I/O."""

    def __init__(self, ws: WebSocket, kind: str, load_gap: GapLoader, metrics: Any) -> None:
        self.ws = ws
        self.kind = kind
        self.metrics = metrics
        self._load_gap = load_gap
        self._queue: asyncio.Queue[Any] = asyncio.Queue(OUTBOUND_LIMIT)
        self._queued_bytes = 0
        self.positions: dict[str, int] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())

    # -- what readers and broker handlers call (never blocks) ---------------------------
    def send(self, frame: dict[str, Any]) -> None:
        encoded = _encode(frame)
        self._put(encoded, len(encoded.text))

    def deliver(self, conversation_id: str, seq: int, frame: dict[str, Any] | None) -> None:
        """Queue a message for in-order delivery; duplicates and old seqs are dropped."""
        encoded = _encode(frame) if frame is not None else None
        self._put(_Message(conversation_id, seq, encoded), len(encoded.text) if encoded else 0)

    def deliver_encoded(self, conversation_id: str, seq: int, text: str | None) -> None:
        """`deliver` for a message frame another node already encoded (the envelope
        carries the JSON text, so fan-out does not re-encode it per socket)."""
        encoded = _Frame(text, "message") if text is not None else None
        self._put(_Message(conversation_id, seq, encoded), len(text) if text else 0)

    def sync(self, conversation_id: str, after_seq: int) -> None:
        """Queue a replay of everything after `after_seq` (resume, reconnect re-sync)."""
        self._put(_Sync(conversation_id, after_seq), 0)

    def track(self, conversation_id: str, after_seq: int) -> None:
        """Start ordering this conversation's messages after `after_seq`.

        Call before subscribing to its channel, so a message that arrives before the
        replay is held to order and gap-filled instead of jumping ahead.
        """
        self.positions.setdefault(conversation_id, max(after_seq, 0))

    def resync_all(self) -> None:
        """Re-read every followed conversation from where this socket is (after a broker
        reconnect: what was published during the blip was lost, the Store has it)."""
        for conversation_id, position in list(self.positions.items()):
            self.sync(conversation_id, position)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run follow-up work of this socket (held here so it is not garbage-collected,
        and cancelled when the socket ends)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_soon(self, code: int, reason: str = "") -> None:
        if not self.closed.is_set():
            self.spawn(self.close(code, reason))

    def _put(self, item: Any, size: int) -> None:
        if self.closed.is_set():
            return
        if self._queued_bytes + size > OUTBOUND_BYTES or self._queue.full():
            # A reader this far behind would make us buffer without limit: close it; it
            # reconnects and resumes from its last seq (style habit 3).
            self.close_soon(CLOSE_SLOW_READER, "too slow: reconnect and resume")
            return
        self._queued_bytes += size
        self._queue.put_nowait((item, size))

    # -- the writer ----------------------------------------------------------------------
    async def _write_loop(self) -> None:
        try:
            while True:
                item, size = await self._queue.get()
                self._queued_bytes -= size
                try:
                    if isinstance(item, _Message):
                        await self._write_message(item)
                    elif isinstance(item, _Sync):
                        await self._replay(item.conversation_id, item.after_seq)
                    else:
                        await self._write(item)
                finally:
                    self._queue.task_done()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket is gone or broken; the reader notices too
            log.debug("writer stopped: %s", exc)
            self.close_soon(1011, "internal error")

    async def _write_message(self, item: _Message) -> None:
        position = self.positions.get(item.conversation_id)
        if position is None:
            # Not following this conversation (yet): nothing to order against.
            if item.frame is not None:
                await self._write(item.frame)
            return
        if item.seq <= position:
            return
        if item.seq > position + 1:
            await self._replay(item.conversation_id, position, until=item.seq - 1)
        if item.frame is not None:
            await self._write(item.frame)
        self.positions[item.conversation_id] = max(self.positions[item.conversation_id], item.seq)

    async def _replay(self, conversation_id: str, after_seq: int, until: int | None = None) -> None:
        """Write stored messages with after_seq < seq (≤ until), in order, in pages."""
        position = max(after_seq, 0)
        while until is None or position < until:
            rows = await self._load_gap(conversation_id, position)
            if until is not None:
                rows = [r for r in rows if r["seq"] <= until]
            for frame in rows:
                await self._write(_encode(frame))
                position = frame["seq"]
            if len(rows) < GAP_PAGE:
                break
        current = self.positions.get(conversation_id, 0)
        self.positions[conversation_id] = max(current, position, until or 0)

    async def _write(self, frame: _Frame) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        await self.ws.send_text(frame.text)
        self.metrics.frames_out.labels(frame.type).inc()

    # -- lifecycle -----------------------------------------------------------------------
    async def close(self, code: int, reason: str = "") -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.close(code, reason)
        except Exception as exc:
            log.warning("close %s failed: %r", code, exc)

    async def close_after_queued(self, code: int, reason: str, timeout: float = 2.0) -> None:
        """Close once what is already queued is written (e.g. the errors explaining why);
        a writer that cannot drain in `timeout` does not hold the close up."""
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._queue.join()
        await self.close(code, reason)

    async def shutdown(self) -> None:
        """Stop the writer and drop every subscription (the socket's reader has ended)."""
        self.closed.set()
        for task in list(self._tasks):
            task.cancel()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        for subscription in list(self.subscriptions.values()):
            await subscription.close()
        self.subscriptions.clear()
