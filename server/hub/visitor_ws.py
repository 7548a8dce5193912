"""`GET /ws/visitor?site=SITE_KEY` — the widget's socket (protocol.md, visitor socket)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.websockets import WebSocket

from server.chat import (
    attribution,
    conversations,
    feedback,
    invitation_log,
    messages,
    visitor_state,
)
from server.chat import visitor_token as tokens
from server.chat.payloads import conversation_frame, message_frame
from server.chat.proactive import Proactive
from server.chat.state import BadTransition
from server.events import EventBus
from server.hub import chat_events
from server.hub.connection import Connection
from server.hub.dispatch import Dispatch, visitors_channel
from server.hub.hub import Hub, conv_channel, visitor_channel
from server.hub.socket_loop import Refused, receive_text, run_frames
from server.ids import new_id, now_ms
from server.services import Services
from server.store import conversations as conv_queries
from server.store import users as user_queries
from server.wire.codec import decode_frame, error_frame
from server.wire.errors import FrameError
from server.wire.frames import parse_visitor_frame

log = logging.getLogger("beckon.visitor")
HELLO_TIMEOUT_S = 10.0
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_NO_HELLO = 4408
MAX_SOCKETS_PER_VISITOR = 10
BEHAVIOUR_TYPES = frozenset({"page_view", "track", "cart", "attributes"})


async def visitor_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.hub
    from server.hub.origins import origin_allowed

    site_key = ws.query_params.get("site", "")
    site = await ws.app.state.sites_by_key.get(site_key) if site_key else None
    await ws.accept()
    if site is None:
        await ws.close(CLOSE_FORBIDDEN_ORIGIN, "unknown site")
        return
    if not origin_allowed(ws.headers.get("origin"), site["allowed_origins"]):
        await ws.close(CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    session = VisitorSession(ws, services, hub, site)
    hub.add(session.conn)
    try:
        hello = await session.wait_hello()
        if hello is None:
            return
        await session.on_hello(hello)
        del hello  # an idle socket keeps nothing of its hello
        await run_frames(ws, session.conn, parse_visitor_frame, session.handle)
    finally:
        if session.visitor_id is not None:
            await session.proactive.detach(session.visitor_id)
        hub.visitor_sockets_release(session.visitor_id)
        await hub.remove(session.conn)


class VisitorSession:
    # Slots: one of these per socket, most of them idle (no per-instance dict).
    __slots__ = (
        "conn",
        "db",
        "dispatch",
        "events",
        "hub",
        "owned",
        "proactive",
        "services",
        "site",
        "versions",
        "visitor_id",
        "ws",
    )

    def __init__(self, ws: WebSocket, services: Services, hub: Hub, site: dict[str, Any]) -> None:
        self.ws = ws
        self.services = services
        self.db = services.db
        self.hub = hub
        self.site = site
        self.visitor_id: str | None = None
        self.conn = Connection(ws, "visitor", self._load_gap, services.metrics)
        self.dispatch: Dispatch = ws.app.state.dispatch
        self.events: EventBus = ws.app.state.events
        self.proactive: Proactive = ws.app.state.proactive
        self.versions: dict[str, int] = {}
        self.owned: set[str] = set()  # conversations checked to be this visitor's

    @property
    def key(self) -> bytes:
        return self.services.settings.secret_key.encode()

    def _edge_country(self) -> str | None:
        """The country the trusted edge put in its header (the engine checks the code)."""
        header = self.services.settings.geo_country_header
        if not header:
            return None
        return self.ws.headers.get(header, "")[:8] or None

    @property
    def origin(self) -> str:
        """Marks what this socket published, so it can skip its own echo."""
        return f"{self.hub.node_id}:{id(self.conn)}"

    async def _load_gap(self, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
        rows = await messages.after(self.db, conversation_id, after_seq, include_internal=False)
        return [message_frame(r) for r in rows]

    # -- hello ---------------------------------------------------------------------------
    async def wait_hello(self) -> Any | None:
        """The first `hello` within 10 s; other frames before it get an error."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HELLO_TIMEOUT_S
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    text = await receive_text(self.ws)
            except TimeoutError:
                await self.conn.close(CLOSE_NO_HELLO, "hello not received within 10 s")
                return None
            except FrameError as exc:
                self.conn.send(error_frame(exc.code, exc.message))
                continue
            if text is None:
                return None
            try:
                obj = decode_frame(text)
                if obj.get("type") != "hello":
                    raise FrameError(
                        "invalid_frame", "the first frame must be hello", obj.get("ref")
                    )
                return parse_visitor_frame(obj)
            except FrameError as exc:
                self.conn.send(error_frame(exc.code, exc.message, exc.ref))

    async def on_hello(self, hello: Any) -> None:
        now = now_ms()
        site_id = self.site["id"]
        visitor_id = None
        if hello.visitor_token:
            visitor_id = tokens.verify(self.key, hello.visitor_token, site_id, now)
            if visitor_id is None:
                self.conn.send(
                    error_frame(
                        "unauthorized",
                        "visitor_token is not valid; continuing as a new visitor",
                        hello.ref,
                    )
                )
        is_new = visitor_id is None
        visitor_id = visitor_id or new_id("vi")
        if not self.hub.visitor_sockets_acquire(visitor_id, MAX_SOCKETS_PER_VISITOR):
            await self.conn.close(4429, "too many connections for this visitor")
            return
        self.visitor_id = visitor_id
        identity = hello.identity
        user_id = name = email = None
        if identity is not None:
            if tokens.identity_ok(
                self.site["identity_secret"], identity.user_id, identity.user_hash
            ):
                user_id, name, email = identity.user_id, identity.name, identity.email
            else:
                self.conn.send(
                    error_frame(
                        "unauthorized",
                        "identity could not be verified; the visitor stays anonymous",
                        hello.ref,
                    )
                )
        attributes = dict(hello.attributes or {})
        await self.services.visitor_writer.save(
            {
                "id": visitor_id,
                "site_id": site_id,
                "user_id": user_id,
                "name": name,
                "email": email,
                "attributes": attributes,
                "first_seen_ts": now,
                "last_seen_ts": now,
            },
            new=is_new,
        )
        # An id this node just made has no conversations: no reads for a new visitor.
        chats = 0
        if not is_new:
            async with self.db.read() as conn:
                chats = await conv_queries.count_for_visitor(conn, visitor_id)
        # The same fields go to the engine and to the visit log, so a backtest replays
        # exactly what the live engine saw.
        hello_event = {
            "page": hello.page.model_dump(mode="json") if hello.page else None,
            "lang": hello.lang,
            "accept_language": self.ws.headers.get("accept-language", "")[:200],
            "user_agent": self.ws.headers.get("user-agent", "")[:500],
            "identified": user_id is not None,
            "tz": hello.tz,
            "country": self._edge_country(),
            "attributes": attributes,
            "chats": chats,
            "name": name,
            "email": email,
        }
        hello_event = {k: v for k, v in hello_event.items() if v is not None}
        self.services.visit_log.append(site_id, visitor_id, now, "hello", hello_event)
        await self.hub.follow(self.conn, visitor_channel(visitor_id), self.on_event)
        await self.hub.follow(self.conn, visitors_channel(site_id), self.on_event)
        open_conv = None
        if not is_new:  # read after following, so a chat opened meanwhile is not missed
            async with self.db.read() as conn:
                open_conv = await conv_queries.open_conversation_of(conn, visitor_id)
        settings = self.site.get("settings") or {}
        welcome: dict[str, Any] = {
            "type": "welcome",
            "visitor_id": visitor_id,
            "visitor_token": tokens.issue(self.key, site_id, visitor_id, now),
            "online": await self._online(),
            "widget": {
                "lang": hello.lang or self.site["default_lang"],
                **self.site["widget"],
                "departments": self.site["departments"],
                "consent_required": settings.get("consent_mode") == "required",
            },
        }
        if hello.ref:
            welcome["ref"] = hello.ref
        if open_conv is not None:
            welcome["conversation"] = await self._conversation_frame(open_conv)
        self.conn.send(welcome)
        if open_conv is not None:
            resume = hello.conversation
            after = resume.after_seq if resume and resume.id == open_conv["id"] else None
            await self._follow_conversation(open_conv["id"], after)
        if hello.conversation and (open_conv is None or hello.conversation.id != open_conv["id"]):
            # Resuming a conversation that has since closed: replay what was missed.
            try:
                conv = await self._own_conversation(hello.conversation.id)
            except Refused as exc:
                self.conn.send(error_frame(exc.code, exc.message, hello.ref))
            else:
                await self._follow_conversation(conv["id"], hello.conversation.after_seq)
        await self.proactive.attach(visitor_id, self.site)
        await self.proactive.event(
            self.site,
            visitor_id,
            {"type": "hello", **hello_event},
            conversation_open=open_conv is not None,
        )

    async def _online(self) -> bool:
        return await self.dispatch.online(self.site)

    async def _conversation_frame(self, row: dict[str, Any]) -> dict[str, Any]:
        agent = None
        if row.get("agent_id"):
            async with self.db.read() as conn:
                agent = await user_queries.get_user(conn, row["agent_id"])
        frame = conversation_frame(row, agent)
        for private in ("visitor_id", "site_id"):
            frame.pop(private, None)
        return frame

    async def _follow_conversation(self, conversation_id: str, after_seq: int | None) -> None:
        """Order and receive this conversation's messages; replay after `after_seq`."""
        start = after_seq if after_seq is not None else await self._last_seq(conversation_id)
        self.conn.track(conversation_id, start)
        await self.hub.follow(self.conn, conv_channel(conversation_id), self.on_event)
        self.conn.sync(conversation_id, start)

    async def _last_seq(self, conversation_id: str) -> int:
        conv = await conversations.get(self.db, conversation_id)
        return conv["last_seq"] if conv else 0

    async def _own_conversation(self, conversation_id: str) -> dict[str, Any]:
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
            if payload.get("origin") == self.origin:
                return  # this socket started it and already has it
            version = payload.get("version", 0)
            if version < self.versions.get(payload["id"], 0):
                return  # an older state that arrived late (another node's frame)
            self.versions[payload["id"]] = version
            hidden = ("visitor_id", "site_id", "origin")
            frame = {k: v for k, v in payload.items() if k not in hidden}
            self.conn.send(frame)
            if payload["id"] not in self.conn.positions:
                self.conn.spawn(self._follow_conversation(payload["id"], 0))
        elif kind == "closed":
            if payload.get("origin") != self.origin:
                self.conn.send({k: v for k, v in payload.items() if k != "origin"})
        elif kind == "availability":
            self.conn.send(payload)
            if not payload["online"]:
                self.conn.spawn(self._withdraw_paced())
        elif kind in ("invitation", "invitation_withdrawn"):
            self.conn.send(payload)
        elif kind == "server_event":
            self.conn.spawn(self._server_event(payload))

    # -- frames --------------------------------------------------------------------------
    async def handle(self, frame: Any) -> None:
        kind = frame.type
        if kind == "ping":
            self.conn.send({"type": "pong", **({"ref": frame.ref} if frame.ref else {})})
        elif kind == "message":
            await self._message(frame)
        elif kind == "chat_start":
            await self._chat_start(frame)
        elif kind == "typing":
            await self._own_conversation(frame.conversation_id)
            await self.hub.publish(
                conv_channel(frame.conversation_id),
                "typing",
                {
                    "type": "typing",
                    "conversation_id": frame.conversation_id,
                    "on": frame.on,
                    "author": {"kind": "visitor"},
                },
            )
        elif kind == "read":
            await self._own_conversation(frame.conversation_id)
            await self.hub.publish(
                conv_channel(frame.conversation_id),
                "read",
                {
                    "type": "read",
                    "conversation_id": frame.conversation_id,
                    "seq": frame.seq,
                    "by": "visitor",
                },
            )
        elif kind == "resume":
            conv = await self._own_conversation(frame.conversation_id)
            self.conn.track(conv["id"], frame.after_seq)
            await self.hub.follow(self.conn, conv_channel(conv["id"]), self.on_event)
            self.conn.sync(conv["id"], frame.after_seq)
        elif kind == "close":
            await self._close(frame)
        elif kind in BEHAVIOUR_TYPES:
            await self._behaviour(frame)
        elif kind == "survey":
            await self._survey(frame)
        elif kind == "offline_message":
            await self._offline_message(frame)
        elif kind == "invitation_shown":
            await self._invitation_shown(frame)
        elif kind == "invitation_accept":
            await self._invitation_accept(frame)
        elif kind == "invitation_dismiss":
            await self._invitation_dismiss(frame)
        else:
            raise Refused("unavailable", f"'{kind}' is not enabled on this server")

    async def _head_start(self) -> float:
        """Seconds of queue priority this visitor gets by the site's settings."""
        settings = self.site.get("settings") or {}
        state = await visitor_state.load(self.services.broker, self.visitor_id)
        head = 0.0
        if state.facts.identified:
            head += settings.get("priority_identified_s", 0)
        threshold = settings.get("priority_cart_value")
        cart = state.facts.cart_value
        if threshold is not None and cart is not None and cart >= threshold:
            head += settings.get("priority_cart_s", 0)
        return head

    async def _start(self, department: str | None, **links: Any) -> tuple[dict[str, Any], bool]:
        links["head_start_s"] = await self._head_start()
        conv, created = await conversations.start(
            self.db,
            site_id=self.site["id"],
            visitor_id=self.visitor_id,
            department=department,
            **links,
        )
        if created:
            await self.dispatch.router.enqueue(conv)
            self.events.emit(
                "conversation.started",
                {
                    "conversation_id": conv["id"],
                    "site_id": self.site["id"],
                    "visitor_id": self.visitor_id,
                    "rule_id": conv.get("rule_id"),
                },
            )
            # Other tabs of this visitor (on any node) follow the new conversation too.
            await self.hub.publish(
                visitor_channel(self.visitor_id),
                "conversation",
                {**conversation_frame(conv), "origin": self.origin},
            )
        return conv, created

    async def _chat_start(self, frame: Any) -> None:
        prechat = frame.prechat
        department = prechat.department if prechat else None
        if department and department not in self.site["departments"]:
            raise Refused("invalid_frame", f"unknown department '{department}'")
        if prechat and (prechat.name or prechat.email):
            await conversations.ensure_visitor(
                self.db,
                {
                    "id": self.visitor_id,
                    "site_id": self.site["id"],
                    "name": prechat.name,
                    "email": prechat.email,
                    "attributes": None,
                    "last_seen_ts": now_ms(),
                },
            )
        conv, created = await self._start(department)
        out = await self._conversation_frame(conv)
        if frame.ref:
            out["ref"] = frame.ref
        self.conn.send(out)
        await self._follow_conversation(conv["id"], 0 if created else None)
        if frame.text:
            await self._append(conv["id"], None, frame.text, None)
        if created:
            await self._opened(conv)

    async def _opened(self, conv: dict[str, Any]) -> None:
        """A new conversation: route it, and tell the engine (no invitations now)."""
        await self.dispatch.route(self.site["id"])
        self.services.visit_log.append(
            self.site["id"],
            self.visitor_id,
            now_ms(),
            "chat_started",
            {"conversation_id": conv["id"]},
        )
        await self.proactive.event(
            self.site, self.visitor_id, {"type": "chat_started"}, conversation_open=True
        )

    async def _message(self, frame: Any) -> None:
        # Ownership never changes, so it is checked once per conversation and socket;
        # a closed conversation is refused by the append itself (same answer).
        if frame.conversation_id not in self.owned:
            conv = await self._own_conversation(frame.conversation_id)
            if conv["status"] == "closed":
                raise Refused("conflict", "the conversation is closed")
            self.owned.add(conv["id"])
        await self._append(frame.conversation_id, frame.client_msg_id, frame.text, frame.ref)

    async def _append(
        self, conversation_id: str, client_msg_id: str | None, text: str, ref: str | None
    ) -> None:
        try:
            row, duplicate = await self.services.message_writer.append(
                conversation_id=conversation_id,
                sender=f"v:{self.visitor_id}",
                author_kind="visitor",
                author_id=None,
                author_name=None,
                client_msg_id=client_msg_id,
                text=text,
            )
        except messages.ConversationClosed:
            raise Refused("conflict", "the conversation is closed") from None
        ack = message_frame(row)
        if ref:
            ack["ref"] = ref
        if duplicate:
            self.conn.send(ack)  # the retry's answer: the original, same seq
            # The first attempt's node may have died between its commit and its publish:
            # publish again (receivers drop a seq they already have).
            await chat_events.publish_message(self.hub, row)
            return
        self.conn.deliver(conversation_id, row["seq"], ack)
        await chat_events.publish_message(self.hub, row)
        chat_events.emit_message_created(self.events, self.site["id"], row)

    async def _close(self, frame: Any) -> None:
        conv = await self._own_conversation(frame.conversation_id)
        extra = {"missed_reason": "visitor_left"} if conv["status"] == "queued" else {}
        try:
            closed = await conversations.close(self.db, conv["id"], "visitor", **extra)
        except BadTransition as exc:
            raise Refused("conflict", str(exc)) from None
        await self.dispatch.router.finished(conv)
        survey = chat_events.survey_kinds(self.site) if conv["status"] == "active" else []
        reply = chat_events.closed_frame(closed["id"], "visitor", survey)
        self.conn.send({**reply, **({"ref": frame.ref} if frame.ref else {})})
        await chat_events.publish_closed(self.hub, closed["id"], "visitor", survey, self.origin)
        await self.proactive.event(
            self.site, self.visitor_id, {"type": "chat_closed"}, conversation_open=False
        )
        self.events.emit(
            "conversation.closed",
            {"conversation_id": closed["id"], "site_id": self.site["id"], "by": "visitor"},
        )
        await self.dispatch.route(self.site["id"])

    async def _survey(self, frame: Any) -> None:
        conv = await self._own_conversation(frame.conversation_id)
        if conv["status"] != "closed":
            raise Refused("conflict", "surveys are answered after the chat is closed")
        try:
            row = await feedback.save_survey(self.db, conv, frame.kind, frame.score, frame.comment)
        except feedback.AlreadyAnswered:
            raise Refused("conflict", f"the {frame.kind} survey was already answered") from None
        self.conn.send(
            {
                "type": "survey_saved",
                "conversation_id": conv["id"],
                "kind": frame.kind,
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )
        self.events.emit("survey.submitted", row)

    async def _offline_message(self, frame: Any) -> None:
        row = await feedback.save_offline_message(
            self.db,
            site_id=self.site["id"],
            visitor_id=self.visitor_id,
            name=frame.name,
            email=frame.email,
            text=frame.text,
        )
        self.conn.send(
            {
                "type": "offline_message_saved",
                "id": row["id"],
                **({"ref": frame.ref} if frame.ref else {}),
            }
        )
        self.events.emit("offline_message.created", row)

    async def _behaviour(self, frame: Any) -> None:
        data = frame.model_dump(mode="json", exclude={"type", "ref"}, exclude_none=True)
        now = now_ms()
        self.services.visit_log.append(self.site["id"], self.visitor_id, now, frame.type, data)
        await self.proactive.event(self.site, self.visitor_id, {"type": frame.type, **data})
        if frame.type == "track" and frame.event == "conversion":
            await attribution.record(
                self.services,
                self.events,
                self.site,
                self.visitor_id,
                None,
                data.get("props") or {},
                now,
            )
        if frame.type == "attributes":
            attrs = dict(frame.attributes)
            name, email = attrs.get("name"), attrs.get("email")
            await conversations.ensure_visitor(
                self.db,
                {
                    "id": self.visitor_id,
                    "site_id": self.site["id"],
                    "attributes": attrs,
                    "name": name if isinstance(name, str) else None,
                    "email": email if isinstance(email, str) else None,
                    "last_seen_ts": now,
                },
            )

    # -- invitations -----------------------------------------------------------------
    async def _invitation_shown(self, frame: Any) -> None:
        if not await self.proactive.mark_shown(self.visitor_id, frame.invitation_id):
            raise Refused("not_found", "no such invitation")
        self.services.visit_log.append(
            self.site["id"],
            self.visitor_id,
            now_ms(),
            "invitation_shown",
            {"invitation_id": frame.invitation_id},
        )

    async def _invitation_dismiss(self, frame: Any) -> None:
        if not await self.proactive.close_invitation(
            self.site["id"], self.visitor_id, frame.invitation_id, "dismissed"
        ):
            raise Refused("conflict", "the invitation is no longer open")
        self.services.visit_log.append(
            self.site["id"],
            self.visitor_id,
            now_ms(),
            "invitation_dismiss",
            {"invitation_id": frame.invitation_id},
        )

    async def _invitation_accept(self, frame: Any) -> None:
        row = await invitation_log.get(self.db, frame.invitation_id)
        if row is None or row["visitor_id"] != self.visitor_id:
            raise Refused("not_found", "no such invitation")
        if not await self.proactive.close_invitation(
            self.site["id"], self.visitor_id, row["id"], "accepted"
        ):
            raise Refused("conflict", "the invitation is no longer open")
        self.services.visit_log.append(
            self.site["id"],
            self.visitor_id,
            now_ms(),
            "invitation_accept",
            {"invitation_id": row["id"]},
        )
        conv, created = await self._start(
            None, rule_id=row["rule_id"], variant_id=row["variant_id"], invitation_id=row["id"]
        )
        if not created:
            raise Refused("conflict", "a conversation is already open")
        await invitation_log.link_conversation(self.db, row["id"], conv["id"])
        self.events.emit(
            "invitation.accepted",
            {
                "invitation_id": row["id"],
                "site_id": self.site["id"],
                "rule_id": row["rule_id"],
                "variant_id": row["variant_id"],
                "conversation_id": conv["id"],
            },
        )
        out = await self._conversation_frame(conv)
        self.conn.send({**out, **({"ref": frame.ref} if frame.ref else {})})
        await self._follow_conversation(conv["id"], 0)
        if row["text"]:
            # The invitation's words open the transcript, so the agent sees the context.
            note = await chat_events.post_system_message(self.hub, self.db, conv["id"], row["text"])
            self.conn.deliver(conv["id"], note["seq"], message_frame(note))
        if frame.text:
            await self._append(conv["id"], None, frame.text, None)
        await self._opened(conv)

    async def _withdraw_paced(self) -> None:
        """Agents went offline: an invitation that promised an agent is withdrawn."""
        state = await visitor_state.load(self.services.broker, self.visitor_id)
        if state.invitation and state.invitation.get("paced"):
            await self.proactive.close_invitation(
                self.site["id"],
                self.visitor_id,
                state.invitation["id"],
                "withdrawn",
                notify="agents_offline",
            )

    async def _server_event(self, payload: dict[str, Any]) -> None:
        """A behaviour event the site's backend posted (REST) for this visitor."""
        await self.proactive.event(self.site, self.visitor_id, payload["event"])
