"""The Broker contract shared by every backend (README.md, "Architecture"; docs/operations.md).

A broker carries what nodes must share but need not keep: pub/sub fan-out,
agent presence, live visitor state and atomic queue/counter scripts. It is never
the source of truth (guarantee 4): the Store is. Backends are chosen by URL in
`server.broker.open_broker`; both pass the same conformance suite (tests/broker).

Names given to a broker (channels, keys, presence groups) are logical: the broker
namespaces every one of them with its `prefix`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from server.broker.fanout import Handler, Subscription

__all__ = [
    "Broker",
    "BrokerUnavailable",
    "Handler",
    "ReconnectListener",
    "ScriptArg",
    "ScriptError",
    "Subscription",
]

ReconnectListener = Callable[[], Awaitable[None] | None]
"""Called (no arguments) after the broker reconnected and resubscribed."""

ScriptArg = str | int | float | bytes
"""One ARGV value of `Broker.run_script`; sent as bytes (str as UTF-8, numbers as text)."""


class BrokerUnavailable(Exception):
    """The backend cannot be reached (after the broker's short bounded retry).

    Raised by every operation that needs the backend, never swallowed: the
    caller decides (answer 503, retry later, ...). Also raised on a closed broker.
    """


class ScriptError(Exception):
    """A script refused its arguments, or Redis refused the script's work.

    For argument checks the message is identical on every backend, e.g.
    ``incr_capped: limit must be an integer >= 0``; other Redis error replies
    (e.g. WRONGTYPE) keep Redis' text.
    """


@runtime_checkable
class Broker(Protocol):
    """What the hub and the chat modules may ask of a broker.

    Lifecycle: construct (no I/O), `await start()` in the app lifespan, use,
    `await close()`. Calling an operation before `start()` raises RuntimeError;
    after `close()` it raises BrokerUnavailable. TTLs are seconds (float > 0),
    anything else raises ValueError. Payloads are bytes; anything else raises TypeError.
    """

    prefix: str

    async def start(self) -> None:
        """Connect. Raises BrokerUnavailable (with host:port) within ~3 s if unreachable."""
        ...

    async def close(self) -> None:
        """Cancel background tasks and release connections. Idempotent."""
        ...

    async def ping(self) -> None:
        """Return if the backend (commands and pub/sub) is reachable; else BrokerUnavailable."""
        ...

    async def publish(self, channel: str, data: bytes) -> None:
        """Deliver `data` to every subscriber of `channel` on every node.

        Raises BrokerUnavailable when it cannot be handed to the backend: a
        publish is never dropped silently. A publish retried after a failure in
        flight may be delivered twice; receivers de-duplicate by `seq`.
        """
        ...

    def publish_nowait(self, channel: str, data: bytes) -> asyncio.Future[None]:
        """`publish` without waiting: `data` is handed over now, in call order with
        every other publish of this broker (a later `publish` goes after it), and the
        future resolves once the backend has it — or fails with BrokerUnavailable,
        which the caller must retrieve. Bad arguments raise here, as in `publish`.
        """
        ...

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        """Call `handler(channel, data)` on the event loop for each message on `channel`.

        Returns once the subscription is live on the backend: anything published
        after that is delivered, in publish order. One backend subscription per
        channel per node, refcounted across local handlers. A handler that raises
        is logged; other handlers and later messages are unaffected.
        Raises BrokerUnavailable (and registers nothing) if it cannot subscribe.
        """
        ...

    def add_reconnect_listener(self, listener: ReconnectListener) -> None:
        """Call `listener()` after each reconnect, once every live channel is resubscribed.

        Messages published while the connection was down are lost; listeners
        re-sync from the Store (guarantee 5). Coroutines are run as tasks.
        """
        ...

    async def presence_set(self, group: str, member: str, value: bytes, ttl_s: float) -> None:
        """Mark `member` present in `group` with `value` until `ttl_s` seconds from now."""
        ...

    async def presence_set_many(
        self, group: str, members: Mapping[str, bytes], ttl_s: float
    ) -> None:
        """`presence_set` for every member of `members` (member -> value), in one atomic
        command: each is present until `ttl_s` seconds from now and expires on its own.
        Keep `members` to hundreds: the backend runs the whole call at once."""
        ...

    async def presence_remove(self, group: str, member: str) -> None:
        """Remove `member` from `group` (no error if absent)."""
        ...

    async def presence_members(self, group: str) -> dict[str, bytes]:
        """Live members of `group` and their values; expired members are excluded."""
        ...

    async def state_get(self, key: str) -> bytes | None:
        """The value stored at `key`, or None if missing or expired."""
        ...

    async def state_get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values at `keys`, in order (None for a missing or expired key), read in
        one command (Redis MGET): for reading thousands of visitors' live state."""
        ...

    async def state_set(self, key: str, value: bytes, ttl_s: float) -> None:
        """Store `value` at `key` for `ttl_s` seconds (replacing any value and TTL)."""
        ...

    def state_set_nowait(self, key: str, value: bytes, ttl_s: float) -> asyncio.Future[Any]:
        """`state_set` without waiting: queued now, so every command this node asks
        later (a read of the same key included) runs after it. The future settles when
        it is stored, or with the error that stopped it."""
        ...

    async def state_delete(self, key: str) -> None:
        """Delete `key` (no error if absent)."""
        ...

    async def run_script(self, name: str, keys: list[str], args: list[ScriptArg]) -> Any:
        """Run the atomic script `name` (server/broker/lua/<name>.lua) on `keys` and `args`.

        `keys` are logical (prefixed by the broker). Returns what the script returns
        in Redis terms: int, bytes, None or a list of those. Raises KeyError for an
        unknown script, ScriptError when the script rejects its arguments and
        BrokerUnavailable when the backend is unreachable (never retried once the
        script may have run).
        """
        ...
