"""`GET /ws/agent` — the console's socket (protocol.md, agent socket).

Authenticated by the session cookie (same origin only) or by `hello {token}` as the
first frame. A revoked session or token, or a deactivated agent, is closed with 4401 on
every node; a role that does not answer chats (marketer), or an agent of no site, with
4403. The socket answers only for the sites where its user is an agent
(server/hub/agent_access.py), and follows changes to them while it is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from server.api.users_view import user_out
from server.auth import SESSION_COOKIE, Principal, principal_from_cookie, principal_from_token
from server.chat import conversations, messages, presence
from server.chat.assignment import RoutingError
from server.chat.payloads import conversation_frame, message_frame
from server.chat.proactive import Proactive, online_group
from server.chat.state import BadTransition
from server.chat.visitor_query import QueryError, parse_query
from server.events import EventBus
from server.hub import chat_events
from server.hub.access_events import revoke_hits
from server.hub.agent_access import (
    CLOSE_UNAUTHORIZED,
    Access,
    AccessDenied,
    current_access,
)
from server.hub.connection import Connection
from server.hub.dispatch import Dispatch
from server.hub.hub import Hub, agent_channel, conv_channel, site_channel
from server.hub.socket_loop import Refused, receive_text, run_frames
from server.hub.visitor_views import VisitorViews
from server.ids import now_ms
from server.media import references
from server.services import Services
from server.store import conversations as conv_queries
from server.store import sites as site_queries
from server.store import users as user_queries
from server.store.database import StoreUnavailable
from server.wire.codec import decode_frame
from server.wire.errors import FrameError
from server.wire.frames import parse_agent_frame

CLOSE_FORBIDDEN_ORIGIN = 4403
HELLO_TIMEOUT_S = 10.0


def same_origin(ws: WebSocket, public_url: str) -> bool:
    origin = ws.headers.get("origin")
    if not origin:
        return True  # not a browser: cookies are not sent cross-site without one
    parts = urlsplit(origin)
    allowed = {ws.headers.get("host", "")}
    if public_url:
        allowed.add(urlsplit(public_url).netloc)
    return parts.netloc in allowed


async def _authenticate(ws: WebSocket, services: Services) -> Principal | None:
    cookie = ws.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = await principal_from_cookie(services.db, cookie)
        if principal is not None:
            return principal
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            text = await receive_text(ws)
    except (TimeoutError, FrameError):
        return None
    if text is None:
        return None
    try:
        obj = decode_frame(text)
        frame = parse_agent_frame(obj)
    except FrameError:
        return None
    if frame.type != "hello":
        return None
    return await principal_from_token(services.db, frame.token)


async def agent_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.hub
    await ws.accept()
    if not same_origin(ws, services.settings.public_url):
        await ws.close(CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    principal = await _authenticate(ws, services)
    if principal is None:
        await ws.close(CLOSE_UNAUTHORIZED, "sign in first")
        return
    try:
        access = await current_access(services.db, principal)
    except AccessDenied as exc:
        await ws.close(exc.code, exc.reason)
        return
    session = AgentSession(ws, services, hub, principal, access)
    hub.add(session.conn)
    try:
        await session.start()
        await run_frames(ws, session.conn, parse_agent_frame, session.handle)
    finally:
        await session.stop()
        await hub.remove(session.conn)


class AgentSession:
    def __init__(
        self, ws: WebSocket, services: Services, hub: Hub, principal: Principal, access: Access
    ) -> None:
        self.services = services
        self.db = services.db
        self.hub = hub
        self.principal = principal
        self.agent = access.user
        # Only the sites where this user answers chats (agent_access.py); kept current.
        self.sites: dict[str, dict[str, Any]] = dict(access.sites)
        self.site_ids: list[str] = list(self.sites)
        self._access_lock = asyncio.Lock()
        self._recheck_s = float(services.settings.agent_access_recheck_s)
        self.conn = Connection(ws, "agent", self._load_gap, services.metrics)
        self._presence_task: asyncio.Task[None] | None = None
        self.dispatch: Dispatch = ws.app.state.dispatch
        self.router = self.dispatch.router
        self.events: EventBus = ws.app.state.events
        self.socket_id = secrets.token_hex(6)
        self.status = "offline"
        self.presence_ttl_s = float(services.settings.presence_ttl_s)
        self.signed_out = False

    async def _load_gap(self, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
        rows = await messages.after(self.db, conversation_id, after_seq, include_internal=True)
        return [message_frame(r) for r in rows]

    async def start(self) -> None:
        async with self.db.read() as conn:
            mine = await conv_queries.list_open_for_agent(conn, self.agent["id"])
            # Chats it holds on a site it no longer answers for are not replayed to it.
            mine = [c for c in mine if c["site_id"] in self.sites]
            queued = await conv_queries.list_queued(conn, self.site_ids)
        # Connected counts as present (status offline until the agent says otherwise), so
        # chats this agent holds are not taken away while the console is open.
        await self._announce(self.status)
        self._presence_task = asyncio.create_task(self._refresh_presence())
        # The agent channel first: a change of access made while this socket starts
        # reaches it (and the periodic re-check covers one made before).
        await self.hub.follow(self.conn, agent_channel(self.agent["id"]), self.on_event)
        self.conn.spawn(self._recheck_access_forever())
        for site_id in self.site_ids:
            await self.hub.follow(self.conn, site_channel(site_id), self.on_event)
        for conv in mine:
            await self._follow(conv["id"], conv["last_seq"])
        self.conn.send(
            {
                "type": "welcome",
                "agent": user_out(self.agent, self.site_ids),
                "sites": self._sites_out(),
                "conversations": await self._with_briefs(mine),
                "queue": await self._with_briefs(queued),
            }
        )

    def _sites_out(self) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "name": s["name"], "departments": s["departments"]}
            for s in self.sites.values()
        ]

    async def stop(self) -> None:
        if self._presence_task is not None:
            self._presence_task.cancel()
        views: VisitorViews = self.conn.ws.app.state.visitor_views
        await views.forget(self.conn)
        with contextlib.suppress(Exception):
            await self._leave()
            for site_id in self.site_ids:
                site = await self.dispatch.site(site_id)
                if site is not None:
                    await self.dispatch.availability(site)

    async def _leave(self) -> None:
        """The console is gone. Unless signed out, it may be a network blip, a slow
        reader closed with 4408 or a node restart: the socket stays present, as
        offline (routing offers it nothing), for the reconnect grace, so the agent's
        chats are not requeued if a console comes back in time (the janitor requeues
        them once no presence is left)."""
        grace_s = float(self.services.settings.agent_reconnect_grace_s)
        if self.signed_out or grace_s <= 0:
            await presence.leave(
                self.services.broker, self.agent["id"], self.site_ids, self.socket_id
            )
            return
        await presence.announce(
            self.services.broker, self.agent, self.site_ids, "offline", self.socket_id, grace_s
        )

    async def _follow(self, conversation_id: str, after_seq: int) -> None:
        self.conn.track(conversation_id, after_seq)
        await self.hub.follow(self.conn, conv_channel(conversation_id), self.on_event)
        self.conn.sync(conversation_id, after_seq)

    async def _conversation(self, conversation_id: str) -> dict[str, Any]:
        """A conversation of one of this agent's sites; `not_found` otherwise."""
        conv = await conversations.get(self.db, conversation_id)
        if conv is None or conv["site_id"] not in self.sites:
            raise Refused("not_found", "no such conversation")
        return conv

    def _assigned(self, conv: dict[str, Any]) -> None:
        if conv["agent_id"] != self.agent["id"] or conv["status"] != "active":
            raise Refused("forbidden", "this conversation is not assigned to you")

    # -- events from other nodes ---------------------------------------------------------
    def on_event(self, kind: str, payload: Any) -> None:
        if kind == "message":
            self.conn.deliver_encoded(payload["conversation_id"], payload["seq"], payload["json"])
        elif kind == "typing":
            if payload["author"].get("id") != self.agent["id"]:
                self.conn.send(payload)
        elif kind == "read":
            if payload.get("by") == "visitor":
                self.conn.send({k: v for k, v in payload.items() if k != "by"})
        elif kind in ("conversation", "visitor_page"):
            self.conn.send(payload)
        elif kind == "closed":
            if payload.get("origin") != self.socket_id:
                self.conn.send({k: v for k, v in payload.items() if k != "origin"})
        elif kind == "queue":
            self.conn.spawn(self._send_queue(payload["site_id"]))
        elif kind == "assigned":
            if payload["site_id"] in self.sites:  # not a site this socket lost
                self.conn.spawn(self._take(payload))
        elif kind == "offer":
            self.conn.send(payload)
        elif kind == "unassigned":
            self.conn.spawn(self.hub.unfollow(self.conn, conv_channel(payload["conversation_id"])))
        elif kind == "status":
            if payload.get("origin") != self.socket_id and payload["status"] != self.status:
                self.conn.spawn(self._set_status(payload["status"]))
        elif kind == "revoke":
            if revoke_hits(payload, self.principal):
                reason = "token revoked" if self.principal.via == "token" else "session revoked"
                self.signed_out = True  # no reconnect grace: the chats go back now
                self.conn.close_soon(CLOSE_UNAUTHORIZED, reason)
        elif kind == "access":
            self.conn.spawn(self._recheck_access())
        elif kind == "canned":  # shared replies, or this agent's own
            if payload["agent_id"] in (None, self.agent["id"]):
                self.conn.send(payload)

    # -- access: role and sites, re-read when they change ------------------------------
    async def _recheck_access_forever(self) -> None:
        expires_ts = self.principal.expires_ts
        while True:
            wait_s = self._recheck_s
            if expires_ts is not None:
                # A session or token that expires is re-checked the moment it does.
                wait_s = min(wait_s, max(0.0, (expires_ts - now_ms()) / 1000 + 0.05))
            await asyncio.sleep(wait_s)
            if not await self._recheck_access():
                return

    async def _recheck_access(self) -> bool:
        """Re-read the role and sites; lose and gain sites. False when the socket is
        being closed instead (4401/4403)."""
        async with self._access_lock:
            try:
                access = await current_access(self.db, self.principal)
            except AccessDenied as exc:
                self.signed_out = True  # no reconnect grace for a user who lost access
                self.conn.close_soon(exc.code, exc.reason)
                return False
            except StoreUnavailable:
                return True  # keep what we had; the next re-check tries again
            self.agent = access.user
            lost = [s for s in self.sites if s not in access.sites]
            gained = [s for s in access.sites if s not in self.sites]
            self.sites = dict(access.sites)
            self.site_ids = list(self.sites)
            if not lost and not gained:
                return True
            for site_id in lost:
                await self._lose_site(site_id)
            for site_id in gained:
                await self.hub.follow(self.conn, site_channel(site_id), self.on_event)
            await self._announce(self.status)
            self.conn.send({"type": "sites", "sites": self._sites_out()})
            for site_id in gained:
                await self._send_queue(site_id)
                await self.dispatch.route(site_id)
            return True

    async def _lose_site(self, site_id: str) -> None:
        """Stop answering for `site_id`: its queue, live visitors and chats stop reaching
        this socket (nothing of them is replayed), and routing no longer counts it."""
        await self.hub.unfollow(self.conn, site_channel(site_id))
        views: VisitorViews = self.conn.ws.app.state.visitor_views
        await views.hide(self.conn, site_id)
        for conversation_id in list(self.conn.positions):
            conv = await conversations.get(self.db, conversation_id)
            if conv is None or conv["site_id"] not in self.sites:
                await self.hub.unfollow(self.conn, conv_channel(conversation_id))
                self.conn.positions.pop(conversation_id, None)
        await presence.leave(self.services.broker, self.agent["id"], [site_id], self.socket_id)
        site = await self.dispatch.site(site_id)
        if site is not None:
            await self.dispatch.availability(site)
            await self.dispatch.route(site_id)

    async def _take(self, frame: dict[str, Any]) -> None:
        """A chat was assigned to this agent (by routing or a transfer)."""
        if frame["id"] not in self.conn.positions:
            await self._follow(frame["id"], 0)
        self.conn.send(frame)

    async def _send_queue(self, site_id: str) -> None:
        if site_id not in self.sites:
            return
        async with self.db.read() as conn:
            queued = await conv_queries.list_queued(conn, [site_id])
        items = await self._with_briefs(queued)
        self.conn.send({"type": "queue", "site_id": site_id, "items": items})

    async def _with_briefs(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Conversation frames with the console's visitor brief (one batched read)."""
        briefs = await self.dispatch.briefs.many(r["visitor_id"] for r in rows)
        return [conversation_frame(r, visitor=briefs[r["visitor_id"]]) for r in rows]

    # -- frames --------------------------------------------------------------------------
    async def handle(self, frame: Any) -> None:
        kind = frame.type
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            raise Refused("unavailable", f"'{kind}' is not enabled on this server")
        await handler(frame)

    async def _on_ping(self, frame: Any) -> None:
        self.conn.send({"type": "pong", **({"ref": frame.ref} if frame.ref else {})})

    async def _on_hello(self, frame: Any) -> None:
        raise Refused("conflict", "already authenticated")

    async def _on_status(self, frame: Any) -> None:
        await self._set_status(frame.status)
        # The agent's other consoles (any node) follow the same status.
        await self.hub.publish(
            agent_channel(self.agent["id"]),
            "status",
            {"status": frame.status, "origin": self.socket_id},
        )
        self.conn.send(
            {"type": "status", "status": frame.status, **({"ref": frame.ref} if frame.ref else {})}
        )

    async def _set_status(self, status: str) -> None:
        self.status = status
        await self._announce(status)
        for site_id in self.site_ids:
            await self.dispatch.route(site_id)

    async def _announce(self, status: str) -> None:
        await presence.announce(
            self.services.broker,
            self.agent,
            self.site_ids,
            status,
            self.socket_id,
            self.presence_ttl_s,
        )

    async def _refresh_presence(self) -> None:
        # Presence expires by itself when this node dies; while it lives, keep it fresh.
        while True:
            await asyncio.sleep(self.presence_ttl_s / 3)
            with contextlib.suppress(Exception):
                await self._announce(self.status)

    async def _on_accept(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        try:
            accepted = await self.router.accept(conv, self.agent)
        except RoutingError as exc:
            raise Refused(exc.code, exc.message) from None
        await self._follow(accepted["id"], 0)
        out = conversation_frame(accepted, self.agent)
        await chat_events.publish_conversation(self.hub, out)
        if frame.ref:
            brief = await self.dispatch.briefs.one(accepted["visitor_id"])
            self.conn.send({**out, "visitor": brief, "ref": frame.ref})
        await self.dispatch.route(accepted["site_id"])

    async def _on_decline(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        try:
            await self.router.decline(conv, self.agent["id"])
        except RoutingError as exc:
            raise Refused(exc.code, exc.message) from None
        self.conn.send(
            {
                "type": "declined",
                "conversation_id": conv["id"],
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )
        await self.dispatch.route(conv["site_id"])

    async def _on_transfer(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        self._assigned(conv)
        site = self.sites[conv["site_id"]]
        if frame.agent_id:
            target = await self._transfer_target(conv, frame.agent_id)
            try:
                moved = await self.router.transfer_to_agent(conv, target)
            except RoutingError as exc:
                raise Refused(exc.code, exc.message) from None
            note = f"{self.agent['display_name']} transferred the chat to {target['display_name']}"
            await chat_events.post_system_message(self.hub, self.db, moved["id"], note)
            await self.dispatch.announce_assignment(moved)
        else:
            if frame.department not in site["departments"]:
                raise Refused("invalid_frame", f"unknown department '{frame.department}'")
            moved = await self.router.requeue(conv, frame.department, expect_agent=self.agent["id"])
            if moved is None:
                raise Refused("conflict", "the conversation changed; reload it")
            note = f"{self.agent['display_name']} transferred the chat to {frame.department}"
            await chat_events.post_system_message(self.hub, self.db, moved["id"], note)
            await chat_events.publish_conversation(self.hub, conversation_frame(moved))
        await self.hub.unfollow(self.conn, conv_channel(conv["id"]))
        self.conn.positions.pop(conv["id"], None)
        self.conn.send(
            {
                "type": "transferred",
                "conversation_id": conv["id"],
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )
        await self.dispatch.route(conv["site_id"])

    async def _transfer_target(self, conv: dict[str, Any], agent_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            target = await user_queries.get_user(conn, agent_id)
            member = target is not None and (
                target["role"] == "admin"
                or await site_queries.is_member(conn, conv["site_id"], agent_id)
            )
        if not member or target is None or not target["active"]:
            raise Refused("not_found", "no such agent on this site")
        return target

    async def _on_message(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        self._assigned(conv)
        sender = f"a:{self.agent['id']}"
        if frame.attachments:  # server/media/references.py: checked before, claimed after
            try:
                await references.check(
                    self.db, conv["id"], sender, frame.client_msg_id, frame.attachments
                )
            except references.BadReference as bad:
                raise Refused(bad.code, str(bad)) from None
        try:
            row, duplicate = await self.services.message_writer.append(
                conversation_id=conv["id"],
                sender=sender,
                author_kind="agent",
                author_id=self.agent["id"],
                author_name=self.agent["display_name"],
                client_msg_id=frame.client_msg_id,
                text=frame.text,
                internal=bool(frame.internal),
            )
        except messages.ConversationClosed:
            raise Refused("conflict", "the conversation is closed") from None
        if frame.attachments:
            row = await references.claim(self.db, row, frame.attachments)
        ack = message_frame(row)
        if frame.ref:
            ack["ref"] = frame.ref
        if duplicate:
            self.conn.send(ack)
            # The first attempt's node may have died between its commit and its publish:
            # publish again (receivers drop a seq they already have).
            await chat_events.publish_message(self.hub, row)
            return
        self.conn.deliver(conv["id"], row["seq"], ack)
        await chat_events.publish_message(self.hub, row)
        chat_events.emit_message_created(self.events, conv["site_id"], row)

    async def _on_typing(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        self._assigned(conv)
        await self.hub.publish_detached(
            conv_channel(conv["id"]),
            "typing",
            {
                "type": "typing",
                "conversation_id": conv["id"],
                "on": frame.on,
                "author": {
                    "kind": "agent",
                    "id": self.agent["id"],
                    "name": self.agent["display_name"],
                },
            },
        )

    async def _on_read(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        await self.hub.publish_detached(
            conv_channel(conv["id"]),
            "read",
            {
                "type": "read",
                "conversation_id": conv["id"],
                "seq": frame.seq,
                "by": "agent",
            },
        )

    async def _on_resume(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        self.conn.track(conv["id"], frame.after_seq)
        await self.hub.follow(self.conn, conv_channel(conv["id"]), self.on_event)
        self.conn.sync(conv["id"], frame.after_seq)

    async def _on_close(self, frame: Any) -> None:
        conv = await self._conversation(frame.conversation_id)
        if conv["status"] == "active":
            self._assigned(conv)
        try:
            closed = await conversations.close(self.db, conv["id"], "agent")
        except BadTransition as exc:
            raise Refused("conflict", str(exc)) from None
        site = self.sites[closed["site_id"]]
        await self.router.finished(conv)
        survey = chat_events.survey_kinds(site) if conv["status"] == "active" else []
        reply = chat_events.closed_frame(closed["id"], "agent", survey)
        self.conn.send({**reply, **({"ref": frame.ref} if frame.ref else {})})
        await chat_events.publish_closed(self.hub, closed["id"], "agent", survey, self.socket_id)
        self.events.emit(
            "conversation.closed",
            {"conversation_id": closed["id"], "site_id": closed["site_id"], "by": "agent"},
        )
        await self.dispatch.route(closed["site_id"])

    # -- live visitors and manual invitations -------------------------------------------
    async def _on_view(self, frame: Any) -> None:
        await self._show(frame.site_id, frame.query, frame.offset, frame.limit, frame.ref)

    async def _on_watch(self, frame: Any) -> None:
        # The first version's frame: the default view's first rows.
        await self._show(frame.site_id, {}, 0, 50, frame.ref)

    async def _show(
        self, site_id: str, params: dict[str, Any], offset: int, limit: int, ref: str | None
    ) -> None:
        if site_id not in self.sites:
            raise Refused("not_found", "no such site")
        try:
            query = parse_query(params)
        except QueryError as exc:
            raise Refused("invalid_frame", f"field 'query': {exc}") from None
        views: VisitorViews = self.conn.ws.app.state.visitor_views
        await views.show(self.conn, site_id, query, offset, limit, ref)

    async def _on_unwatch(self, frame: Any) -> None:
        views: VisitorViews = self.conn.ws.app.state.visitor_views
        await views.hide(self.conn, frame.site_id)
        self.conn.send(
            {
                "type": "unwatched",
                "site_id": frame.site_id,
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )

    async def _on_invite(self, frame: Any) -> None:
        async with self.db.read() as conn:
            visitor = await conv_queries.get_visitor(conn, frame.visitor_id)
        if visitor is None or visitor["site_id"] not in self.sites:
            raise Refused("not_found", "no such visitor")
        members = await self.services.broker.presence_members(online_group(visitor["site_id"]))
        if visitor["id"] not in members:
            raise Refused("conflict", "the visitor is not on the site now")
        proactive: Proactive = self.conn.ws.app.state.proactive
        row = await proactive.manual_invite(
            self.sites[visitor["site_id"]], visitor["id"], frame.text, self.agent
        )
        self.conn.send(
            {
                "type": "invited",
                "visitor_id": visitor["id"],
                "invitation_id": row["id"],
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )
