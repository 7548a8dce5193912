"""What returning visitors' hellos read, for many visitors in one statement and without
SQLAlchemy on the way: per visitor, its chats counted, whether one is open, and whether
an inbox answer is unseen. (Three statements through SQLAlchemy were a fifth of a node's
time in a burst of page loads.) The open conversation's row itself is read only for the
few visitors that have one.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.database import raw_postgres

# (visitor id, chats, has an open conversation, has an unseen inbox answer)
Summary = tuple[str, int, bool, bool]

_PER_VISITOR = """
SELECT ids.id,
       (SELECT count(*) FROM conversations c WHERE c.visitor_id = ids.id),
       EXISTS (SELECT 1 FROM conversations c
               WHERE c.visitor_id = ids.id AND c.status <> 'closed'),
       EXISTS (SELECT 1 FROM inbox_items i
               WHERE i.visitor_id = ids.id AND i.reply_seq IS NOT NULL
                 AND i.reply_seq > i.seen_seq)
FROM {ids}
"""
# One statement text whatever the batch's size: asyncpg prepares it once.
_POSTGRES = _PER_VISITOR.format(ids="unnest($1::text[]) AS ids(id)")


def _sqlite(conn: sqlite3.Connection, visitor_ids: list[str]) -> list[Any]:
    values = ",".join("(?)" for _ in visitor_ids)
    sql = _PER_VISITOR.format(ids=f"(SELECT column1 AS id FROM (VALUES {values})) AS ids")
    return conn.execute(sql, visitor_ids).fetchall()


async def visitor_summaries(conn: AsyncConnection, visitor_ids: list[str]) -> list[Summary]:
    """One row per id of `visitor_ids` (unique), in no particular order."""
    if conn.dialect.name == "postgresql":
        async with raw_postgres(conn) as pg:
            rows = await pg.fetch(_POSTGRES, visitor_ids)
    else:
        driver = (await conn.get_raw_connection()).driver_connection  # aiosqlite.Connection
        # aiosqlite's own way of running a call on its connection thread.
        rows = await driver._execute(_sqlite, driver._conn, visitor_ids)
    return [(row[0], int(row[1]), bool(row[2]), bool(row[3])) for row in rows]
