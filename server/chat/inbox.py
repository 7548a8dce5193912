"""The inbox's items, made from domain events (one listener, style habit 6).

Three facts make an item, at most one per conversation:
- `offline_message.created`: a visitor left a message while nobody was available
  (kind `offline_message`; the janitor's offline message for a missed chat carries its
  conversation, so that chat is one item);
- `conversation.missed`: a queued chat nobody took (kind `missed`);
- `conversation.closed`, by anyone, while the visitor's message was the last one — the
  visitor left before an agent answered, or the chat was ended without an answer (kind
  `unanswered`).

Statuses: new → assigned (an agent took it) → waiting (an agent answered; waiting for
the visitor) → done; any status may be set again by an agent.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.events import EventBus
from server.ids import new_id, now_ms
from server.store import inbox as queries
from server.store.database import Database
from server.store.tables import conversations, messages, visitors

log = logging.getLogger("beckon.inbox")
PREVIEW_CHARS = 4000
"""The most of the visitor's words an item keeps for the list and its search."""


def item_frame(row: dict[str, Any]) -> dict[str, Any]:
    """The REST and webhook shape of an item."""
    return {
        key: row[key]
        for key in (
            "id",
            "site_id",
            "kind",
            "status",
            "conversation_id",
            "offline_message_id",
            "visitor_id",
            "department",
            "agent_id",
            "name",
            "email",
            "text",
            "created_ts",
            "updated_ts",
            "reply_seq",
            "seen_seq",
        )
    }


class InboxRecorder:
    """Turns the three events into items. Attach once per node at start-up."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def attach(self, events: EventBus) -> None:
        for kind in ("offline_message.created", "conversation.missed", "conversation.closed"):
            events.on(kind, self.on_event)

    async def on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "offline_message.created":
            await self._offline_message(data)
        elif kind == "conversation.missed":
            await self._from_conversation(data["conversation_id"], "missed")
        elif kind == "conversation.closed":
            await self._from_conversation(data["conversation_id"], "unanswered")

    async def _offline_message(self, row: dict[str, Any]) -> None:
        conv = None
        if row.get("conversation_id"):
            async with self.db.read() as conn:
                conv = await _conversation(conn, row["conversation_id"])
        now = now_ms()
        await self._insert(
            {
                "id": new_id("ib"),
                "site_id": row["site_id"],
                "kind": "offline_message",
                "status": "new",
                "conversation_id": row.get("conversation_id"),
                "offline_message_id": row["id"],
                "visitor_id": row.get("visitor_id"),
                "department": conv["department"] if conv else None,
                "agent_id": None,
                "name": row.get("name"),
                "email": row["email"],
                "text": row["text"][:PREVIEW_CHARS],
                "created_ts": row["created_ts"],
                "updated_ts": now,
                "reply_seq": None,
                "seen_seq": 0,
            }
        )

    async def _from_conversation(self, conversation_id: str, kind: str) -> None:
        async with self.db.read() as conn:
            conv = await _conversation(conn, conversation_id)
            if conv is None:
                return
            said = await _public_messages(conn, conversation_id)
            visitor = (
                (await conn.execute(select(visitors).where(visitors.c.id == conv["visitor_id"])))
                .mappings()
                .first()
            )
        if kind == "unanswered" and (not said or said[-1]["author_kind"] != "visitor"):
            return  # an agent had the last word, or the visitor never wrote
        if kind == "missed" and not said:
            return  # the visitor never wrote: nothing to answer
        if conv["missed_reason"]:
            kind = "missed"  # the visitor closed a chat still queued: a missed chat
        words = "\n".join(m["text"] for m in said if m["author_kind"] == "visitor")
        now = now_ms()
        await self._insert(
            {
                "id": new_id("ib"),
                "site_id": conv["site_id"],
                "kind": kind,
                "status": "new",
                "conversation_id": conv["id"],
                "offline_message_id": None,
                "visitor_id": conv["visitor_id"],
                "department": conv["department"],
                "agent_id": None,
                "name": visitor["name"] if visitor else None,
                "email": visitor["email"] if visitor else None,
                "text": words[-PREVIEW_CHARS:],
                "created_ts": conv["created_ts"],
                "updated_ts": now,
                "reply_seq": None,
                "seen_seq": 0,
            }
        )

    async def _insert(self, row: dict[str, Any]) -> None:
        try:
            async with self.db.write() as conn:
                added = await queries.insert_item(conn, row)
        except IntegrityError:
            added = False  # another insert for this conversation won the race
        if added:
            log.info("inbox item %s (%s) on site %s", row["id"], row["kind"], row["site_id"])


async def _conversation(conn: Any, conversation_id: str) -> dict[str, Any] | None:
    query = select(conversations).where(conversations.c.id == conversation_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def _public_messages(conn: Any, conversation_id: str) -> list[dict[str, Any]]:
    query = (
        select(messages.c.author_kind, messages.c.text)
        .where(
            messages.c.conversation_id == conversation_id,
            messages.c.internal.is_(False),
            messages.c.author_kind.in_(("visitor", "agent")),
        )
        .order_by(messages.c.seq)
        .limit(200)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
