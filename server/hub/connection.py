"""One WebSocket: a bounded outbound queue drained by a writer task that runs only while
something is queued, and per-conversation delivery positions so every frame leaves in
`seq` order with gaps filled from the Store.

Guarantee 4 lives here: pub/sub is a hint; the writer compares each message's `seq`
with what this socket already has and reads anything missing from the Store first.

An idle socket holds no task and no queue (most of a node's sockets are idle): the
first item queued starts the writer, which ends when the queue is empty again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from server.store.database import StoreUnavailable
from server.wire.codec import encode_frame

log = logging.getLogger("beckon.hub")

OUTBOUND_LIMIT = 1024  # queued items
OUTBOUND_BYTES = 1024 * 1024  # queued encoded frames; the real memory bound per socket
OFFER_BACKLOG = 64 * 1024  # queued bytes past which droppable frames are skipped
GAP_PAGE = 500  # what one GapLoader call returns at most
CLOSE_SLOW_READER = 4408
DRAIN_TIMEOUT_S = 2.0  # what is queued may still go out when the server closes a socket
CLOSE_UNAVAILABLE = 1013  # try again later: reconnect and resume
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

    __slots__ = (
        "_floors",
        "_load_gap",
        "_pending",
        "_queued_bytes",
        "_tasks",
        "_writer",
        "channels",
        "closed",
        "kind",
        "metrics",
        "positions",
        "ws",
    )

    def __init__(self, ws: WebSocket, kind: str, load_gap: GapLoader, metrics: Any) -> None:
        self.ws = ws
        self.kind = kind
        self.metrics = metrics
        self._load_gap = load_gap
        # (item, size) in order; None while nothing is queued (an idle socket).
        self._pending: deque[tuple[Any, int]] | None = None
        self._queued_bytes = 0
        self.positions: dict[str, int] = {}
        # Per followed conversation, the seq after which this socket has everything up to
        # its position (sent live, or by a replay): (floor, position] is never sent again.
        self._floors: dict[str, int] = {}
        # Channels the hub delivers to this socket (Hub.follow/unfollow keep it).
        self.channels: list[str] = []
        # Set once: after it nothing is queued and the reader stops.
        self.closed = False
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] | None = None

    # -- what readers and broker handlers call (never blocks) ---------------------------
    def send(self, frame: dict[str, Any]) -> None:
        encoded = _encode(frame)
        self._put(encoded, len(encoded.text))

    def offer(self, frame: dict[str, Any]) -> bool:
        """Queue a frame a newer one will supersede (the live visitor view) only if the
        socket is keeping up: less than OFFER_BACKLOG bytes waiting to be written.
        Returns False, and queues nothing, when it is behind — so offered frames never
        fill the queue towards OUTBOUND_BYTES and are never a reason to close it."""
        if self.closed or self._queued_bytes >= OFFER_BACKLOG:
            return False
        self.send(frame)
        return True

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
        if conversation_id not in self.positions:
            self.positions[conversation_id] = self._floors[conversation_id] = max(after_seq, 0)

    def resync_all(self) -> None:
        """Re-read every followed conversation from where this socket is (after a broker
        reconnect: what was published during the blip was lost, the Store has it)."""
        for conversation_id, position in list(self.positions.items()):
            self.sync(conversation_id, position)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run follow-up work of this socket (held here so it is not garbage-collected,
        and cancelled when the socket ends). Once the socket is closed nothing more is
        started: `shutdown` could not cancel it, and it would outlive the socket."""
        if self.closed:
            coro.close()
            return
        task = asyncio.create_task(coro)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_soon(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.spawn(self.close(code, reason))

    def _put(self, item: Any, size: int) -> None:
        if self.closed:
            return
        pending = self._pending
        if pending is None and self._writer is None and self._write_now(item):
            return
        if pending is None:
            pending = self._pending = deque()
        elif self._queued_bytes + size > OUTBOUND_BYTES or len(pending) >= OUTBOUND_LIMIT:
            # A reader this far behind would make us buffer without limit: close it; it
            # reconnects and resumes from its last seq (style habit 3).
            self.close_soon(CLOSE_SLOW_READER, "too slow: reconnect and resume")
            return
        self._queued_bytes += size
        pending.append((item, size))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop())

    def _write_now(self, item: Any) -> bool:
        """Write `item` at once if that keeps every guarantee: nothing is queued before
        it (the caller checks), the socket takes a write without waiting, and it needs
        no read from the Store (a gap to fill, a replay). Most frames go this way: a
        writer task per frame would cost more than the write itself."""
        send_now = getattr(self.ws, "send_text_now", None)
        if send_now is None or isinstance(item, _Sync):
            return False
        if isinstance(item, _Message):
            position = self.positions.get(item.conversation_id)
            if position is not None:
                if item.seq <= position:
                    return True  # already delivered: dropped, as the writer would
                if item.seq > position + 1:
                    return False  # a gap: the writer fills it from the Store first
            frame = item.frame
            if frame is not None and not send_now(frame.text):
                return False
            if position is not None:
                self.positions[item.conversation_id] = item.seq
        else:
            frame = item
            if not send_now(frame.text):
                return False
        if frame is not None:
            self.metrics.frames_out.labels(frame.type).inc()
        return True

    # -- the writer ----------------------------------------------------------------------
    async def _write_loop(self) -> None:
        """Write what is queued, in order, then end (the next `_put` starts a new one)."""
        pending = self._pending
        try:
            while pending:
                item, size = pending.popleft()
                self._queued_bytes -= size
                if isinstance(item, _Message):
                    await self._write_message(item)
                elif isinstance(item, _Sync):
                    await self._replay(item.conversation_id, item.after_seq)
                else:
                    await self._write(item)
        except asyncio.CancelledError:
            raise
        except StoreUnavailable as exc:
            # A gap or a replay could not be read: what is queued cannot go out in
            # order. The client reconnects and resumes from the last seq it has.
            log.warning("writer stopped, store unavailable: %s", exc)
            self.close_soon(CLOSE_UNAVAILABLE, "temporarily unavailable; reconnect")
        except Exception as exc:  # the socket is gone or broken; the reader notices too
            log.debug("writer stopped: %s", exc)
            self.close_soon(1011, "internal error")
        finally:
            # No await between the empty check above and here: a `_put` either saw this
            # writer running (and its item was written) or sees None and starts another.
            self._writer = None
            if not pending:
                self._pending = None
                self._queued_bytes = 0

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
        """Write stored messages with after_seq < seq (≤ until), in order, in pages —
        except what this socket already has: a message that went out live between
        `track` and this replay (an agent accepting a chat while the visitor types) is
        not sent twice. Nothing else writes this conversation meanwhile: while the
        writer runs, every new item queues behind it."""
        after_seq = max(after_seq, 0)
        have = self.positions.get(conversation_id)
        floor = self._floors.get(conversation_id, 0) if have is not None else 0
        position = after_seq
        if have is not None and floor <= after_seq:
            position = max(after_seq, have)  # nothing before `have` is missing
        while until is None or position < until:
            rows = await self._load_gap(conversation_id, position)
            if until is not None:
                rows = [r for r in rows if r["seq"] <= until]
            for frame in rows:
                position = frame["seq"]
                if have is None or not floor < position <= have:
                    await self._write(_encode(frame))
            if len(rows) < GAP_PAGE:
                break
        current = self.positions.get(conversation_id, 0)
        self.positions[conversation_id] = max(current, position, until or 0)
        # The socket now has (after_seq, position] — joined to what it had, if they touch.
        joined = have is not None and after_seq <= have
        self._floors[conversation_id] = min(floor, after_seq) if joined else after_seq

    async def _write(self, frame: _Frame) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        await self.ws.send_text(frame.text)
        self.metrics.frames_out.labels(frame.type).inc()

    # -- lifecycle -----------------------------------------------------------------------
    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.close(code, reason)
        except Exception as exc:
            log.warning("close %s failed: %r", code, exc)

    async def close_after_queued(self, code: int, reason: str, timeout: float = 2.0) -> None:
        """Close once what is already queued is written (e.g. the errors explaining why);
        a writer that cannot drain in `timeout` does not hold the close up."""
        writer = self._writer
        if writer is not None:
            # The writer ends when the queue is empty; waiting does not cancel it.
            await asyncio.wait((writer,), timeout=timeout)
        await self.close(code, reason)

    async def shutdown(self) -> None:
        """Stop the writer (the socket's reader has ended); the hub drops its channels.

        A socket still open here is one the server is closing (uvicorn's shutdown, 1012
        next): what is queued, acks included, is written first, for up to
        `DRAIN_TIMEOUT_S`."""
        self.closed = True
        for task in list(self._tasks or ()):
            task.cancel()
        writer = self._writer
        if writer is not None and self.ws.application_state == WebSocketState.CONNECTED:
            await asyncio.wait((writer,), timeout=DRAIN_TIMEOUT_S)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        self._pending = None
