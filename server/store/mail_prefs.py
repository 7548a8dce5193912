"""Agents' email preferences in the Store (table `agent_mail_prefs`): read, set, and the
digest's claim — one conditional UPDATE, so of two nodes sweeping at once only one
writes the email."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.mail_tables import agent_mail_prefs
from server.store.tables import users


async def get(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    query = select(agent_mail_prefs).where(agent_mail_prefs.c.user_id == user_id)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found else None


async def put(conn: AsyncConnection, user_id: str, inbox_email: bool, lang: str, now: int) -> None:
    """Set the choice. Turning it on starts the reports from now (nothing older)."""
    found = await get(conn, user_id)
    if found is None:
        await conn.execute(
            agent_mail_prefs.insert().values(
                user_id=user_id, inbox_email=inbox_email, lang=lang, cursor_ts=now, sent_ts=0
            )
        )
        return
    values: dict[str, Any] = {"inbox_email": inbox_email, "lang": lang}
    if inbox_email and not found["inbox_email"]:
        values["cursor_ts"] = now
    await conn.execute(
        update(agent_mail_prefs).where(agent_mail_prefs.c.user_id == user_id).values(**values)
    )


async def due(conn: AsyncConnection, sent_before: int) -> list[dict[str, Any]]:
    """Opted-in active agents whose last digest is older than `sent_before`, with
    their user row's fields (id, email, display_name, role)."""
    p = agent_mail_prefs.c
    query = (
        select(p.user_id, p.lang, p.cursor_ts, p.sent_ts, users.c.email, users.c.display_name)
        .add_columns(users.c.role)
        .join_from(agent_mail_prefs, users, users.c.id == p.user_id)
        .where(p.inbox_email.is_(True), p.sent_ts < sent_before, users.c.active.is_(True))
        .limit(500)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def claim(conn: AsyncConnection, user_id: str, cursor_ts: int, now: int) -> bool:
    """Move the agent's cursor from `cursor_ts` to `now`; False when another node did."""
    result = await conn.execute(
        update(agent_mail_prefs)
        .where(agent_mail_prefs.c.user_id == user_id, agent_mail_prefs.c.cursor_ts == cursor_ts)
        .values(cursor_ts=now, sent_ts=now)
    )
    return result.rowcount == 1
