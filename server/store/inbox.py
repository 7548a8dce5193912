"""Inbox items in the Store (table `inbox_items`): insert once per conversation, list with
filters, count by status, change status/agent, and the follow-up reply appended to a
conversation that is already closed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import messages as message_queries
from server.store.tables import conversations, inbox_items

STATUSES = ("new", "assigned", "waiting", "done")


async def insert_item(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Insert; False when the conversation already has an item. The unique index is
    the last word: a racing insert raises IntegrityError (the caller's transaction is
    then rolled back and the item exists)."""
    if row.get("conversation_id") is not None:
        found = await by_conversation(conn, row["conversation_id"])
        if found is not None:
            return False
    await conn.execute(inbox_items.insert().values(**row))
    return True


async def by_conversation(conn: AsyncConnection, conversation_id: str) -> dict[str, Any] | None:
    query = select(inbox_items).where(inbox_items.c.conversation_id == conversation_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def get_item(conn: AsyncConnection, item_id: str) -> dict[str, Any] | None:
    found = (
        (await conn.execute(select(inbox_items).where(inbox_items.c.id == item_id)))
        .mappings()
        .first()
    )
    return dict(found) if found else None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_items(
    conn: AsyncConnection,
    site_id: str,
    *,
    status: str | None,
    department: str | None,
    agent_id: str | None,
    kind: str | None,
    text: str | None,
    after: tuple[int, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first; `after` is the (created_ts, id) of the previous page's last row;
    `text` matches the message, the name or the email (case-insensitive substring)."""
    t = inbox_items.c
    query = select(inbox_items).where(t.site_id == site_id)
    if status:
        query = query.where(t.status == status)
    if department:
        query = query.where(t.department == department)
    if agent_id:
        query = query.where(t.agent_id == agent_id)
    if kind:
        query = query.where(t.kind == kind)
    if text:
        pattern = _like(text)
        query = query.where(
            or_(
                func.lower(t.text).like(pattern, escape="\\"),
                func.lower(func.coalesce(t.name, "")).like(pattern, escape="\\"),
                func.lower(func.coalesce(t.email, "")).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        ts, item_id = after
        query = query.where(or_(t.created_ts < ts, and_(t.created_ts == ts, t.id < item_id)))
    query = query.order_by(t.created_ts.desc(), t.id.desc()).limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def counts(
    conn: AsyncConnection, site_ids: list[str] | None, agent_id: str
) -> dict[str, dict[str, int]]:
    """{site_id: {new, assigned, waiting, done, mine}}; `mine`: assigned to `agent_id`
    and not done. `site_ids` None: every site."""
    t = inbox_items.c
    query = select(t.site_id, t.status, t.agent_id, func.count())
    if site_ids is not None:
        query = query.where(t.site_id.in_(site_ids))
    query = query.group_by(t.site_id, t.status, t.agent_id)
    out: dict[str, dict[str, int]] = {}
    for site_id, status, owner, count in (await conn.execute(query)).all():
        site = out.setdefault(site_id, {**dict.fromkeys(STATUSES, 0), "mine": 0})
        site[status] = site.get(status, 0) + int(count)
        if owner == agent_id and status != "done":
            site["mine"] += int(count)
    return out


async def update_item(conn: AsyncConnection, item_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(inbox_items).where(inbox_items.c.id == item_id).values(**values))


async def append_follow_up(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Append a message to a conversation whatever its status (an inbox reply answers a
    chat that is over); returns its seq. `row` is a messages row without `seq`. The
    UPDATE takes the conversation row's lock, as `next_seq` does for live messages."""
    result = await conn.execute(
        update(conversations)
        .where(conversations.c.id == row["conversation_id"])
        .values(last_seq=conversations.c.last_seq + 1)
        .returning(conversations.c.last_seq)
    )
    seq = int(result.scalar_one())
    await message_queries.insert_message(conn, {**row, "seq": seq})
    return seq


async def unread_for_visitor(conn: AsyncConnection, visitor_id: str) -> list[dict[str, Any]]:
    """The visitor's items with a reply past what it has seen, oldest first."""
    t = inbox_items.c
    query = (
        select(inbox_items)
        .where(t.visitor_id == visitor_id, t.reply_seq.is_not(None), t.reply_seq > t.seen_seq)
        .order_by(t.created_ts, t.id)
        .limit(10)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def mark_seen(conn: AsyncConnection, visitor_id: str, conversation_id: str, seq: int) -> bool:
    """Raise seen_seq to `seq` (never lower it); False when the visitor has no item for
    this conversation."""
    found = await by_conversation(conn, conversation_id)
    if found is None or found["visitor_id"] != visitor_id:
        return False
    # No further than the last reply: a seq from the future must not hide the next one.
    seen = min(seq, found["reply_seq"] or 0)
    await conn.execute(
        update(inbox_items)
        .where(inbox_items.c.id == found["id"], inbox_items.c.seen_seq < seen)
        .values(seen_seq=seen)
    )
    return True
