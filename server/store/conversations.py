"""Queries on visitors and conversations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, column, func, or_, select, update
from sqlalchemy import text as sa_text
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.search_index import tail_matches
from server.store.tables import conversations, messages, visitors
from server.store.visitor_batch import capped_merge


async def upsert_visitor(
    conn: AsyncConnection, row: dict[str, Any], max_attributes: int | None = None
) -> None:
    """Insert the visitor, or refresh last_seen and identity fields if it exists.

    Given attributes are merged over the stored ones, keeping at most `max_attributes`
    keys (stored keys first; None: no cap)."""
    found = (
        await conn.execute(
            select(visitors.c.id, visitors.c.attributes).where(visitors.c.id == row["id"])
        )
    ).first()
    if found is None:
        attributes = row.get("attributes") or {}
        if max_attributes is not None:
            attributes = capped_merge({}, attributes, max_attributes)
        await conn.execute(visitors.insert().values(**{**row, "attributes": attributes}))
        return
    values = {k: v for k, v in row.items() if k not in ("id", "site_id", "first_seen_ts")}
    values = {k: v for k, v in values.items() if v is not None}
    if "attributes" in values:
        stored = found.attributes or {}
        if max_attributes is None:
            values["attributes"] = {**stored, **values["attributes"]}
        else:
            values["attributes"] = capped_merge(stored, values["attributes"], max_attributes)
    await conn.execute(update(visitors).where(visitors.c.id == row["id"]).values(**values))


async def get_visitor(conn: AsyncConnection, visitor_id: str) -> dict[str, Any] | None:
    query = select(visitors).where(visitors.c.id == visitor_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def insert_conversation(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(conversations.insert().values(**row))


async def get_conversation(conn: AsyncConnection, conversation_id: str) -> dict[str, Any] | None:
    query = select(conversations).where(conversations.c.id == conversation_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def open_conversation_of(conn: AsyncConnection, visitor_id: str) -> dict[str, Any] | None:
    query = select(conversations).where(
        conversations.c.visitor_id == visitor_id, conversations.c.status != "closed"
    )
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def transition(
    conn: AsyncConnection,
    conversation_id: str,
    *,
    from_statuses: tuple[str, ...],
    values: dict[str, Any],
    expect_agent: str | None = None,
) -> bool:
    """Compare-and-set: apply `values` only if the status is one of `from_statuses`.

    Returns whether a row changed. This is what makes "two agents accept at once" safe
    on any number of nodes: the database decides, not a read in Python.
    """
    query = update(conversations).where(
        conversations.c.id == conversation_id, conversations.c.status.in_(from_statuses)
    )
    if expect_agent is not None:
        query = query.where(conversations.c.agent_id == expect_agent)
    result = await conn.execute(query.values(**values))
    return result.rowcount == 1


async def list_open_for_agent(conn: AsyncConnection, agent_id: str) -> list[dict[str, Any]]:
    query = (
        select(conversations)
        .where(conversations.c.agent_id == agent_id, conversations.c.status == "active")
        .order_by(conversations.c.created_ts)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def list_queued(conn: AsyncConnection, site_ids: list[str]) -> list[dict[str, Any]]:
    if not site_ids:
        return []
    query = (
        select(conversations)
        .where(conversations.c.site_id.in_(site_ids), conversations.c.status == "queued")
        .order_by(
            func.coalesce(conversations.c.queued_ts, conversations.c.created_ts),
            conversations.c.id,
        )
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def list_for_site(
    conn: AsyncConnection,
    site_id: str,
    *,
    status: str | None,
    agent_id: str | None,
    from_ts: int | None,
    to_ts: int | None,
    after: tuple[int, str] | None,
    limit: int,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first; `after` is the (created_ts, id) of the last row of the previous page;
    `text` keeps conversations with a message matching it (full-text)."""
    query = select(conversations).where(conversations.c.site_id == site_id)
    if text:
        query = query.where(matching_conversations(conn, text, site_id))
    if status:
        query = query.where(conversations.c.status == status)
    if agent_id:
        query = query.where(conversations.c.agent_id == agent_id)
    if from_ts is not None:
        query = query.where(conversations.c.created_ts >= from_ts)
    if to_ts is not None:
        query = query.where(conversations.c.created_ts < to_ts)
    if after is not None:
        ts, cid = after
        query = query.where(
            or_(
                conversations.c.created_ts < ts,
                and_(conversations.c.created_ts == ts, conversations.c.id < cid),
            )
        )
    query = query.order_by(conversations.c.created_ts.desc(), conversations.c.id.desc())
    return [dict(r) for r in (await conn.execute(query.limit(limit))).mappings()]


def matching_conversations(conn: AsyncConnection, text: str, site_id: str) -> Any:
    """Whether a conversation of `site_id` has a message matching `text` (every word):
    a condition on `conversations.c.id`. Indexed messages are found through the search
    index, the few past its watermark (not indexed yet) directly."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # Each word quoted: FTS5 query syntax in user input must not be interpreted.
        words = " ".join('"' + word.replace('"', '""') + '"' for word in text.split())
        fts = (
            sa_text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q")
            .bindparams(q=words)
            .columns(column("rowid"))
        )
        indexed = select(messages.c.conversation_id).where(
            column("rowid").in_(select(fts.subquery().c.rowid))
        )
    else:
        indexed = (
            sa_text(
                "SELECT conversation_id FROM message_search"
                " WHERE tsv @@ plainto_tsquery('simple', :q)"
            )
            .bindparams(q=text)
            .columns(column("conversation_id"))
        )
    tail = tail_matches(dialect, site_id, text).columns(column("conversation_id"))
    return or_(conversations.c.id.in_(indexed), conversations.c.id.in_(tail))


async def count_for_visitor(conn: AsyncConnection, visitor_id: str) -> int:
    """Conversations the visitor had before (the engine's `visitor.chats`)."""
    query = (
        select(func.count())
        .select_from(conversations)
        .where(conversations.c.visitor_id == visitor_id)
    )
    return int((await conn.execute(query)).scalar_one())


async def list_for_visitor(
    conn: AsyncConnection, visitor_id: str, limit: int
) -> list[dict[str, Any]]:
    query = (
        select(conversations)
        .where(conversations.c.visitor_id == visitor_id)
        .order_by(conversations.c.created_ts.desc())
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
