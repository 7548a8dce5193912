"""The node's hub: its sockets, the channels they follow, and publishing to other nodes.

Channels: `conv:<id>` (messages, typing, read, status of one conversation), `site:<id>`
(queue changes for its agents), `agent:<id>` (revocation, access changes), `visitor:<id>`
(things addressed to one visitor on whichever node holds its socket).
Payloads travel in versioned msgpack envelopes; an unknown kind is counted and dropped.

Local fan-out (style habit 3): the hub holds the node's one broker subscription per
channel and a map of the local sockets on it; an envelope is decoded once per node,
not once per socket, and a socket costs a dict entry, not a subscription object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from server.broker.base import Broker, BrokerUnavailable, Subscription
from server.broker.envelope import EnvelopeError, decode_envelope, encode_envelope
from server.hub.connection import Connection
from server.metrics import Metrics
from server.store.database import Database

log = logging.getLogger("beckon.hub")

EventHandler = Callable[[str, Any], None]
# Publishes handed to the broker and not yet answered (see `publish_detached`); past
# this a caller waits for its own, so a broker outage under load holds a bounded number.
DETACHED_LIMIT = 1000
KNOWN_KINDS = frozenset(
    {
        "message",
        "typing",
        "read",
        "conversation",
        "closed",
        "queue",
        "revoke",
        "access",
        "invitation",
        "availability",
        "visitor",
        "assigned",
        "offer",
        "unassigned",
        "invitation_withdrawn",
        "visitor_left",
        "visitor_invitation",  # the live list's invited / in-chat mark (watch_feed.py)
        "canned",  # a site's canned replies changed (server/api/desk.py)
        "status",
        "server_event",
        "visitors",
        "erased",  # a visitor was erased: their sockets close (server/privacy/live.py)
        "follow_up",  # an inbox answer for a visitor (server/hub/follow_up.py)
        "ban",
        "visitor_page",  # a chat's visitor opened a page (server/chat/page_trail.py)
    }
)


def conv_channel(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def site_channel(site_id: str) -> str:
    return f"site:{site_id}"


def agent_channel(agent_id: str) -> str:
    return f"agent:{agent_id}"


def visitor_channel(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


class Hub:
    def __init__(self, db: Database, broker: Broker, metrics: Metrics) -> None:
        self.db = db
        self.broker = broker
        self.metrics = metrics
        self.node_id = secrets.token_hex(6)
        self.connections: set[Connection] = set()
        self._visitor_sockets: dict[str, int] = {}
        self._channels: dict[str, _Channel] = {}
        self._detached = 0  # publish_detached's publishes not yet answered
        broker.add_reconnect_listener(self._on_broker_reconnect)

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.metrics.connections.labels(conn.kind).inc()
        self.metrics.connects.labels(conn.kind).inc()

    async def remove(self, conn: Connection) -> None:
        """Forget `conn`: off every channel at once (no await in between, so nothing is
        left behind if this is cancelled), then its writer stops and the node drops
        the subscriptions no local socket follows any more."""
        if conn in self.connections:
            self.connections.discard(conn)
            self.metrics.connections.labels(conn.kind).dec()
        conn.closed = True  # from here `follow` and `spawn` refuse it
        channels, conn.channels = conn.channels, []
        unused: list[tuple[str, _Channel]] = []
        for channel in channels:
            entry = self._channels.get(channel)
            if entry is None:
                continue
            entry.handlers.pop(conn, None)
            if not entry.handlers and entry.live is None:
                unused.append((channel, entry))
        await conn.shutdown()
        for channel, entry in unused:
            await self._drop(channel, entry)

    def visitor_sockets_acquire(self, visitor_id: str, limit: int) -> bool:
        """Count one more socket for the visitor on this node; False past `limit`."""
        count = self._visitor_sockets.get(visitor_id, 0)
        if count >= limit:
            return False
        self._visitor_sockets[visitor_id] = count + 1
        return True

    def visitor_sockets_release(self, visitor_id: str | None) -> None:
        if visitor_id is None or visitor_id not in self._visitor_sockets:
            return
        self._visitor_sockets[visitor_id] -= 1
        if self._visitor_sockets[visitor_id] <= 0:
            del self._visitor_sockets[visitor_id]

    async def publish(self, channel: str, kind: str, payload: Any) -> bool:
        """Fan `payload` out to every node. Returns False when the broker is down: the
        caller's durable write stands, and nodes re-sync from the Store on reconnect."""
        data = encode_envelope(kind, self.node_id, payload)
        try:
            await self.broker.publish(channel, data)
        except BrokerUnavailable as exc:
            self.metrics.errors.labels("broker_publish").inc()
            self.metrics.backend_errors.labels("broker").inc()
            log.warning("publish on %s deferred to re-sync: %s", channel, exc)
            return False
        return True

    async def publish_detached(self, channel: str, kind: str, payload: Any) -> None:
        """`publish` for an event whose record is already in the Store (a message): it
        is handed to the broker now — in order with every other publish of this node —
        and the caller goes on without waiting for the broker's answer, so a broker
        outage never holds the ack or the socket's next frame. A failure is counted and
        logged as `publish`'s is; receivers re-sync from the Store when the broker is
        back. With `DETACHED_LIMIT` publishes unanswered, the caller waits for its own.
        """
        future = self.broker.publish_nowait(channel, encode_envelope(kind, self.node_id, payload))
        if future.done():
            self._answered(channel, future)
            return
        self._detached += 1
        future.add_done_callback(lambda done: self._answered(channel, done, detached=True))
        if self._detached > DETACHED_LIMIT:
            await asyncio.wait((future,))

    @property
    def detached_publishes(self) -> int:
        """Publishes handed over by `publish_detached` and not yet answered."""
        return self._detached

    def _answered(self, channel: str, future: asyncio.Future[None], detached: bool = False) -> None:
        if detached:
            self._detached -= 1
        exc = None if future.cancelled() else future.exception()
        if exc is not None:
            self.metrics.errors.labels("broker_publish").inc()
            log.warning("publish on %s deferred to re-sync: %s", channel, exc)

    async def follow(self, conn: Connection, channel: str, on_event: EventHandler) -> None:
        """Deliver `channel`'s events to `on_event(kind, payload)` of `conn` (once).

        Returns once the node's subscription is live: anything published after that
        reaches `on_event`. Raises BrokerUnavailable (and follows nothing) if the
        broker cannot subscribe. Handlers must not change the payload: every local
        socket on the channel gets the same decoded object. A socket the hub removed
        follows nothing (a late follow-up must not hold it, or the channel, forever).
        """
        if conn.closed:
            return
        entry = self._channels.get(channel)
        if channel not in conn.channels:
            if entry is None:
                entry = self._channels[channel] = _Channel()
                # Its own task: the first follower leaving (cancelled) mid-SUBSCRIBE must
                # not fail the others waiting on it.
                entry.live = asyncio.create_task(self._subscribe(channel, entry))
                entry.live.add_done_callback(_retrieved)
            conn.channels.append(channel)
            entry.handlers[conn] = on_event
        elif entry is None or entry.live is None:
            return
        if entry.live is not None:  # the SUBSCRIBE is in flight
            try:
                await asyncio.shield(entry.live)
            except BaseException:
                self._forget(conn, channel, entry)
                raise

    async def _subscribe(self, channel: str, entry: _Channel) -> None:
        try:
            entry.subscription = await self.broker.subscribe(channel, self._on_message)
        except BaseException as exc:
            if self._channels.get(channel) is entry:
                del self._channels[channel]
            for follower in entry.handlers:
                with contextlib.suppress(ValueError):
                    follower.channels.remove(channel)
            entry.handlers.clear()
            if isinstance(exc, BrokerUnavailable):
                raise
            raise BrokerUnavailable(f"subscribing {channel!r} failed: {exc!r}") from exc
        finally:
            entry.live = None
        if not entry.handlers:  # everyone left while it was subscribing
            await self._drop(channel, entry)

    async def unfollow(self, conn: Connection, channel: str) -> None:
        entry = self._channels.get(channel)
        if channel not in conn.channels:
            return
        conn.channels.remove(channel)
        if entry is None:
            return
        entry.handlers.pop(conn, None)
        if not entry.handlers and entry.live is None:
            await self._drop(channel, entry)

    def _forget(self, conn: Connection, channel: str, entry: _Channel) -> None:
        entry.handlers.pop(conn, None)
        with contextlib.suppress(ValueError):
            conn.channels.remove(channel)

    async def _drop(self, channel: str, entry: _Channel) -> None:
        if self._channels.get(channel) is entry:
            del self._channels[channel]
        if entry.subscription is not None:
            await entry.subscription.close()

    def _on_message(self, channel: str, data: bytes) -> None:
        entry = self._channels.get(channel)
        if entry is None or not entry.handlers:
            return
        try:
            envelope = decode_envelope(data)
        except EnvelopeError as exc:
            self.metrics.errors.labels("bad_envelope").inc()
            log.warning("dropped a bad envelope on %s: %s", channel, exc)
            return
        if envelope.kind not in KNOWN_KINDS:
            self.metrics.errors.labels("unknown_envelope_kind").inc()
            log.warning("dropped an envelope of unknown kind %r", envelope.kind)
            return
        kind, payload = envelope.kind, envelope.payload
        # A snapshot: a handler may follow or unfollow while we deliver.
        for on_event in tuple(entry.handlers.values()):
            try:
                on_event(kind, payload)
            except Exception:
                log.exception("a socket's %r handler failed on %s", kind, channel)

    def _on_broker_reconnect(self) -> None:
        for conn in list(self.connections):
            conn.resync_all()

    async def close_all(self, code: int, reason: str) -> None:
        """Close every socket (server shutdown: 1012, clients reconnect elsewhere)."""
        conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close(code, reason)
        await asyncio.gather(*(self.remove(c) for c in conns), return_exceptions=True)


def _retrieved(task: asyncio.Task[None]) -> None:
    # Every follower gets the failure through its own await; none left is not an error.
    if not task.cancelled():
        task.exception()


class _Channel:
    """The node's subscription to one channel and the local sockets that follow it."""

    __slots__ = ("handlers", "live", "subscription")

    def __init__(self) -> None:
        self.handlers: dict[Connection, EventHandler] = {}
        # The SUBSCRIBE while it is in flight; every follower waits on it.
        self.live: asyncio.Task[None] | None = None
        self.subscription: Subscription | None = None
