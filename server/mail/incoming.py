"""A visitor's reply by email, into its conversation (both doors end here).

`beckon mail-in` (SMTP) and providers' inbound webhooks POST the raw message to
`/api/v1/mail/inbound`, signed; this module decides. A reply is accepted only when

1. it names a conversation by a signed reply address or signed thread header
   (`inbound.conversation_of`) — else "unmatched", and
2. its From address is the address Beckon mails that conversation's visitor at
   (the visitor record, else their offline message) — else "spoofed";

both refusals are logged. The trimmed text is appended as the visitor's message (the
Message-ID is its client_msg_id, so a repeated delivery is stored once) and fanned out
like any chat message. A closed conversation gets it in its thread too, and its inbox
item is reopened (`reopen.py`); one without an item gets one through an offline message
naming the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from server.chat import feedback, messages
from server.chat.messages import ConversationClosed
from server.errors import ApiError
from server.events import EventBus
from server.hub import chat_events
from server.hub.hub import Hub
from server.mail import inbound, reopen
from server.mail.outgoing import conversation_context
from server.settings import Settings
from server.store.database import Database

log = logging.getLogger("beckon.mail")

SIGNATURE_TOLERANCE_S = 300


def inbound_key(settings: Settings) -> bytes:
    """The key that signs inbound posts: BECKON_MAIL_INBOUND_SECRET, else derived from
    the server secret (what `beckon mail-in` on the same configuration uses)."""
    if settings.mail_inbound_secret:
        return settings.mail_inbound_secret.encode()
    digest = hmac.new(settings.secret_key.encode(), b"mail-inbound", hashlib.sha256)
    return digest.hexdigest().encode()


def sign(key: bytes, body: bytes, t: int) -> str:
    """`X-Beckon-Signature` for `body` at unix second `t` (as webhooks sign)."""
    return f"t={t},v1={hmac.new(key, f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def signature_ok(key: bytes, body: bytes, header: str, now: float | None = None) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > SIGNATURE_TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(key, body, t), f"t={t},v1={parts.get('v1', '')}")


async def deliver(
    db: Database, hub: Hub, events: EventBus, settings: Settings, raw: bytes, rcpts: list[str]
) -> dict[str, Any]:
    """Accept one reply; returns what was stored. Raises ApiError (invalid_request,
    not_found, forbidden, validation_failed)."""
    try:
        mail = inbound.parse(raw, rcpts)
    except inbound.NotAnEmail as exc:
        raise ApiError("invalid_request", f"not an email message: {exc}") from None
    conversation_id = inbound.conversation_of(settings.secret_key, mail)
    if conversation_id is None:
        log.warning("inbound email from %r refused: no signed reply address or thread", mail.sender)
        raise ApiError("not_found", "no conversation matches this email")
    async with db.read() as conn:
        context = await conversation_context(conn, conversation_id)
    if context is None:
        raise ApiError("not_found", "no conversation matches this email")
    conv, visitor, site, _lang, stored = context
    if not stored or mail.sender != stored.lower():
        log.warning(
            "inbound email for %s refused: From %r is not the visitor's address",
            conversation_id,
            mail.sender,
        )
        raise ApiError("forbidden", "the sender is not this conversation's visitor")
    text = inbound.trim(mail.text)
    if not text:
        raise ApiError("validation_failed", "the reply is empty once quotes are removed")
    ref = "mail:" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:40]
    ref_or_none = ref if mail.message_id else None
    try:
        row, duplicate = await messages.append(
            db,
            conversation_id=conversation_id,
            sender=f"v:{visitor['id']}",
            author_kind="visitor",
            author_id=None,
            author_name=None,
            client_msg_id=ref_or_none,
            text=text,
        )
    except ConversationClosed:
        return await _into_closed(
            db, hub, events, site, visitor, stored, conv["id"], ref_or_none, text
        )
    if not duplicate:
        await chat_events.publish_message(hub, row)
        chat_events.emit_message_created(events, site["id"], row)
    return {"status": "accepted", "conversation_id": conv["id"], "seq": row["seq"]}


async def _into_closed(
    db: Database,
    hub: Hub,
    events: EventBus,
    site: dict[str, Any],
    visitor: dict[str, Any],
    address: str,
    conversation_id: str,
    ref: str | None,
    text: str,
) -> dict[str, Any]:
    """The chat is over: the reply joins its thread and reopens its inbox item; a
    conversation without an item gets one through an offline message naming it."""
    done = await reopen.reply_into_closed(
        db, conversation_id=conversation_id, visitor_id=visitor["id"], client_msg_id=ref, text=text
    )
    answer: dict[str, Any] = {
        "status": "accepted",
        "conversation_id": conversation_id,
        "seq": done.row["seq"],
    }
    if done.item is not None:
        answer["inbox_item"] = done.item["id"]
    if done.duplicate:
        return answer
    await chat_events.publish_message(hub, done.row)
    chat_events.emit_message_created(events, site["id"], done.row)
    if done.item is not None:
        log.info("email reply reopened inbox item %s", done.item["id"])
        return answer
    saved = await feedback.save_offline_message(
        db,
        site_id=site["id"],
        visitor_id=visitor["id"],
        name=visitor.get("name"),
        email=address,
        text=text,
        conversation_id=conversation_id,
    )
    events.emit("offline_message.created", saved)
    return {**answer, "offline_message": saved["id"]}
