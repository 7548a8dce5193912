"""A visitor's email reply to a conversation that is over: into its thread, and its
inbox item back on the agents' list.

The reply is appended to the closed conversation (as an inbox answer is, see
`server/store/inbox.py`: `append_follow_up`), so the console's inbox reader, the
widget's follow-up and the next email's quoted history all show it. The conversation's
inbox item, whatever its status (waiting for the visitor, done), becomes `new` again —
`assigned` when an agent has it — and its text gains the reply, so the list's search
finds it. Message, duplicate check and item change are one transaction: a provider
posting the same email twice stores it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.chat.inbox import PREVIEW_CHARS
from server.ids import new_id, now_ms
from server.store import inbox as inbox_queries
from server.store import messages as message_queries
from server.store.database import Database


@dataclass(frozen=True, slots=True)
class Reopened:
    row: dict[str, Any]  # the stored message
    duplicate: bool  # stored before (same email again): nothing changed
    item: dict[str, Any] | None  # the conversation's inbox item after the change, if any


async def reply_into_closed(
    db: Database,
    *,
    conversation_id: str,
    visitor_id: str,
    client_msg_id: str | None,
    text: str,
) -> Reopened:
    sender = f"v:{visitor_id}"
    now = now_ms()
    async with db.write() as conn:
        item = await inbox_queries.by_conversation(conn, conversation_id)
        if client_msg_id is not None:
            existing = await message_queries.find_by_client_id(
                conn, conversation_id, sender, client_msg_id
            )
            if existing is not None:
                return Reopened(existing, True, item)
        row = {
            "id": new_id("ms"),
            "conversation_id": conversation_id,
            "author_kind": "visitor",
            "author_id": None,
            "author_name": None,
            "sender": sender,
            "client_msg_id": client_msg_id,
            "text": text,
            "internal": False,
            "ts": now,
        }
        row["seq"] = await inbox_queries.append_follow_up(conn, row)
        if item is not None:
            values = {
                "status": "assigned" if item["agent_id"] else "new",
                "text": f"{item['text']}\n{text}"[-PREVIEW_CHARS:],
                "updated_ts": now,
            }
            await inbox_queries.update_item(conn, item["id"], values)
            item = {**item, **values}
    return Reopened(row, False, item)
