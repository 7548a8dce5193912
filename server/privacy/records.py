"""Every Store record about one person on one site: found by visitor id, email or
external id (the `identify` user id), read for an export and deleted for an erasure.

What counts as "about them" (docs/privacy.md): their visitor rows; visit events;
decisions over time (each change in their outcome for a rule);
conversations, with every message and survey answer; invitation decisions; offline
messages (by visitor or by the email they gave); conversions (by visitor or external
id). Webhook deliveries that carry their data are found by `outbox_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.privacy import files
from server.store.decision_tables import decision_changes
from server.store.tables import (
    conversations,
    conversions,
    invitations,
    messages,
    offline_messages,
    surveys,
    visit_events,
    visitors,
    webhook_outbox,
)

# An export or erasure is about one person: an email shared by more visitor rows than
# this is refused rather than read whole (a mistyped shared address, say).
MAX_VISITORS = 100


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a request is about; exactly one of the three is set."""

    visitor_id: str | None = None
    email: str | None = None
    user_id: str | None = None

    def describe(self) -> str:
        if self.visitor_id is not None:
            return f"visitor {self.visitor_id}"
        if self.email is not None:
            return "that email"
        return "that external id"


@dataclass(slots=True)
class Found:
    """The visitor ids and conversation ids of a subject (the keys of their records)."""

    site_id: str
    subject: Subject
    visitor_ids: list[str]
    conversation_ids: list[str]

    @property
    def empty(self) -> bool:
        return not self.visitor_ids and not self.conversation_ids


class TooMany(Exception):
    """More visitor rows match than `MAX_VISITORS`."""


def _visitor_filter(site_id: str, subject: Subject) -> Any:
    where = [visitors.c.site_id == site_id]
    if subject.visitor_id is not None:
        where.append(visitors.c.id == subject.visitor_id)
    elif subject.email is not None:
        where.append(func.lower(visitors.c.email) == subject.email.lower())
    else:
        where.append(visitors.c.user_id == subject.user_id)
    return where


async def find(conn: AsyncConnection, site_id: str, subject: Subject) -> Found:
    """The subject's visitor and conversation ids on the site (none: nothing known).

    Raises `TooMany` past `MAX_VISITORS` visitor rows."""
    query = (
        select(visitors.c.id)
        .where(*_visitor_filter(site_id, subject))
        .order_by(visitors.c.id)
        .limit(MAX_VISITORS + 1)
    )
    visitor_ids = [r[0] for r in await conn.execute(query)]
    if len(visitor_ids) > MAX_VISITORS:
        raise TooMany
    conversation_ids: list[str] = []
    if visitor_ids:
        conversation_ids = [
            r[0]
            for r in await conn.execute(
                select(conversations.c.id)
                .where(conversations.c.visitor_id.in_(visitor_ids))
                .order_by(conversations.c.created_ts, conversations.c.id)
            )
        ]
    return Found(site_id, subject, visitor_ids, conversation_ids)


def offline_filter(found: Found) -> Any:
    """Offline messages left by their visitors, or under the email asked about."""
    matches = [offline_messages.c.visitor_id.in_(found.visitor_ids)]
    if found.subject.email is not None:
        matches.append(func.lower(offline_messages.c.email) == found.subject.email.lower())
    return (offline_messages.c.site_id == found.site_id) & or_(*matches)


def conversion_filter(found: Found) -> Any:
    """Conversions of their visitors, or posted by the shop under the external id."""
    matches = [conversions.c.visitor_id.in_(found.visitor_ids)]
    if found.subject.user_id is not None:
        matches.append(conversions.c.user_id == found.subject.user_id)
    return (conversions.c.site_id == found.site_id) & or_(*matches)


async def _rows(conn: AsyncConnection, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def read_all(conn: AsyncConnection, found: Found) -> dict[str, list[dict[str, Any]]]:
    """Every record of the subject, one list per kind (rows as stored; times in ms)."""
    vids, cids = found.visitor_ids, found.conversation_ids
    return {
        "visitors": await _rows(conn, select(visitors).where(visitors.c.id.in_(vids))),
        "visit_events": await _rows(
            conn,
            select(visit_events)
            .where(visit_events.c.site_id == found.site_id, visit_events.c.visitor_id.in_(vids))
            .order_by(visit_events.c.ts, visit_events.c.id),
        ),
        "decision_changes": await _rows(
            conn,
            select(decision_changes)
            .where(
                decision_changes.c.site_id == found.site_id,
                decision_changes.c.visitor_id.in_(vids),
            )
            .order_by(decision_changes.c.ts, decision_changes.c.id),
        ),
        "conversations": await _rows(
            conn,
            select(conversations)
            .where(conversations.c.id.in_(cids))
            .order_by(conversations.c.created_ts),
        ),
        "messages": await _rows(
            conn,
            select(messages)
            .where(messages.c.conversation_id.in_(cids))
            .order_by(messages.c.conversation_id, messages.c.seq),
        ),
        "surveys": await _rows(
            conn,
            select(surveys)
            .where(surveys.c.conversation_id.in_(cids))
            .order_by(surveys.c.created_ts),
        ),
        "invitations": await _rows(
            conn,
            select(invitations)
            .where(invitations.c.site_id == found.site_id, invitations.c.visitor_id.in_(vids))
            .order_by(invitations.c.created_ts),
        ),
        "offline_messages": await _rows(
            conn,
            select(offline_messages)
            .where(offline_filter(found))
            .order_by(offline_messages.c.created_ts),
        ),
        "conversions": await _rows(
            conn, select(conversions).where(conversion_filter(found)).order_by(conversions.c.ts)
        ),
        "attachments": await files.rows_of(conn, cids),
    }


async def outbox_ids(conn: AsyncConnection, found: Found, needles: list[str]) -> list[str]:
    """Webhook deliveries of the site whose body names any of `needles` (ids, email)."""
    if not needles:
        return []
    query = select(webhook_outbox.c.id).where(
        webhook_outbox.c.site_id == found.site_id,
        or_(*(webhook_outbox.c.body.contains(n, autoescape=True) for n in needles)),
    )
    return [r[0] for r in await conn.execute(query)]
