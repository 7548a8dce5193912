"""The full-text search index, kept up to a watermark per conversation (migration 0016).

Every message of a conversation with `seq <= message_search_progress.indexed_seq` is in
the index (PostgreSQL `message_search`, SQLite `messages_fts`); later ones, the tail, are
searched directly (`tail_matches`). A conversation's messages commit in seq order (its
row lock numbers them), so what a snapshot shows of it up to `last_seq` is complete:
indexing it and moving the watermark in one statement (one transaction on SQLite) never
skips a message. Indexing twice is harmless (PostgreSQL: ON CONFLICT; SQLite has one
writer), so any node may index any conversation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.database import Database, raw_postgres
from server.store.search_text import SQLITE_FUNCTION

# Messages indexed per conversation per statement: a long backlog (a restart after a
# node's crash, older nodes in a rolling upgrade) goes in bounded steps.
PER_CONVERSATION = 500

# Sent as it is on the asyncpg connection, in autocommit (one statement: its own
# transaction), no SQLAlchemy compile: it runs a few times a second on every node.
_PG_INDEX = """
WITH todo AS (
    SELECT c.id AS cid, c.last_seq, COALESCE(p.indexed_seq, 0) AS done,
           LEAST(c.last_seq, COALESCE(p.indexed_seq, 0) + $2::int4) AS upto
    FROM conversations c
    LEFT JOIN message_search_progress p ON p.conversation_id = c.id
    WHERE c.id = ANY($1::text[]) AND c.last_seq > COALESCE(p.indexed_seq, 0)
),
indexed AS (
    INSERT INTO message_search (message_id, conversation_id, tsv)
    SELECT m.id, t.cid, to_tsvector('simple', m.text)
    FROM todo t CROSS JOIN LATERAL (
        -- A range of the (conversation_id, seq) index per conversation. The LIMIT keeps
        -- the planner from flattening this into a join it may answer with a scan of
        -- every message (it did, with statistics behind a growing table).
        SELECT id, text FROM messages
        WHERE conversation_id = t.cid AND seq > t.done AND seq <= t.upto
        LIMIT $2::int4
    ) m
    ON CONFLICT (message_id) DO NOTHING
),
moved AS (
    INSERT INTO message_search_progress (conversation_id, indexed_seq)
    SELECT cid, upto FROM todo
    ON CONFLICT (conversation_id) DO UPDATE
    SET indexed_seq = GREATEST(message_search_progress.indexed_seq, EXCLUDED.indexed_seq)
)
-- (data-modifying CTEs run whether or not the result reads them)
SELECT cid FROM todo WHERE upto < last_seq
"""

_SQLITE_TODO = """
SELECT c.id, COALESCE(p.indexed_seq, 0), MIN(c.last_seq, COALESCE(p.indexed_seq, 0) + ?),
       c.last_seq
FROM conversations c
LEFT JOIN message_search_progress p ON p.conversation_id = c.id
WHERE c.id IN ({marks}) AND c.last_seq > COALESCE(p.indexed_seq, 0)
"""
_SQLITE_INDEX = (
    "INSERT INTO messages_fts(rowid, text) SELECT rowid, text FROM messages"
    " WHERE conversation_id = ? AND seq > ? AND seq <= ?"
)
_SQLITE_MOVE = (
    "INSERT INTO message_search_progress (conversation_id, indexed_seq) VALUES (?, ?)"
    " ON CONFLICT (conversation_id) DO UPDATE"
    " SET indexed_seq = MAX(indexed_seq, excluded.indexed_seq)"
)

_BEHIND = text("""
SELECT c.id FROM conversations c
LEFT JOIN message_search_progress p ON p.conversation_id = c.id
WHERE c.last_seq > COALESCE(p.indexed_seq, 0)
ORDER BY c.id
LIMIT :limit
""")


async def index_conversations(db: Database, conversation_ids: list[str]) -> list[str]:
    """Index the unindexed messages of these conversations (up to PER_CONVERSATION
    each) and move their watermarks; returns those with more left to index. Raises
    IntegrityError when a conversation or message was deleted meanwhile (nothing is
    stored then; the next pass no longer sees it) and StoreUnavailable."""
    if not conversation_ids:
        return []
    ids = sorted(set(conversation_ids))
    async with db.write() as conn:
        if db.dialect == "postgresql":
            return await _index_postgres(conn, ids)
        return await _index_sqlite(conn, ids)


async def _index_postgres(conn: AsyncConnection, ids: list[str]) -> list[str]:
    import asyncpg  # the PostgreSQL driver: imported only where it is used

    async with raw_postgres(conn) as pg:
        try:
            # Unnamed: planned for these arguments each time (as the message batch is).
            statement = await pg.prepare(_PG_INDEX, name="")
            return [r[0] for r in await statement.fetch(ids, PER_CONVERSATION)]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError("search index", None, exc) from exc


async def _index_sqlite(conn: AsyncConnection, ids: list[str]) -> list[str]:
    marks = ", ".join("?" * len(ids))
    todo = (
        await conn.exec_driver_sql(_SQLITE_TODO.format(marks=marks), (PER_CONVERSATION, *ids))
    ).all()
    for cid, done, upto, _last in todo:
        await conn.exec_driver_sql(_SQLITE_INDEX, (cid, done, upto))
        await conn.exec_driver_sql(_SQLITE_MOVE, (cid, upto))
    return [cid for cid, _done, upto, last in todo if upto < last]


async def conversations_behind(db: Database, limit: int) -> list[str]:
    """Conversations with messages past their watermark, wherever they were written
    (a scan of every conversation: for start-up and a slow sweep, not every pass)."""
    async with db.read() as conn:
        return [r[0] for r in await conn.execute(_BEHIND, {"limit": limit})]


def tail_matches(dialect: str, site_id: str, query: str) -> Any:
    """A text subquery of the conversations of `site_id` with a message past its
    watermark that matches `query` as the index would."""
    match = (
        "to_tsvector('simple', m.text) @@ plainto_tsquery('simple', :tail_q)"
        if dialect == "postgresql"
        else f"{SQLITE_FUNCTION}(m.text, :tail_q)"
    )
    return text(f"""
SELECT m.conversation_id FROM conversations c
LEFT JOIN message_search_progress p ON p.conversation_id = c.id
JOIN messages m ON m.conversation_id = c.id AND m.seq > COALESCE(p.indexed_seq, 0)
WHERE c.site_id = :tail_site AND c.last_seq > COALESCE(p.indexed_seq, 0) AND {match}
""").bindparams(tail_site=site_id, tail_q=query)
