"""Deciding to send an email and writing it to the mail outbox (no SMTP here).

`MailOut` is built once per app and passed in. `queue_reply` is the door the inbox
calls when an agent answers an inbox item; the `message.created` listener calls it for
every agent message in a conversation whose visitor has no socket open. Rules that
hold for every email written here:

- the recipient is the visitor's *stored* address (the visitor record, else their
  offline message) — never one taken from a request, so Beckon is no open relay;
- at most BECKON_MAIL_VISITOR_PER_HOUR emails per visitor and BECKON_MAIL_SITE_PER_HOUR
  per site are written (counted in the outbox itself, so across nodes); past either
  the email is not written and the refusal is logged;
- an agent's message in a live chat is emailed only if the visitor is still away
  BECKON_MAIL_GRACE_S later (checked by the worker when it falls due): moving to the
  next page closes the socket for a moment, and that is not leaving;
- the message is built once, with its exact bytes stored: a retry sends the same
  Message-ID, so a receiver sees one email even if a send is repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from server.broker.base import Broker
from server.chat import visitor_state
from server.chat.proactive import online_group
from server.ids import new_id, now_ms
from server.mail import addresses, inbox_replies
from server.mail.compose import Letter, Line, build
from server.mail.i18n import words
from server.settings import Settings
from server.store import mail_outbox
from server.store.database import Database
from server.store.messages import messages_after
from server.store.tables import conversations, offline_messages, sites, visit_events, visitors

log = logging.getLogger("beckon.mail")

HOUR_MS = 3_600_000
MAX_HISTORY = 200  # messages read for a transcript


class MailOut:
    def __init__(
        self, db: Database, broker: Broker, settings: Settings, wake: Callable[[], None]
    ) -> None:
        self.db = db
        self.broker = broker
        self.settings = settings
        self._wake = wake

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_url)

    # -- the domain-event listener -----------------------------------------------------

    async def on_message(self, _kind: str, data: dict[str, Any]) -> None:
        """`message.created`: an agent's message to a visitor who is gone → email."""
        message = data.get("message") or {}
        if not self.enabled or (message.get("author") or {}).get("kind") != "agent":
            return
        online = await self.broker.presence_members(online_group(data["site_id"]))
        async with self.db.read() as conn:
            conv = await _one(conn, conversations, data["conversation_id"])
            # An inbox answer is emailed by its own listener (server/mail/inbox_replies.py).
            answer = conv is not None and await inbox_replies.is_inbox_answer(
                conn, conv["id"], message["seq"]
            )
        if conv is None or answer or conv["visitor_id"] in online:
            return
        result = await self._queue(
            "reply",
            data["conversation_id"],
            message["id"],
            delay_ms=self.settings.mail_grace_s * 1000,  # a page change is not leaving
        )
        log.info("agent message %s to a gone visitor: %s", message["id"], result)

    # -- what others call -------------------------------------------------------------

    async def queue_reply(self, conversation_id: str, message_id: str) -> str:
        """Email the agent message `message_id` to the conversation's visitor, with the
        conversation quoted. Returns "queued", or why not: "disabled", "not_found",
        "no_email", "bad_address", "rate_limited"."""
        return await self._queue("reply", conversation_id, message_id)

    async def queue_transcript(self, conversation_id: str) -> str:
        """Email the whole conversation to its visitor; same answers as `queue_reply`."""
        return await self._queue("transcript", conversation_id, None)

    async def _queue(
        self, kind: str, conversation_id: str, message_id: str | None, delay_ms: int | None = None
    ) -> str:
        """`delay_ms` set: due that much later, and skipped if the visitor is back."""
        if not self.enabled:
            return "disabled"
        now = now_ms()
        async with self.db.read() as conn:
            context = await conversation_context(conn, conversation_id)
        if context is None:
            return "not_found"
        conv, visitor, site, lang, recipient = context
        # The live state knows the language before the visit log's batch is written.
        live = (await visitor_state.load(self.broker, visitor["id"])).facts.lang_tag
        lang = live or lang
        history = await self._history(conversation_id, lang)
        text, agent = "", ""
        if kind == "reply":
            found = [m for m in history if m[0]["id"] == message_id]
            if not found or found[0][0]["author_kind"] != "agent":
                return "not_found"
            row = found[0][0]
            text, agent = row["text"], row["author_name"] or ""
            history = [m for m in history if m[0]["seq"] < row["seq"]]
        if not recipient:
            return "no_email"
        try:
            addresses.recipient(recipient)
        except addresses.BadAddress:
            log.warning("conversation %s: stored email is unusable; nothing sent", conv["id"])
            return "bad_address"
        domain = addresses.domain_of(self.settings.mail_from)
        secret = self.settings.secret_key
        mail_id = new_id("ml")
        message_ref = f"<{mail_id}.{conversation_id}@{domain}>"
        async with self.db.write() as conn:
            if (
                await mail_outbox.count_since(conn, now - HOUR_MS, visitor_id=visitor["id"])
                >= self.settings.mail_visitor_per_hour
                or await mail_outbox.count_since(conn, now - HOUR_MS, site_id=site["id"])
                >= self.settings.mail_site_per_hour
            ):
                log.warning("mail to visitor %s refused: rate limit", visitor["id"])
                return "rate_limited"
            root = addresses.thread_root(secret, conversation_id, domain)
            earlier = await mail_outbox.thread_ids(conn, conversation_id)
            letter = Letter(
                kind=kind,
                lang=lang,
                site_name=site["name"],
                sender=self.settings.mail_from,
                recipient=recipient,
                recipient_name=visitor.get("name"),
                message_id=message_ref,
                date_ms=now,
                agent_name=agent,
                text=text,
                history=[line for _, line in history],
                reply_to=addresses.reply_address(secret, conversation_id, domain),
                in_reply_to=(earlier or [root])[-1],
                references=[root, *earlier],
            )
            body = build(letter).as_bytes().decode("utf-8", "surrogateescape")
            await mail_outbox.enqueue(
                conn,
                {
                    "id": mail_id,
                    "site_id": site["id"],
                    "conversation_id": conversation_id,
                    "visitor_id": visitor["id"],
                    "kind": kind,
                    "recipient": recipient,
                    "message_id": message_ref,
                    "body": body,
                    "created_ts": now,
                    "unless_online": delay_ms is not None,
                    "next_attempt_ts": now + (delay_ms or 0),
                },
            )
        self._wake()
        return "queued"

    async def _history(self, conversation_id: str, lang: str) -> list[tuple[dict, Line]]:
        you = words(lang)["you"]
        async with self.db.read() as conn:
            rows = await messages_after(
                conn, conversation_id, 0, MAX_HISTORY, include_internal=False
            )
        out = []
        for row in rows:
            if row["author_kind"] == "system":
                continue
            author = you if row["author_kind"] == "visitor" else (row["author_name"] or "")
            out.append((row, Line(author=author, text=row["text"], ts=row["ts"])))
        return out


