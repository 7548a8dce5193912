"""Invitations in the Store: triggered → shown → accepted | dismissed | expired |
withdrawn (held_out for the holdout group). Each move is a compare-and-set on status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from server.ids import new_id, now_ms
from server.store.database import Database
from server.store.tables import invitations

OPEN = ("triggered", "shown")
EXPIRY_MS = 120_000


async def record(db: Database, **row: Any) -> dict[str, Any]:
    row = {"id": new_id("iv"), "created_ts": now_ms(), **row}
    async with db.write() as conn:
        await conn.execute(invitations.insert().values(**row))
    return row


async def get(db: Database, invitation_id: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        found = (
            (await conn.execute(select(invitations).where(invitations.c.id == invitation_id)))
            .mappings()
            .first()
        )
    return dict(found) if found else None


async def move(
    db: Database, invitation_id: str, from_statuses: tuple[str, ...], status: str, **values: Any
) -> bool:
    async with db.write() as conn:
        result = await conn.execute(
            update(invitations)
            .where(invitations.c.id == invitation_id, invitations.c.status.in_(from_statuses))
            .values(status=status, **values)
        )
    return result.rowcount == 1


async def open_before(db: Database, cutoff: int, limit: int = 1000) -> list[dict[str, Any]]:
    """Invitations still waiting for an answer, created before `cutoff` (ms)."""
    async with db.read() as conn:
        return [
            dict(r)
            for r in (
                await conn.execute(
                    select(invitations)
                    .where(invitations.c.status.in_(OPEN), invitations.c.created_ts < cutoff)
                    .limit(limit)
                )
            ).mappings()
        ]


async def link_conversation(db: Database, invitation_id: str, conversation_id: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            update(invitations)
            .where(invitations.c.id == invitation_id)
            .values(conversation_id=conversation_id)
        )
