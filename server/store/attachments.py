"""The `attachments` table and its queries: one row per accepted upload.

An attachment belongs to one conversation and the sender that uploaded it; `upload_id`
is the client's retry key (a repeated upload with the same id by the same sender is the
same attachment). `message_id` is set when a message references it; rows that stay
unreferenced past BECKON_MEDIA_ORPHAN_S are the janitor's to delete.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import messages, metadata

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("site_id", String(32), ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column(
        "conversation_id",
        String(32),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sender", String(40), nullable=False),
    Column("upload_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("mime", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("has_thumb", Boolean, nullable=False),
    Column("message_id", String(32), nullable=True),
    Column("created_ts", BigInteger, nullable=False),
    UniqueConstraint("conversation_id", "sender", "upload_id"),
    Index("ix_attachments_site", "site_id"),
    Index("ix_attachments_orphans", "message_id", "created_ts"),
)


async def insert_attachment(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(attachments).values(**row))


async def get_attachment(conn: AsyncConnection, attachment_id: str) -> dict[str, Any] | None:
    found = await conn.execute(select(attachments).where(attachments.c.id == attachment_id))
    row = found.mappings().first()
    return dict(row) if row else None


async def find_upload(
    conn: AsyncConnection, conversation_id: str, sender: str, upload_id: str
) -> dict[str, Any] | None:
    found = await conn.execute(
        select(attachments).where(
            attachments.c.conversation_id == conversation_id,
            attachments.c.sender == sender,
            attachments.c.upload_id == upload_id,
        )
    )
    row = found.mappings().first()
    return dict(row) if row else None


async def site_bytes(conn: AsyncConnection, site_id: str) -> int:
    """Bytes the site's attachments hold (stored sizes, thumbnails not counted)."""
    total = await conn.scalar(
        select(func.coalesce(func.sum(attachments.c.size), 0)).where(
            attachments.c.site_id == site_id
        )
    )
    return int(total or 0)


async def claim_for_message(
    conn: AsyncConnection, ids: list[str], conversation_id: str, sender: str, message_id: str
) -> int:
    """Mark the sender's unclaimed attachments `ids` of this conversation as the message's;
    the number claimed."""
    done = await conn.execute(
        update(attachments)
        .where(
            attachments.c.id.in_(ids),
            attachments.c.conversation_id == conversation_id,
            attachments.c.sender == sender,
            attachments.c.message_id.is_(None),
        )
        .values(message_id=message_id)
    )
    return done.rowcount or 0


async def orphans(conn: AsyncConnection, before_ts: int, limit: int) -> list[dict[str, Any]]:
    """Attachments no message references, created before `before_ts`."""
    found = await conn.execute(
        select(attachments)
        .where(attachments.c.message_id.is_(None), attachments.c.created_ts < before_ts)
        .order_by(attachments.c.created_ts)
        .limit(limit)
    )
    return [dict(row) for row in found.mappings()]


async def delete_orphan(conn: AsyncConnection, attachment_id: str) -> int:
    """Delete the row if no message references it; 1 when deleted."""
    done = await conn.execute(
        delete(attachments).where(
            attachments.c.id == attachment_id, attachments.c.message_id.is_(None)
        )
    )
    return done.rowcount or 0


async def sent_in(conn: AsyncConnection, site_id: str, from_ts: int, to_ts: int) -> dict[str, int]:
    """Files sent in messages of the site's conversations started in [from_ts, to_ts):
    `{sent, bytes, by_visitors, by_agents}` (the report's `files`)."""
    from server.store.tables import conversations  # the report's window is conversations'

    in_window = select(conversations.c.id).where(
        conversations.c.site_id == site_id,
        conversations.c.created_ts >= from_ts,
        conversations.c.created_ts < to_ts,
    )
    found = await conn.execute(
        select(attachments.c.sender, func.count(), func.coalesce(func.sum(attachments.c.size), 0))
        .where(attachments.c.conversation_id.in_(in_window), attachments.c.message_id.is_not(None))
        .group_by(attachments.c.sender)
    )
    totals = {"sent": 0, "bytes": 0, "by_visitors": 0, "by_agents": 0}
    for sender, count, size in found:
        totals["sent"] += int(count)
        totals["bytes"] += int(size)
        totals["by_visitors" if sender.startswith("v:") else "by_agents"] += int(count)
    return totals


async def shown_to_visitor(conn: AsyncConnection, row: dict[str, Any], visitor_id: str) -> bool:
    """Whether the conversation's visitor may have the file: their own upload, or one a
    message they were shown references (never an agent's file that is not sent yet, nor
    one on an internal note)."""
    if row["sender"] == f"v:{visitor_id}":
        return True
    if row["message_id"] is None:
        return False
    internal = await conn.scalar(
        select(messages.c.internal).where(messages.c.id == row["message_id"])
    )
    return internal is False
