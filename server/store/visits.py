"""The visit event log: behaviour events appended in batches (input of backtests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.buffered_rows import BufferedRows
from server.store.database import Database
from server.store.tables import visit_events
from server.store.visit_batch import write_visit_events


class VisitLog(BufferedRows):
    """Buffers behaviour events and writes them in batches (`BufferedRows`): they are
    not acknowledged to anyone, so batching them costs no guarantee."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, visit_events, "visit log")

    async def write(self, conn: AsyncConnection, batch: list[dict[str, Any]]) -> None:
        await write_visit_events(conn, batch)

    def append(self, site_id: str, visitor_id: str, ts: int, type_: str, data: dict) -> None:
        self.add(
            {"site_id": site_id, "visitor_id": visitor_id, "ts": ts, "type": type_, "data": data}
        )


async def events_between(
    db: Database, site_id: str, from_ts: int, to_ts: int, limit: int
) -> list[dict[str, Any]]:
    query = (
        select(visit_events)
        .where(
            visit_events.c.site_id == site_id,
            visit_events.c.ts >= from_ts,
            visit_events.c.ts < to_ts,
        )
        .order_by(visit_events.c.ts, visit_events.c.id)
        .limit(limit)
    )
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def delete_visitor(db: Database, site_id: str, visitor_id: str) -> int:
    async with db.write() as conn:
        result = await conn.execute(
            delete(visit_events).where(
                visit_events.c.site_id == site_id, visit_events.c.visitor_id == visitor_id
            )
        )
    return result.rowcount or 0
