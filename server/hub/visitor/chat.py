"""A visitor's chat frames: `chat_start`, `message`, `typing`, `read`, `resume`, `close`.

Drives `server/chat/conversations.py` and the message writer; `start` and `append` are
also how an accepted invitation opens its conversation.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from server.chat import conversations, messages, prechat_fields, visitor_state
from server.chat.payloads import conversation_frame, message_frame
from server.chat.state import BadTransition
from server.hub import chat_events
from server.hub.hub import conv_channel, visitor_channel
from server.hub.socket_loop import Refused
from server.hub.visitor import limits
from server.ids import now_ms
from server.media import references

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession


async def _head_start(session: VisitorSession) -> float:
    """Seconds of queue priority this visitor gets by the site's settings."""
    settings = session.site.get("settings") or {}
    state = await visitor_state.load(session.services.broker, session.visitor_id)
    head = 0.0
    if state.facts.identified:
        head += settings.get("priority_identified_s", 0)
    threshold = settings.get("priority_cart_value")
    cart = state.facts.cart_value
    if threshold is not None and cart is not None and cart >= threshold:
        head += settings.get("priority_cart_s", 0)
    return head


async def start(
    session: VisitorSession, department: str | None, **links: Any
) -> tuple[dict[str, Any], bool]:
    """Open the visitor's conversation (or find its open one): (conversation, created)."""
    site_id = session.site["id"]
    links["head_start_s"] = await _head_start(session)
    conv, created = await conversations.start(
        session.db, site_id=site_id, visitor_id=session.visitor_id, department=department, **links
    )
    if created:
        await session.dispatch.router.enqueue(conv)
        session.events.emit(
            "conversation.started",
            {
                "conversation_id": conv["id"],
                "site_id": site_id,
                "visitor_id": session.visitor_id,
                "rule_id": conv.get("rule_id"),
            },
        )
        # Other tabs of this visitor (on any node) follow the new conversation too.
        await session.hub.publish(
            visitor_channel(session.visitor_id),
            "conversation",
            {**conversation_frame(conv), "origin": session.origin},
        )
    return conv, created


async def opened(session: VisitorSession, conv: dict[str, Any]) -> None:
    """A new conversation: route it, and tell the engine (no invitations now)."""
    site = session.site
    await session.dispatch.route(site["id"])
    session.services.visit_log.append(
        site["id"], session.visitor_id, now_ms(), "chat_started", {"conversation_id": conv["id"]}
    )
    await session.proactive.event(
        site, session.visitor_id, {"type": "chat_started"}, conversation_open=True
    )


async def append(
    session: VisitorSession,
    conversation_id: str,
    client_msg_id: str | None,
    text: str,
    ref: str | None,
    attachment_ids: list[str] | None = None,
) -> None:
    """Store the visitor's message, ack it to this socket and publish it."""
    sender = f"v:{session.visitor_id}"
    if attachment_ids:
        await _check_references(session.db, conversation_id, sender, client_msg_id, attachment_ids)
    try:
        row, duplicate = await session.services.message_writer.append(
            conversation_id=conversation_id,
            sender=sender,
            author_kind="visitor",
            author_id=None,
            author_name=None,
            client_msg_id=client_msg_id,
            text=text,
        )
    except messages.ConversationClosed:
        raise Refused("conflict", "the conversation is closed") from None
    if attachment_ids:
        row = await references.claim(session.db, row, attachment_ids)
    ack = message_frame(row)
    if ref:
        ack["ref"] = ref
    if duplicate:
        session.conn.send(ack)  # the retry's answer: the original, same seq
        # The first attempt's node may have died between its commit and its publish:
        # publish again (receivers drop a seq they already have).
        await chat_events.publish_message(session.hub, row)
        return
    session.conn.deliver(conversation_id, row["seq"], ack)
    await chat_events.publish_message(session.hub, row)
    chat_events.emit_message_created(session.events, session.site["id"], row)
    session.proactive.decisions.visitor_wrote(conversation_id)


def _prechat_answers(session: VisitorSession, prechat: Any, department: str | None) -> dict:
    """The site's own pre-chat fields, checked when the form was sent (visitor attributes)."""
    if prechat is None:
        return {}
    specs = (session.site.get("widget") or {}).get("prechat_custom") or []
    try:
        return prechat_fields.check(specs, department, dict(prechat.fields or {}))
    except prechat_fields.PrechatInvalid as exc:
        raise Refused("invalid_frame", str(exc)) from None


