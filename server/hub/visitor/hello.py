"""The visitor socket's first frame: `hello` within 10 s, then the welcome.

A hello names (or creates) the visitor, records it, follows its channels, resumes its
open conversation and tells the invitation engine the visitor is here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from server.bans import visitor as ban_guard
from server.chat import visitor_state
from server.chat import visitor_token as tokens
from server.chat.visitor_bounds import OverBound, VisitorBounds
from server.hub.dispatch import visitors_channel
from server.hub.hub import visitor_channel
from server.hub.socket_loop import Refused, receive_text
from server.hub.visitor import follow_up
from server.hub.visitor.returning import returning_reads
from server.ids import new_id, now_ms
from server.privacy import live
from server.widget_welcome import widget_for
from server.wire.codec import decode_frame, error_frame
from server.wire.errors import FrameError
from server.wire.frames import parse_visitor_frame

if TYPE_CHECKING:
    from server.hub.visitor.session import VisitorSession

HELLO_TIMEOUT_S = 10.0
CLOSE_NO_HELLO = 4408
CLOSE_TOO_MANY = 4429
MAX_SOCKETS_PER_VISITOR = 10


async def wait_hello(session: VisitorSession) -> Any | None:
    """The first `hello` within 10 s; other frames before it get an error."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HELLO_TIMEOUT_S
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                text = await receive_text(session.ws)
        except TimeoutError:
            await session.conn.close(CLOSE_NO_HELLO, "hello not received within 10 s")
            return None
        except FrameError as exc:
            session.conn.send(error_frame(exc.code, exc.message))
            continue
        if text is None:
            return None
        try:
            obj = decode_frame(text)
            if obj.get("type") != "hello":
                raise FrameError("invalid_frame", "the first frame must be hello", obj.get("ref"))
            return parse_visitor_frame(obj)
        except FrameError as exc:
            session.conn.send(error_frame(exc.code, exc.message, exc.ref))


def _edge_country(session: VisitorSession) -> str | None:
    """The country the trusted edge put in its header (the engine checks the code)."""
    header = session.services.settings.geo_country_header
    if not header:
        return None
    return session.ws.headers.get(header, "")[:8] or None


def _verified_identity(
    session: VisitorSession, hello: Any
) -> tuple[str | None, str | None, str | None]:
    """(user_id, name, email) of a hello's identity when its hash checks out."""
    identity = hello.identity
    if identity is None:
        return None, None, None
    if tokens.identity_ok(session.site["identity_secret"], identity.user_id, identity.user_hash):
        return identity.user_id, identity.name, identity.email
    session.conn.send(
        error_frame(
            "unauthorized",
            "identity could not be verified; the visitor stays anonymous",
            hello.ref,
        )
    )
    return None, None, None


async def _bounded_attributes(session: VisitorSession, hello: Any, is_new: bool) -> dict:
    """The hello's attributes, or none of them (with a `limit_reached` error) when they
    would take the visitor past its attribute bounds — the hello itself goes on."""
    attributes = dict(hello.attributes or {})
    if not attributes:
        return attributes
    current: Any = {}
    if not is_new:  # a visitor this node just named has no facts yet
        current = (await visitor_state.load(session.services.broker, session.visitor_id)).facts
        current = current.attrs
    try:
        VisitorBounds.from_settings(session.services.settings).check_attributes(current, attributes)
    except OverBound as exc:
        session.conn.send(error_frame(exc.code, exc.message, hello.ref))
        return {}
    return attributes


