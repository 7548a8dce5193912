"""What visitors leave behind: post-chat surveys (once per kind) and offline messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.ids import new_id, now_ms
from server.store.database import Database
from server.store.tables import offline_messages, surveys


class AlreadyAnswered(Exception):
    """This kind of survey was already answered for the conversation."""


async def save_survey(
    db: Database, conv: dict[str, Any], kind: str, score: int, comment: str | None
) -> dict[str, Any]:
    row = {
        "id": new_id("sv"),
        "conversation_id": conv["id"],
        "site_id": conv["site_id"],
        "agent_id": conv["agent_id"],
        "kind": kind,
        "score": score,
        "comment": comment,
        "created_ts": now_ms(),
    }
    try:
        async with db.write() as conn:
            await conn.execute(surveys.insert().values(**row))
    except IntegrityError:
        # The unique (conversation_id, kind) constraint decides, on any node.
        raise AlreadyAnswered(kind) from None
    return row


async def surveys_of(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's survey answers, oldest first (what the history reader shows)."""
    query = (
        select(surveys.c.kind, surveys.c.score, surveys.c.comment, surveys.c.created_ts)
        .where(surveys.c.conversation_id == conversation_id)
        .order_by(surveys.c.created_ts, surveys.c.kind)
    )
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def save_offline_message(
    db: Database,
    *,
    site_id: str,
    visitor_id: str | None,
    name: str | None,
    email: str,
    text: str,
    conversation_id: str | None = None,
) -> dict[str, Any]:
    row = {
        "id": new_id("om"),
        "site_id": site_id,
        "visitor_id": visitor_id,
        "conversation_id": conversation_id,
        "name": name,
        "email": email,
        "text": text,
        "created_ts": now_ms(),
    }
    async with db.write() as conn:
        await conn.execute(offline_messages.insert().values(**row))
    return row
