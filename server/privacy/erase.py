"""Erase one person from the Store, in one transaction.

What goes: their visitor rows, visit events, decisions over time, every message of their
conversations (the full-text index follows: a trigger on SQLite, an expression index on
PostgreSQL), the attachment rows of their conversations (the caller deletes their stored
bytes: server/privacy/files.py),
offline messages, survey comments, invitation texts, the external id and order id of
their conversions, and webhook deliveries whose body names them.

What stays, pointing at a new anonymous visitor row that nothing links to them: the
conversation rows (status, agent, times), survey scores, invitation decisions and
conversion values — so reports keep their aggregate counts without the person.
Conversations still open are closed by the system first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.ids import new_id
from server.privacy import files, records
from server.store.attachments import attachments
from server.store.decision_tables import decision_changes
from server.store.mail_tables import mail_outbox
from server.store.tables import (
    conversations,
    conversions,
    inbox_items,
    invitations,
    messages,
    offline_messages,
    surveys,
    visit_events,
    visitors,
    webhook_attempts,
    webhook_outbox,
)


@dataclass(slots=True)
class Erased:
    """What an erasure did; `open_conversations` still need their live state cleared."""

    visitor_ids: list[str]
    conversation_ids: list[str]
    open_conversations: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)  # rows deleted


async def _needles(conn: AsyncConnection, found: records.Found) -> list[str]:
    """Strings that name the person in a stored webhook body."""
    rows = (
        await conn.execute(
            select(visitors.c.email, visitors.c.user_id).where(visitors.c.id.in_(found.visitor_ids))
        )
    ).all()
    named = {v for row in rows for v in row if v}
    named |= {found.subject.email or "", found.subject.user_id or ""}
    return sorted({*found.visitor_ids, *found.conversation_ids, *named} - {""})


async def erase(conn: AsyncConnection, found: records.Found, now: int) -> Erased:
    """Erase `found` on `conn` (the caller's write transaction)."""
    vids, cids = found.visitor_ids, found.conversation_ids
    counts: dict[str, int] = {}

    async def run(name: str, statement: Any) -> None:
        result = await conn.execute(statement)
        counts[name] = counts.get(name, 0) + (result.rowcount or 0)

    deliveries = await records.outbox_ids(conn, found, await _needles(conn, found))
    if deliveries:
        await conn.execute(
            delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(deliveries))
        )
        await run(
            "webhook_deliveries", delete(webhook_outbox).where(webhook_outbox.c.id.in_(deliveries))
        )
    open_rows = [
        dict(r)
        for r in (
            await conn.execute(
                select(conversations).where(
                    conversations.c.id.in_(cids), conversations.c.status != "closed"
                )
            )
        ).mappings()
    ]
    gone_files = await files.rows_of(conn, cids)
    await run("attachments", delete(attachments).where(attachments.c.conversation_id.in_(cids)))
    await run("messages", delete(messages).where(messages.c.conversation_id.in_(cids)))
    await run(
        "survey_comments",
        update(surveys)
        .where(surveys.c.conversation_id.in_(cids), surveys.c.comment.is_not(None))
        .values(comment=None),
    )
    # Emails to the visitor (pending or sent) hold their address and the transcript.
    await run(
        "emails",
        delete(mail_outbox).where(
            or_(mail_outbox.c.visitor_id.in_(vids), mail_outbox.c.conversation_id.in_(cids))
        ),
    )
    # Inbox items copy the visitor's name, email and words (server/chat/inbox.py).
    await run(
        "inbox_items",
        delete(inbox_items).where(
            inbox_items.c.site_id == found.site_id,
            or_(inbox_items.c.visitor_id.in_(vids), inbox_items.c.conversation_id.in_(cids)),
        ),
    )
    await run("offline_messages", delete(offline_messages).where(records.offline_filter(found)))
    await run(
        "visit_events",
        delete(visit_events).where(
            visit_events.c.site_id == found.site_id, visit_events.c.visitor_id.in_(vids)
        ),
    )
    await run(
        "decision_changes",
        delete(decision_changes).where(
            decision_changes.c.site_id == found.site_id, decision_changes.c.visitor_id.in_(vids)
        ),
    )
    kept = await _keep_anonymously(conn, found, now, counts)
    await run("visitors", delete(visitors).where(visitors.c.id.in_(vids)))
    if not kept:
        counts.pop("anonymised", None)
    return Erased(vids, cids, open_rows, counts, gone_files)


async def _keep_anonymously(
    conn: AsyncConnection, found: records.Found, now: int, counts: dict[str, int]
) -> bool:
    """Point the rows reports count at a fresh anonymous visitor; False if none."""
    vids, cids = found.visitor_ids, found.conversation_ids
    has_conversions = (
        await conn.execute(
            select(conversions.c.id).where(records.conversion_filter(found)).limit(1)
        )
    ).first() is not None
    has_invitations = (
        bool(vids)
        and (
            await conn.execute(
                select(invitations.c.id)
                .where(invitations.c.site_id == found.site_id, invitations.c.visitor_id.in_(vids))
                .limit(1)
            )
        ).first()
        is not None
    )
    if not (cids or has_conversions or has_invitations):
        return False
    anonymous = new_id("vi")
    await conn.execute(
        visitors.insert().values(
            id=anonymous,
            site_id=found.site_id,
            attributes={},
            first_seen_ts=now,
            last_seen_ts=now,
        )
    )
    kept = 0
    if cids:
        # Closed first: one open conversation per visitor is a unique index.
        await conn.execute(
            update(conversations)
            .where(conversations.c.id.in_(cids), conversations.c.status != "closed")
            .values(status="closed", closed_by="system", closed_ts=now)
        )
        result = await conn.execute(
            update(conversations).where(conversations.c.id.in_(cids)).values(visitor_id=anonymous)
        )
        kept += result.rowcount or 0
    if has_invitations:
        result = await conn.execute(
            update(invitations)
            .where(invitations.c.site_id == found.site_id, invitations.c.visitor_id.in_(vids))
            .values(visitor_id=anonymous, text=None)
        )
        kept += result.rowcount or 0
    if has_conversions:
        result = await conn.execute(
            update(conversions)
            .where(records.conversion_filter(found))
            .values(visitor_id=anonymous, user_id=None, order_id=None)
        )
        kept += result.rowcount or 0
    counts["anonymised"] = kept
    return True
