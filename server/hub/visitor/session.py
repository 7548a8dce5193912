"""One visitor socket: what it knows, the events it receives from other nodes, and the
dispatch of each frame type to the handler of its domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket

from server.bans import visitor as ban_guard
from server.chat import conversations, messages
from server.chat.payloads import conversation_frame, message_frame
from server.chat.proactive import Proactive
from server.events import EventBus
from server.hub.connection import Connection
from server.hub.dispatch import Dispatch
from server.hub.hub import Hub, conv_channel
from server.hub.ratelimit import TokenBucket
from server.hub.socket_loop import Refused
from server.hub.visitor import behaviour, chat, feedback, follow_up, invitations, transcript
from server.privacy import live
from server.services import Services
from server.store import users as user_queries

# 4403: the widget stops for good (as for a refused origin) instead of reconnecting
# with the erased visitor's token.
CLOSE_ERASED = 4403
Handler = Callable[["VisitorSession", Any], Awaitable[None]]

# Frame type -> handler; each table lives with its domain.
# Frames a ban affects get its check in front (server/bans/visitor.py).
HANDLERS: dict[str, Handler] = ban_guard.guard(
    {
        **chat.HANDLERS,
        **behaviour.HANDLERS,
        **feedback.HANDLERS,
        **follow_up.HANDLERS,
        **invitations.HANDLERS,
        **transcript.HANDLERS,
    }
)


class VisitorSession:
    # Slots: one of these per socket, most of them idle (no per-instance dict).
    __slots__ = (
        "address",
        "banned",
        "conn",
        "db",
        "dispatch",
        "events",
        "events_budget",
        "hub",
        "owned",
        "proactive",
        "services",
        "site",
        "versions",
        "visitor_id",
        "ws",
    )

    def __init__(
        self, ws: WebSocket, services: Services, hub: Hub, site: dict[str, Any], address: str
    ) -> None:
        self.ws = ws
        self.address = address  # the client's, as `server/client_address.py` decides
        self.services = services
        self.db = services.db
        self.hub = hub
        self.site = site
        self.visitor_id: str | None = None
        self.banned = False  # shown offline (server/bans/visitor.py); set at hello
        self.conn = Connection(ws, "visitor", self._load_gap, services.metrics)
        self.dispatch: Dispatch = ws.app.state.dispatch
        self.events: EventBus = ws.app.state.events
        self.proactive: Proactive = ws.app.state.proactive
        self.versions: dict[str, int] = {}
        self.owned: set[str] = set()  # conversations checked to be this visitor's
        self.events_budget: TokenBucket | None = None  # made by the first behaviour frame

    @property
    def key(self) -> bytes:
        return self.services.settings.secret_key.encode()

    @property
    def origin(self) -> str:
        """Marks what this socket published, so it can skip its own echo."""
        return f"{self.hub.node_id}:{id(self.conn)}"

    def reply(self, frame: dict[str, Any], ref: str | None) -> None:
        """Send a direct reply, carrying the client's `ref` when it gave one."""
        self.conn.send({**frame, "ref": ref} if ref else frame)

    async def _load_gap(self, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
        rows = await messages.after(self.db, conversation_id, after_seq, include_internal=False)
        return [message_frame(r) for r in rows]

    # -- conversations this socket follows ----------------------------------------------
    async def conversation_frame(self, row: dict[str, Any]) -> dict[str, Any]:
        """The `conversation` frame a visitor sees (no private ids)."""
        agent = None
        if row.get("agent_id"):
            async with self.db.read() as conn:
                agent = await user_queries.get_user(conn, row["agent_id"])
        frame = conversation_frame(row, agent)
        for private in ("visitor_id", "site_id"):
            frame.pop(private, None)
        return frame

    async def follow_conversation(self, conversation_id: str, after_seq: int | None) -> None:
        """Order and receive this conversation's messages; replay after `after_seq`."""
        start = after_seq if after_seq is not None else await self._last_seq(conversation_id)
        self.conn.track(conversation_id, start)
        await self.hub.follow(self.conn, conv_channel(conversation_id), self.on_event)
        self.conn.sync(conversation_id, start)

    async def _last_seq(self, conversation_id: str) -> int:
        conv = await conversations.get(self.db, conversation_id)
        return conv["last_seq"] if conv else 0

    async def own_conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation if it is this visitor's; `not_found` for anything else, the
        same answer whether it exists or not, so ids cannot be probed."""
        conv = await conversations.get(self.db, conversation_id)
        if (
            conv is None
            or conv["visitor_id"] != self.visitor_id
            or (conv["site_id"] != self.site["id"])
        ):
            raise Refused("not_found", "no such conversation")
        return conv

    # -- events from other nodes ---------------------------------------------------------
    def on_event(self, kind: str, payload: Any) -> None:
        if kind == "message":
            # A note still moves this socket's position: seqs stay gap-free for it.
            text = None if payload["internal"] else payload["json"]
            self.conn.deliver_encoded(payload["conversation_id"], payload["seq"], text)
        elif kind == "typing":
            if payload["author"]["kind"] != "visitor":
                self.conn.send(payload)
        elif kind == "read":
            if payload.get("by") == "agent":
                self.conn.send({k: v for k, v in payload.items() if k != "by"})
        elif kind == "conversation":
            self._on_conversation(payload)
        elif kind == "closed":
            if payload.get("origin") != self.origin:
                self.conn.send({k: v for k, v in payload.items() if k != "origin"})
        elif kind == "ban":
            self.conn.spawn(ban_guard.on_event(self, payload))
        elif kind == "availability":
            if self.banned and payload["online"]:
                return  # a banned visitor always sees nobody online
            self.conn.send(payload)
            if not payload["online"]:
                self.conn.spawn(invitations.withdraw_paced(self))
        elif kind in ("invitation", "invitation_withdrawn", "follow_up"):
            if not self.banned:
                self.conn.send(payload)
        elif kind == "server_event":
            self.conn.spawn(behaviour.server_event(self, payload))
        elif kind == "erased":  # server/privacy/live.py: the visitor was erased
            self.conn.spawn(self._erased())

    def _on_conversation(self, payload: dict[str, Any]) -> None:
        if payload.get("origin") == self.origin:
            return  # this socket started it and already has it
        version = payload.get("version", 0)
        if version < self.versions.get(payload["id"], 0):
            return  # an older state that arrived late (another node's frame)
        self.versions[payload["id"]] = version
        hidden = ("visitor_id", "site_id", "origin")
        self.conn.send({k: v for k, v in payload.items() if k not in hidden})
        if payload["id"] not in self.conn.positions:
            self.conn.spawn(self.follow_conversation(payload["id"], 0))

    async def _erased(self) -> None:
        """Swept before the close (this task is cancelled once the socket ends) and once
        more after it, for a frame that was in hand while it closed."""
        if self.visitor_id is None:
            return
        await live.sweep_node(self.services, self.site["id"], self.visitor_id)
        await self.conn.close(CLOSE_ERASED, "visitor erased")
        await self.proactive.detach(self.visitor_id, log=False)
        await live.sweep_node(self.services, self.site["id"], self.visitor_id)

    # -- frames --------------------------------------------------------------------------
    async def handle(self, frame: Any) -> None:
        if frame.type == "ping":
            self.reply({"type": "pong"}, frame.ref)
            return
        handler = HANDLERS.get(frame.type)
        if handler is None:
            raise Refused("unavailable", f"'{frame.type}' is not enabled on this server")
        await handler(self, frame)