async def _check_references(
    db: Any, conversation_id: str, sender: str, client_msg_id: str | None, ids: list[str]
) -> None:
    try:
        await references.check(db, conversation_id, sender, client_msg_id or "", ids)
    except references.BadReference as bad:
        raise Refused(bad.code, str(bad)) from None


async def on_chat_start(session: VisitorSession, frame: Any) -> None:
    prechat = frame.prechat
    department = prechat.department if prechat else None
    if department and department not in session.site["departments"]:
        raise Refused("invalid_frame", f"unknown department '{department}'")
    attributes = _prechat_answers(session, prechat, department)
    # Counted first: a refused start keeps nothing, not even the pre-chat form.
    quota = limits.chat_starts(session)
    await limits.take(session, quota)
    try:
        if prechat and (prechat.name or prechat.email or attributes):
            await conversations.ensure_visitor(
                session.db,
                {
                    "id": session.visitor_id,
                    "site_id": session.site["id"],
                    "name": prechat.name,
                    "email": prechat.email,
                    "attributes": attributes or None,
                    "last_seen_ts": now_ms(),
                },
            )
        conv, created = await start(session, department)
    except Exception:
        # Nothing was started (the Store or Broker failed): the visitor may retry.
        with contextlib.suppress(Exception):
            await limits.give_back(session, quota)
        raise
    if not created:
        await limits.give_back(session, quota)  # the open one: nothing new was started
    session.reply(await session.conversation_frame(conv), frame.ref)
    await session.follow_conversation(conv["id"], 0 if created else None)
    if frame.text:
        await append(session, conv["id"], frame.client_msg_id, frame.text, None)
    if created:
        await opened(session, conv)


async def on_message(session: VisitorSession, frame: Any) -> None:
    # Ownership never changes, so it is checked once per conversation and socket;
    # a closed conversation is refused by the append itself (same answer).
    if frame.conversation_id not in session.owned:
        conv = await session.own_conversation(frame.conversation_id)
        if conv["status"] == "closed":
            raise Refused("conflict", "the conversation is closed")
        session.owned.add(conv["id"])
    await append(
        session,
        frame.conversation_id,
        frame.client_msg_id,
        frame.text,
        frame.ref,
        frame.attachments,
    )


async def on_typing(session: VisitorSession, frame: Any) -> None:
    await session.own_conversation(frame.conversation_id)
    await session.hub.publish_detached(
        conv_channel(frame.conversation_id),
        "typing",
        {
            "type": "typing",
            "conversation_id": frame.conversation_id,
            "on": frame.on,
            "author": {"kind": "visitor"},
        },
    )


async def on_read(session: VisitorSession, frame: Any) -> None:
    await session.own_conversation(frame.conversation_id)
    await session.hub.publish_detached(
        conv_channel(frame.conversation_id),
        "read",
        {
            "type": "read",
            "conversation_id": frame.conversation_id,
            "seq": frame.seq,
            "by": "visitor",
        },
    )


async def on_resume(session: VisitorSession, frame: Any) -> None:
    conv = await session.own_conversation(frame.conversation_id)
    session.conn.track(conv["id"], frame.after_seq)
    await session.hub.follow(session.conn, conv_channel(conv["id"]), session.on_event)
    session.conn.sync(conv["id"], frame.after_seq)


async def on_close(session: VisitorSession, frame: Any) -> None:
    site = session.site
    conv = await session.own_conversation(frame.conversation_id)
    extra = {"missed_reason": "visitor_left"} if conv["status"] == "queued" else {}
    try:
        closed = await conversations.close(session.db, conv["id"], "visitor", **extra)
    except BadTransition as exc:
        raise Refused("conflict", str(exc)) from None
    await session.dispatch.router.finished(conv)
    survey = chat_events.survey_kinds(site) if conv["status"] == "active" else []
    session.reply(chat_events.closed_frame(closed["id"], "visitor", survey), frame.ref)
    await chat_events.publish_closed(session.hub, closed["id"], "visitor", survey, session.origin)
    await session.proactive.event(
        site, session.visitor_id, {"type": "chat_closed"}, conversation_open=False
    )
    session.events.emit(
        "conversation.closed",
        {"conversation_id": closed["id"], "site_id": site["id"], "by": "visitor"},
    )
    await session.dispatch.route(site["id"])


HANDLERS: dict[str, Handler] = {
    "chat_start": on_chat_start,
    "message": on_message,
    "typing": on_typing,
    "read": on_read,
    "resume": on_resume,
    "close": on_close,
}
