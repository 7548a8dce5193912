"""Domain events: one event per fact ("conversation.closed"), one listener per concern.

Built at start-up and passed to whoever emits (style habit 6): no module-level bus.
Each listener has its own queue and one consumer task, so `emit` never waits (a slow
webhook never delays a chat) and creates no task per event; a listener sees its events
one at a time, in emit order. A failing listener is logged and gets the next event; it
does not affect the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("beckon.events")
Listener = Callable[[str, dict[str, Any]], Awaitable[None]]

MAX_BEHIND = 10_000
"""Events queued for one listener past which new ones are dropped (see `emit`)."""

KINDS = frozenset(
    {
        "conversation.started",
        "conversation.closed",
        "conversation.missed",
        "message.created",
        "offline_message.created",
        "survey.submitted",
        "invitation.shown",
        "invitation.accepted",
        "conversion.recorded",
        "visitor.erased",  # {site_id, visitor_id}: the id only (server/api/privacy.py)
        "privacy.request",  # an export or erasure: who, from where (for the audit log)
        "inbox.reply",  # an agent answered an inbox item (server/hub/follow_up.py)
    }
)


class _Consumer:
    """One listener's queue, and the task that hands it the events."""

    __slots__ = ("dropping", "idle", "listener", "queue", "task", "wake")

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.queue: deque[tuple[str, dict[str, Any]]] = deque()
        self.wake = asyncio.Event()  # set: something is queued
        self.idle = asyncio.Event()  # set: queue empty and the listener not running
        self.idle.set()
        self.task: asyncio.Task[None] | None = None
        self.dropping = 0  # events dropped since the listener last caught up


class EventBus:
    def __init__(self, max_behind: int = MAX_BEHIND) -> None:
        """`max_behind`: events queued for one listener before new ones are dropped."""
        if max_behind < 1:
            raise ValueError(f"max_behind must be >= 1, got {max_behind}")
        self._max_behind = max_behind
        self._listeners: dict[str, list[_Consumer]] = {}
        self._consumers: dict[Listener, _Consumer] = {}  # one per listener, any kinds
        self.dropped = 0
        """Events dropped because their listener was `max_behind` behind (all listeners)."""

    def on(self, kind: str, listener: Listener) -> None:
        """Call `listener(kind, data)` for every `kind` event emitted from now on.

        A listener registered for several kinds has one queue: it sees them all in
        emit order. Raises ValueError for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        consumer = self._consumers.get(listener)
        if consumer is None:
            consumer = self._consumers[listener] = _Consumer(listener)
        self._listeners.setdefault(kind, []).append(consumer)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Queue `data` for every listener of `kind` and return at once.

        A listener `max_behind` events behind loses this event (logged, counted in
        `dropped`). Raises ValueError for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        for consumer in self._listeners.get(kind, ()):
            if len(consumer.queue) >= self._max_behind:
                # Dropped rather than waited for: emit runs on the chat path (after a
                # message is stored) and a chat must never wait for a webhook; an
                # unbounded queue would hold every event while, say, the database is
                # down. Queued events were never durable (a crash loses them, as it lost
                # the per-event tasks before); what a listener writes (the webhook
                # outbox) is. The newest goes, so what is queued stays in order.
                self.dropped += 1
                if consumer.dropping == 0:
                    log.warning(
                        "listener %r is %d events behind: dropping new events "
                        "(this one: %s) until it catches up",
                        consumer.listener,
                        len(consumer.queue),
                        kind,
                    )
                consumer.dropping += 1
                continue
            consumer.queue.append((kind, data))
            consumer.idle.clear()
            consumer.wake.set()
            self._ensure_running(consumer)

    def _ensure_running(self, consumer: _Consumer) -> None:
        # Started on the first event, and again after drain ended it (or anything else
        # did: queued events must not wait for a task that is gone).
        if consumer.task is None or consumer.task.done():
            consumer.task = asyncio.get_running_loop().create_task(
                self._consume(consumer), name=f"beckon-events {consumer.listener!r}"
            )

    async def _consume(self, consumer: _Consumer) -> None:
        queue = consumer.queue
        while True:
            while queue:
                kind, data = queue.popleft()
                try:
                    await consumer.listener(kind, data)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # drain ending this consumer
                    # The listener's own cancellation (e.g. a timeout it did not catch)
                    # must not end the consumer: later events would never be handled.
                    log.error("listener %r was cancelled on %s", consumer.listener, kind)
                except Exception:
                    log.exception("listener %r failed on %s", consumer.listener, kind)
            if consumer.dropping:
                log.warning(
                    "listener %r caught up after dropping %d events",
                    consumer.listener,
                    consumer.dropping,
                )
                consumer.dropping = 0
            consumer.wake.clear()
            consumer.idle.set()
            await consumer.wake.wait()

    async def drain(self) -> None:
        """Wait until every event emitted so far (and any its listeners emit) has been
        handled, then end the idle consumer tasks (shutdown leaves none behind; the next
        emit starts them again)."""
        while True:
            busy = [c for c in self._consumers.values() if not c.idle.is_set()]
            if not busy:
                break
            for consumer in busy:
                self._ensure_running(consumer)
                await consumer.idle.wait()
        # No await between the check above and detaching: every consumer is idle now.
        # An emit while they are being cancelled starts a fresh task, and the old one
        # can only wake to its cancellation.
        tasks = [c.task for c in self._consumers.values() if c.task is not None]
        for consumer in self._consumers.values():
            consumer.task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