async def _one(conn: Any, table: Any, row_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(table).where(table.c.id == row_id))).mappings().first()
    return dict(row) if row else None


async def conversation_context(conn: Any, conversation_id: str) -> tuple[Any, ...] | None:
    """(conversation, visitor, site, language, stored address) or None."""
    conv = await _one(conn, conversations, conversation_id)
    if conv is None:
        return None
    visitor = await _one(conn, visitors, conv["visitor_id"])
    site = await _one(conn, sites, conv["site_id"])
    if visitor is None or site is None:
        return None
    recipient = visitor.get("email")
    if not recipient:  # the address (and name) the visitor left with an offline message
        query = (
            select(offline_messages.c.email, offline_messages.c.name)
            .where(offline_messages.c.visitor_id == visitor["id"])
            .order_by(offline_messages.c.created_ts.desc())
            .limit(1)
        )
        left = (await conn.execute(query)).first()
        if left is not None:
            recipient = left.email
            visitor = {**visitor, "name": visitor.get("name") or left.name}
    query = (
        select(visit_events.c.data)
        .where(visit_events.c.visitor_id == visitor["id"], visit_events.c.type == "hello")
        .order_by(visit_events.c.ts.desc())
        .limit(1)
    )
    hello = (await conn.execute(query)).scalar() or {}
    lang = hello.get("lang") or site["default_lang"]
    return conv, visitor, site, lang, recipient
