"""Invitations in the Store: triggered → shown → accepted | dismissed | expired |
withdrawn (held_out for the holdout group). Each move is a compare-and-set on status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.ids import new_id, now_ms
from server.store.database import Database
from server.store.group_commit import GroupCommit
from server.store.tables import invitations

OPEN = ("triggered", "shown")
EXPIRY_MS = 120_000


# Every column a recorded row may leave out: rows of one batch share one statement.
_OPTIONAL = ("rule_id", "rule_version", "variant_id", "text", "agent_id")


def _new_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": new_id("iv"), "created_ts": now_ms(), **dict.fromkeys(_OPTIONAL), **row}


class InvitationWriter:
    """The node's invitation rows by group commit (`server/store/group_commit.py`): when
    a page's checkout rules fire for hundreds of visitors at once, their rows share a
    few transactions instead of each holding a pooled connection (a burst used to
    exhaust the pool and refuse frames). `record` returns once its row is committed, as
    before: the invitation frame, which names the row, is sent after."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._commit: GroupCommit[dict[str, Any], None] = GroupCommit(db, self._batch, self._single)

    async def record(self, **row: Any) -> dict[str, Any]:
        row = _new_row(row)
        await self._commit.submit(row)
        return row

    async def _batch(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[None]:
        await conn.execute(invitations.insert(), rows)
        return [None] * len(rows)

    async def _single(self, row: dict[str, Any]) -> None:
        async with self._db.write() as conn:
            await conn.execute(invitations.insert().values(**row))

    async def close(self) -> None:
        await self._commit.close()


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
