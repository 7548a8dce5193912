"""A conversation closed by an agent or the janitor reaches the invitation engine.

The visitor's own close goes to the engine from the visitor's socket; any other close
arrives here as a "conversation.closed" (or "conversation.missed") domain event.
Without it the engine would think the chat still open (no invitation) until the
visitor's next hello — and the visit log would not say when the chat ended, so a
backtest could not replay it.
"""

from __future__ import annotations

import logging
from typing import Any

from server.chat.proactive import Proactive, online_group
from server.events import EventBus
from server.store import conversations as conv_queries
from server.store import sites as site_queries

log = logging.getLogger("beckon.chat_end")


class ChatEndListener:
    def __init__(self, proactive: Proactive) -> None:
        self.proactive = proactive

    def attach(self, events: EventBus) -> None:
        events.on("conversation.closed", self.on_closed)
        events.on("conversation.missed", self.on_closed)  # a queued chat nobody took

    async def on_closed(self, kind: str, data: dict[str, Any]) -> None:
        if data.get("by") == "visitor":
            return  # the visitor's socket told the engine already
        db = self.proactive.db
        async with db.read() as conn:
            conv = await conv_queries.get_conversation(conn, data["conversation_id"])
            site = await site_queries.get_site(conn, conv["site_id"]) if conv else None
        if conv is None or site is None:
            return
        visitor_id = conv["visitor_id"]
        online = await self.proactive.broker.presence_members(online_group(site["id"]))
        # Offline: recorded only — nobody is there to invite (as the backtest assumes).
        await self.proactive.event(
            site,
            visitor_id,
            {"type": "chat_closed"},
            decide=visitor_id in online,
            conversation_open=False,
        )