async def on_hello(session: VisitorSession, hello: Any) -> None:
    now = now_ms()
    site = session.site
    site_id = site["id"]
    visitor_id = None
    if hello.visitor_token:
        visitor_id = tokens.verify(session.key, hello.visitor_token, site_id, now)
        if visitor_id is not None and await live.was_erased(session.services.broker, visitor_id):
            visitor_id = None  # erased (server/privacy/live.py): a new visitor, as below
        if visitor_id is None:
            session.conn.send(
                error_frame(
                    "unauthorized",
                    "visitor_token is not valid; continuing as a new visitor",
                    hello.ref,
                )
            )
    is_new = visitor_id is None
    visitor_id = visitor_id or new_id("vi")
    if not session.hub.visitor_sockets_acquire(visitor_id, MAX_SOCKETS_PER_VISITOR):
        await session.conn.close(CLOSE_TOO_MANY, "too many connections for this visitor")
        return
    session.visitor_id = visitor_id
    user_id, name, email = _verified_identity(session, hello)
    attributes = await _bounded_attributes(session, hello, is_new)
    row = {
        "id": visitor_id,
        "site_id": site_id,
        "user_id": user_id,
        "name": name,
        "email": email,
        "attributes": attributes,
        "first_seen_ts": now,
        "last_seen_ts": now,
    }
    if is_new:  # stored before the welcome hands out a token naming it
        await session.services.visitor_writer.save(row, new=True)
    else:  # a page load of a known visitor: no Store write before its welcome
        session.services.visitor_writer.refresh_later(row)
    await session.hub.follow(session.conn, visitor_channel(visitor_id), session.on_event)
    await session.hub.follow(session.conn, visitors_channel(site_id), session.on_event)
    # An id this node just made has no conversations: no reads for a new visitor. A
    # known one's are read after following, so a chat opened meanwhile is not missed;
    # with the other hellos of the node in one read (server/hub/visitor/returning.py).
    known = None if is_new else await returning_reads(session.db).load(visitor_id)
    chats = known.chats if known else 0
    open_conv = known.open_conversation if known else None
    # The same fields go to the engine and to the visit log, so a backtest replays
    # exactly what the live engine saw.
    hello_event = {
        "page": hello.page.model_dump(mode="json") if hello.page else None,
        "lang": hello.lang,
        "accept_language": session.ws.headers.get("accept-language", "")[:200],
        "user_agent": session.ws.headers.get("user-agent", "")[:500],
        "identified": user_id is not None,
        "tz": hello.tz,
        "country": _edge_country(session),
        "attributes": attributes,
        "chats": chats,
        "name": name,
        "email": email,
    }
    hello_event = {k: v for k, v in hello_event.items() if v is not None}
    session.services.visit_log.append(site_id, visitor_id, now, "hello", hello_event)
    session.banned = await ban_guard.holds(session)
    await _welcome(session, hello, open_conv, now)
    await _resume(session, hello, open_conv)
    if known is not None and known.has_follow_up:  # an agent's answer, shown on return
        await follow_up.announce(session)
    await session.proactive.attach(visitor_id, site)
    await session.proactive.event(
        site,
        visitor_id,
        {"type": "hello", **hello_event},
        conversation_open=open_conv is not None,
    )


async def _welcome(
    session: VisitorSession, hello: Any, open_conv: dict[str, Any] | None, now: int
) -> None:
    site = session.site
    settings = site.get("settings") or {}
    lang = hello.lang or site["default_lang"]
    welcome: dict[str, Any] = {
        "type": "welcome",
        "visitor_id": session.visitor_id,
        "visitor_token": tokens.issue(session.key, site["id"], session.visitor_id, now),
        "online": not session.banned and await session.dispatch.online(site),
        "widget": {
            "lang": lang,
            **widget_for(site["widget"], lang),
            "departments": site["departments"],
            "consent_required": settings.get("consent_mode") == "required",
            "transcript_email": session.ws.app.state.mail.out.enabled,  # widget/more/mailer.js
        },
    }
    if open_conv is not None:
        welcome["conversation"] = await session.conversation_frame(open_conv)
    session.reply(welcome, hello.ref)


async def _resume(session: VisitorSession, hello: Any, open_conv: dict[str, Any] | None) -> None:
    """Follow the open conversation (from the hello's position when it names it), and
    replay a conversation the hello resumes that has closed since."""
    resume = hello.conversation
    if open_conv is not None:
        after = resume.after_seq if resume and resume.id == open_conv["id"] else None
        await session.follow_conversation(open_conv["id"], after)
    if resume and (open_conv is None or resume.id != open_conv["id"]):
        try:
            conv = await session.own_conversation(resume.id)
        except Refused as exc:
            session.conn.send(error_frame(exc.code, exc.message, hello.ref))
        else:
            await session.follow_conversation(conv["id"], resume.after_seq)
