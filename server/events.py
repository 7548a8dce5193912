"""Domain events: one event per fact ("conversation.closed"), one listener per concern.

Built at start-up and passed to whoever emits (style habit 6): no module-level bus.
Listeners run as tasks so a slow webhook never delays a chat; a failing listener is
logged and does not affect the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("beckon.events")
Listener = Callable[[str, dict[str, Any]], Awaitable[None]]

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
    }
)


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()

    def on(self, kind: str, listener: Listener) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        self._listeners[kind].append(listener)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Hand `data` to every listener of `kind` (in the background)."""
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        for listener in self._listeners.get(kind, ()):
            task = asyncio.create_task(self._run(listener, kind, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, listener: Listener, kind: str, data: dict[str, Any]) -> None:
        try:
            await listener(kind, data)
        except Exception:
            log.exception("listener %r failed on %s", listener, kind)

    async def drain(self) -> None:
        """Wait for the listeners still running (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
