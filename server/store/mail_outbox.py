"""The mail outbox: queries only, no SMTP.

Same lease scheme as the webhook outbox (`server/store/outbox.py`): a node claims a due
row by moving `locked_until` forward in one conditional UPDATE, so exactly one node
sends each attempt; a node that dies mid-send leaves a lease that runs out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.mail_tables import mail_outbox

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"


async def enqueue(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Add one email (id, site_id, conversation_id, visitor_id, kind, recipient,
    message_id, body, created_ts; optional unless_online, next_attempt_ts — else due
    at once)."""
    await conn.execute(
        insert(mail_outbox).values(
            **{"next_attempt_ts": row["created_ts"], **row}, status=PENDING, attempts=0
        )
    )


async def count_since(conn: AsyncConnection, since_ts: int, **where: str | None) -> int:
    """Emails written since `since_ts` for one visitor_id / site_id / recipient (a
    None site_id: account emails)."""
    query = (
        select(func.count()).select_from(mail_outbox).where(mail_outbox.c.created_ts >= since_ts)
    )
    for column, value in where.items():
        column_ = mail_outbox.c[column]
        query = query.where(column_.is_(None) if value is None else column_ == value)
    return int((await conn.execute(query)).scalar() or 0)


async def thread_ids(conn: AsyncConnection, conversation_id: str, limit: int = 10) -> list[str]:
    """Message-IDs of the conversation's earlier emails, oldest first (References)."""
    query = (
        select(mail_outbox.c.message_id)
        .where(mail_outbox.c.conversation_id == conversation_id, mail_outbox.c.kind == "reply")
        .order_by(mail_outbox.c.created_ts.desc(), mail_outbox.c.id.desc())
        .limit(limit)
    )
    return [r[0] for r in await conn.execute(query)][::-1]


async def due(conn: AsyncConnection, now: int, limit: int) -> list[str]:
    query = (
        select(mail_outbox.c.id)
        .where(
            mail_outbox.c.status == PENDING,
            mail_outbox.c.next_attempt_ts <= now,
            or_(mail_outbox.c.locked_until.is_(None), mail_outbox.c.locked_until < now),
        )
        .order_by(mail_outbox.c.next_attempt_ts, mail_outbox.c.id)
        .limit(limit)
    )
    return [r[0] for r in await conn.execute(query)]


async def next_due_ts(conn: AsyncConnection) -> int | None:
    query = select(func.min(mail_outbox.c.next_attempt_ts)).where(mail_outbox.c.status == PENDING)
    return (await conn.execute(query)).scalar()


async def claim(
    conn: AsyncConnection, mail_id: str, node: str, now: int, lease_ms: int
) -> dict[str, Any] | None:
    """Take the lease on one due email; None when another node holds it or sent it."""
    result = await conn.execute(
        update(mail_outbox)
        .where(
            mail_outbox.c.id == mail_id,
            mail_outbox.c.status == PENDING,
            mail_outbox.c.next_attempt_ts <= now,
            or_(mail_outbox.c.locked_until.is_(None), mail_outbox.c.locked_until < now),
        )
        .values(locked_until=now + lease_ms, locked_by=node)
    )
    if result.rowcount != 1:
        return None
    row = (await conn.execute(select(mail_outbox).where(mail_outbox.c.id == mail_id))).mappings()
    found = row.first()
    return dict(found) if found else None


async def finish(
    conn: AsyncConnection,
    mail_id: str,
    node: str,
    *,
    now: int,
    outcome: str,
    error: str | None,
    next_attempt_ts: int | None,
) -> bool:
    """Record an attempt (SENT, FAILED, SKIPPED, or PENDING again); False when the lease
    was lost."""
    values: dict[str, Any] = {
        "status": outcome,
        "attempts": mail_outbox.c.attempts + 1,
        "locked_until": None,
        "locked_by": None,
        "last_error": error,
    }
    if outcome == SENT:
        values["sent_ts"] = now
    if next_attempt_ts is not None:
        values["next_attempt_ts"] = next_attempt_ts
    result = await conn.execute(
        update(mail_outbox)
        .where(
            mail_outbox.c.id == mail_id,
            mail_outbox.c.locked_by == node,
            mail_outbox.c.status == PENDING,
        )
        .values(**values)
    )
    return result.rowcount == 1


async def of_conversation(conn: AsyncConnection, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's emails, oldest first, without their bodies."""
    columns = [c for c in mail_outbox.c if c.name != "body"]
    query = (
        select(*columns)
        .where(mail_outbox.c.conversation_id == conversation_id)
        .order_by(mail_outbox.c.created_ts, mail_outbox.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
