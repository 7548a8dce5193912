"""An agent's answer to an inbox item, and the visitor seeing it when they come back.

`reply` stores the answer in the item's conversation even though that chat is over (a
conversation is made for an offline message that had none), moves the item to
`waiting`, and then tells everyone who cares:
- the conversation's channel (a console following it sees the message);
- the visitor's channel as a `follow_up` frame (a widget open on the site right now
  shows it at once);
- the domain event `inbox.reply` — the hook for delivery by email: its data is
  `{"site_id", "item": item_frame, "conversation_id", "message": message_frame}`.

`unread_frames` is what a widget gets after `welcome` on any page of the site; `seen`
records the visitor's `follow_up_read`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.chat.inbox import item_frame
from server.chat.payloads import message_frame
from server.events import EventBus
from server.hub import chat_events
from server.hub.hub import Hub, visitor_channel
from server.ids import new_id, now_ms
from server.store import conversations as conv_queries
from server.store import inbox as queries
from server.store.database import Database
from server.store.tables import messages

HISTORY = 100
"""The most messages of a conversation a `follow_up` frame carries (the newest)."""


class NoVisitor(Exception):
    """The item has no visitor on record to answer in the widget."""


async def reply(
    db: Database,
    hub: Hub,
    events: EventBus,
    item_id: str,
    agent: dict[str, Any],
    text: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store `agent`'s (`id`, `display_name`) answer; returns (item, message row).
    Raises KeyError when the item is gone, NoVisitor when there is nobody to answer."""
    async with db.write() as conn:
        item = await queries.get_item(conn, item_id)
        if item is None:
            raise KeyError(item_id)
        now = now_ms()
        conversation_id = item["conversation_id"]
        if conversation_id is None:
            conversation_id = await _conversation_for(conn, item, now)
        row = {
            "id": new_id("ms"),
            "conversation_id": conversation_id,
            "author_kind": "agent",
            "author_id": agent["id"],
            "author_name": agent["display_name"],
            "sender": f"a:{agent['id']}",
            "client_msg_id": None,
            "text": text,
            "internal": False,
            "ts": now,
        }
        row["seq"] = await queries.append_follow_up(conn, row)
        values = {
            "conversation_id": conversation_id,
            "status": "waiting",
            "agent_id": item["agent_id"] or agent["id"],
            "reply_seq": row["seq"],
            "updated_ts": now,
        }
        await queries.update_item(conn, item["id"], values)
        item = {**item, **values}
        frame = await follow_up_frame(conn, item)
    await chat_events.publish_message(hub, row)
    if item["visitor_id"]:
        await hub.publish(visitor_channel(item["visitor_id"]), "follow_up", frame)
    chat_events.emit_message_created(events, item["site_id"], row)
    events.emit(
        "inbox.reply",
        {
            "site_id": item["site_id"],
            "item": item_frame(item),
            "conversation_id": conversation_id,
            "message": message_frame(row),
        },
    )
    return item, row


async def _conversation_for(conn: Any, item: dict[str, Any], now: int) -> str:
    """A closed conversation holding the offline message, so the answer and the
    visitor's words are one thread the widget and the console both show."""
    visitor = None
    if item["visitor_id"]:
        visitor = await conv_queries.get_visitor(conn, item["visitor_id"])
    if visitor is None:
        raise NoVisitor(item["id"])
    conversation_id = new_id("cv")
    await conv_queries.insert_conversation(
        conn,
        {
            "id": conversation_id,
            "site_id": item["site_id"],
            "visitor_id": item["visitor_id"],
            "status": "closed",
            "department": item["department"],
            "last_seq": 0,
            "created_ts": item["created_ts"],
            "closed_ts": now,
            "closed_by": "system",
        },
    )
    await queries.append_follow_up(
        conn,
        {
            "id": new_id("ms"),
            "conversation_id": conversation_id,
            "author_kind": "visitor",
            "author_id": None,
            "author_name": item["name"],
            "sender": None,
            "client_msg_id": None,
            "text": item["text"],
            "internal": False,
            "ts": item["created_ts"],
        },
    )
    return conversation_id


async def follow_up_frame(conn: Any, item: dict[str, Any]) -> dict[str, Any]:
    """`{"type": "follow_up", "conversation_id", "messages": [...], "unread": n}`:
    the thread's newest public messages, oldest first; `unread` counts the agents'
    messages past what the visitor has seen."""
    query = (
        select(messages)
        .where(
            messages.c.conversation_id == item["conversation_id"],
            messages.c.internal.is_(False),
        )
        .order_by(messages.c.seq.desc())
        .limit(HISTORY)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()][::-1]
    unread = sum(
        1 for r in rows if r["author_kind"] == "agent" and r["seq"] > (item["seen_seq"] or 0)
    )
    return {
        "type": "follow_up",
        "conversation_id": item["conversation_id"],
        "messages": [message_frame(r) for r in rows],
        "unread": unread,
    }


async def unread_frames(db: Database, visitor_id: str) -> list[dict[str, Any]]:
    """One `follow_up` frame per item with an answer the visitor has not seen."""
    async with db.read() as conn:
        items = await queries.unread_for_visitor(conn, visitor_id)
        return [await follow_up_frame(conn, item) for item in items]


async def seen(db: Database, visitor_id: str, conversation_id: str, seq: int) -> bool:
    """The visitor has read the follow-up up to `seq`; False: no such follow-up."""
    async with db.write() as conn:
        return await queries.mark_seen(conn, visitor_id, conversation_id, seq)
