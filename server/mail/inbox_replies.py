"""An agent's answer to an inbox item goes to the visitor by email (`inbox.reply`).

The inbox stores the answer and emits `inbox.reply` (server/hub/follow_up.py); this
listener hands it to `MailOut.queue_reply` at once — the visitor left long ago, so the
answer is not held for the grace period a live chat's message gets. The same answer
also passes through `message.created`; `MailOut.on_message` leaves inbox answers to
this listener (`is_inbox_answer`), so each answer is emailed once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.events import EventBus
from server.store.tables import inbox_items

if TYPE_CHECKING:  # outgoing imports this module
    from server.mail.outgoing import MailOut

log = logging.getLogger("beckon.mail")


async def is_inbox_answer(conn: AsyncConnection, conversation_id: str, seq: int) -> bool:
    """True when message `seq` of the conversation is an inbox item's answer (the item's
    `reply_seq` is written in the transaction that stores the answer)."""
    query = select(inbox_items.c.id).where(
        inbox_items.c.conversation_id == conversation_id, inbox_items.c.reply_seq == seq
    )
    return (await conn.execute(query)).first() is not None


class InboxReplyMailer:
    """Attach once per node (only where SMTP is configured)."""

    def __init__(self, out: MailOut) -> None:
        self.out = out

    def attach(self, events: EventBus) -> None:
        events.on("inbox.reply", self.on_reply)

    async def on_reply(self, _kind: str, data: dict[str, Any]) -> None:
        message_id = data["message"]["id"]
        result = await self.out.queue_reply(data["conversation_id"], message_id)
        log.info("inbox answer %s by email: %s", message_id, result)
