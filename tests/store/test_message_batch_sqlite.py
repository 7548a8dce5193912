"""The SQLite batch looks retries up by the unique index, never by a scan of every
message (`(a, b, c) IN (VALUES …)` scanned: each batch cost O(messages stored))."""

from __future__ import annotations

import sqlite3

from server.store.database import open_database
from server.store.message_batch import sqlite_stored_query
from server.store.migrate import upgrade_to_head


async def test_retries_are_found_through_the_unique_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(f"sqlite+aiosqlite:///{tmp_path}/store.db")
    try:
        await upgrade_to_head(db)
    finally:
        await db.close()
    raw = sqlite3.connect(tmp_path / "store.db")
    try:
        plan = raw.execute(
            "EXPLAIN QUERY PLAN " + sqlite_stored_query(2), ["cv_1", "v:1", "c1"] * 2
        ).fetchall()
    finally:
        raw.close()
    details = [row[3] for row in plan]
    assert "SCAN messages" not in details and "SCAN m" not in details
    assert any(
        d.startswith("SEARCH m USING INDEX")
        and d.endswith("(conversation_id=? AND sender=? AND client_msg_id=?)")
        for d in details
    ), details
