"""Visitor rows written by group commit: every page load says hello, and a busy site's
hellos share transactions instead of paying one each (`server/store/group_commit.py`).

A visitor the server has just named (no valid token) cannot exist yet: its row is a
plain insert, many in one statement. A known visitor is refreshed (last seen, identity,
attributes merged) row by row inside the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import conversations as queries
from server.store.database import Database
from server.store.group_commit import GroupCommit
from server.store.tables import visitors


async def write_visitors(
    conn: AsyncConnection, batch: list[tuple[dict[str, Any], bool]]
) -> list[Exception | None]:
    new = [{**row, "attributes": row.get("attributes") or {}} for row, is_new in batch if is_new]
    if new:
        await conn.execute(visitors.insert(), new)
    for row, is_new in batch:
        if not is_new:
            await queries.upsert_visitor(conn, row)
    return [None] * len(batch)


class VisitorWriter:
    """One per node."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._commit: GroupCommit[tuple[dict[str, Any], bool], None] = GroupCommit(
            db, write_visitors, self._single
        )

    async def _single(self, item: tuple[dict[str, Any], bool]) -> None:
        async with self._db.write() as conn:
            await queries.upsert_visitor(conn, item[0])

    async def save(self, row: dict[str, Any], *, new: bool) -> None:
        """Insert (`new`: an id this node just made) or refresh the visitor's row."""
        await self._commit.submit((row, new))

    async def close(self) -> None:
        await self._commit.close()
