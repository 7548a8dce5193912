"""Local fan-out: many handlers on one node share one backend subscription per channel.

Style habit 3: the node subscribes once per channel however many local sockets
want it. `LocalFanout` counts handlers per channel; the broker does the real
SUBSCRIBE when `add` reports the first handler and the real UNSUBSCRIBE when
`remove` reports the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
"""A plain sync callable invoked on the event loop with (channel, data)."""


class LocalFanout:
    """Handlers per channel, in subscription order. Pure bookkeeping, no I/O."""

    def __init__(self) -> None:
        self._handlers: dict[str, dict[int, Handler]] = {}
        self._next_token = 0

    def add(self, channel: str, handler: Handler) -> tuple[int, bool]:
        """Register `handler`; returns (token for `remove`, True if it is the channel's first)."""
        self._next_token += 1
        handlers = self._handlers.setdefault(channel, {})
        handlers[self._next_token] = handler
        return self._next_token, len(handlers) == 1

    def remove(self, channel: str, token: int) -> bool:
        """Unregister a handler; returns True if it was the channel's last one.

        Removing an unknown token returns False (closing twice is harmless).
        """
        handlers = self._handlers.get(channel)
        if handlers is None or handlers.pop(token, None) is None:
            return False
        if handlers:
            return False
        del self._handlers[channel]
        return True

    def has(self, channel: str) -> bool:
        """True if at least one handler listens on `channel`."""
        return channel in self._handlers

    def channels(self) -> list[str]:
        """Every channel with at least one handler."""
        return list(self._handlers)

    def tokens(self, channel: str) -> frozenset[int]:
        """The handlers of `channel` right now (to deliver later to exactly those)."""
        return frozenset(self._handlers.get(channel, ()))

    def dispatch(self, channel: str, data: bytes, only: Collection[int] | None = None) -> int:
        """Call every handler of `channel` (or those of `only` still subscribed).

        Returns how many were called. An exception in a handler is logged and
        does not stop the others.
        """
        handlers = self._handlers.get(channel)
        if not handlers:
            return 0
        # Snapshot: a handler may subscribe or unsubscribe while we iterate.
        called = 0
        for token, handler in tuple(handlers.items()):
            if only is not None and token not in only:
                continue
            if token not in handlers:
                continue  # closed by an earlier handler of this same dispatch
            called += 1
            try:
                handler(channel, data)
            except Exception:
                logger.exception("broker handler %r failed on channel %r", handler, channel)
        return called


class Subscription:
    """One handler's subscription to one channel; `close()` detaches it.

    Usable as an async context manager. `close()` is idempotent and never
    raises: the handler is detached locally at once, so it is not called again.
    """

    __slots__ = ("_closed", "_release", "_token", "channel")

    def __init__(
        self, channel: str, token: int, release: Callable[[str, int], Awaitable[None]]
    ) -> None:
        self.channel = channel
        self._token = token
        self._release = release
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._release(self.channel, self._token)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Subscription {self.channel!r} {state}>"
