"""The node's hub: its sockets, the channels they follow, and publishing to other nodes.

Channels: `conv:<id>` (messages, typing, read, status of one conversation), `site:<id>`
(queue changes for its agents), `agent:<id>` (session revocation), `visitor:<id>`
(things addressed to one visitor on whichever node holds its socket).
Payloads travel in versioned msgpack envelopes; an unknown kind is counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from server.broker.base import Broker, BrokerUnavailable
from server.broker.envelope import EnvelopeError, decode_envelope, encode_envelope
from server.hub.connection import Connection
from server.metrics import Metrics
from server.store.database import Database

log = logging.getLogger("beckon.hub")

EventHandler = Callable[[str, Any], None]
KNOWN_KINDS = frozenset(
    {
        "message",
        "typing",
        "read",
        "conversation",
        "closed",
        "queue",
        "revoke",
        "invitation",
        "availability",
        "visitor",
        "assigned",
        "offer",
        "unassigned",
        "invitation_withdrawn",
        "visitor_left",
        "status",
        "server_event",
        "visitors",
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
        broker.add_reconnect_listener(self._on_broker_reconnect)

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.metrics.connections.labels(conn.kind).inc()

    async def remove(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.metrics.connections.labels(conn.kind).dec()
        await conn.shutdown()

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
            log.warning("publish on %s deferred to re-sync: %s", channel, exc)
            return False
        return True

    async def follow(self, conn: Connection, channel: str, on_event: EventHandler) -> None:
        """Subscribe `conn` to `channel` (once); events go to `on_event(kind, payload)`."""
        if channel in conn.subscriptions:
            return

        def handler(_channel: str, data: bytes) -> None:
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
            on_event(envelope.kind, envelope.payload)

        conn.subscriptions[channel] = await self.broker.subscribe(channel, handler)

    async def unfollow(self, conn: Connection, channel: str) -> None:
        subscription = conn.subscriptions.pop(channel, None)
        if subscription is not None:
            await subscription.close()

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
