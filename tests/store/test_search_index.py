"""Full-text search off the ack path (migration 0016, server/search_indexer.py), on
SQLite and PostgreSQL: a message is found right after its ack (the unindexed tail) and
after indexing; a node that stopped before indexing is caught up by the next one's
sweep; messages deleted by retention or erasure are found no more, nor left in the
index."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, text, update

from server.chat.message_writer import MessageWriter
from server.privacy.retention import RetentionSweeper
from server.privacy.retention_policy import Defaults
from server.search_indexer import SearchIndexer
from server.store import search_index
from server.store.conversations import list_for_site
from server.store.database import Database
from server.store.tables import conversations, message_search_progress, messages, visitors
from tests.store.test_schema import _conversation, _seed
from tests.waiting import wait_until

DAY_MS = 86_400_000
NOW = 400 * DAY_MS


async def _found(db: Database, words: str) -> list[str]:
    async with db.read() as conn:
        rows = await list_for_site(
            conn,
            "st_1",
            status=None,
            agent_id=None,
            from_ts=None,
            to_ts=None,
            after=None,
            limit=50,
            text=words,
        )
    return sorted(r["id"] for r in rows)


async def _indexed_seq(db: Database, cid: str) -> int:
    async with db.read() as conn:
        found = await conn.execute(
            select(message_search_progress.c.indexed_seq).where(
                message_search_progress.c.conversation_id == cid
            )
        )
        return found.scalar_one_or_none() or 0


async def _index_rows(db: Database, word: str) -> int:
    """Rows of the search index itself holding `word`."""
    async with db.read() as conn:
        if db.dialect == "sqlite":
            query = "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH :w"
        else:
            query = "SELECT count(*) FROM message_search WHERE tsv @@ plainto_tsquery('simple', :w)"
        return int((await conn.execute(text(query), {"w": word})).scalar_one())


async def _say(writer: MessageWriter, cid: str, words: str, n: int) -> None:
    await writer.append(
        conversation_id=cid,
        sender="v:vi_1",
        author_kind="visitor",
        author_id=None,
        author_name=None,
        client_msg_id=f"c{n}",
        text=words,
    )


@pytest.fixture
async def two_chats(db: Database) -> list[str]:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(
            insert(visitors).values(
                id="vi_2", site_id="st_1", attributes={}, first_seen_ts=1, last_seen_ts=1
            )
        )
        await conn.execute(insert(conversations).values(**_conversation("cv_1", "active")))
        await conn.execute(
            insert(conversations).values(
                **{**_conversation("cv_2", "active"), "visitor_id": "vi_2"}
            )
        )
    return ["cv_1", "cv_2"]


async def test_found_right_after_the_ack_and_after_indexing(
    db: Database, two_chats: list[str]
) -> None:
    indexer = SearchIndexer(db)
    writer = MessageWriter(db, on_stored=indexer.note)
    try:
        await _say(writer, "cv_1", "Where is my parcel Ünïcode?", 1)
        await _say(writer, "cv_2", "refund please", 2)
        # Acked, not indexed yet: the tail answers, by the index's own rule.
        assert await _indexed_seq(db, "cv_1") == 0
        assert await _index_rows(db, "parcel") == 0
        assert await _found(db, "PARCEL") == ["cv_1"]
        assert await _found(db, "ÜNÏCODE") == ["cv_1"]
        assert await _found(db, "my parcel") == ["cv_1"]
        assert await _found(db, "parcel refund") == []
        assert await _found(db, '" OR * NEAR(') == []
        await indexer.run_once()
        assert await _indexed_seq(db, "cv_1") == 1
        assert await _index_rows(db, "parcel") == 1
        assert await _found(db, "PARCEL") == ["cv_1"]
        assert await _found(db, "ÜNÏCODE") == ["cv_1"]
        assert await _found(db, "refund") == ["cv_2"]
        # Indexing again finds nothing to do and changes nothing.
        await indexer.run_once()
        assert await _index_rows(db, "parcel") == 1
        # Past the watermark again: the new message by the tail, the old by the index.
        await _say(writer, "cv_1", "a second parcel", 3)
        assert await _found(db, "second") == ["cv_1"]
        assert await _found(db, "where") == ["cv_1"]
    finally:
        await writer.close()


async def test_a_restarted_node_catches_up(db: Database, two_chats: list[str]) -> None:
    # A node that stored messages and stopped before indexing any of them.
    writer = MessageWriter(db)
    try:
        for n in range(search_index.PER_CONVERSATION + 20):
            await _say(writer, "cv_1", f"backlog word{n}", n)
    finally:
        await writer.close()
    assert await _found(db, f"word{search_index.PER_CONVERSATION + 5}") == ["cv_1"]
    # The next node's indexer sweeps at start, in bounded steps, up to the last message.
    indexer = SearchIndexer(db, coalesce_s=0.01)
    indexer.start()
    try:
        last = search_index.PER_CONVERSATION + 20
        await wait_until(
            lambda: _indexed_seq(db, "cv_1"), lambda seq: seq == last, 30, "indexed to the end"
        )
    finally:
        await indexer.close()
    assert await _index_rows(db, "backlog") == search_index.PER_CONVERSATION + 20
    assert await _found(db, "word0") == ["cv_1"]
    assert await _found(db, f"word{search_index.PER_CONVERSATION + 19}") == ["cv_1"]


async def test_erased_and_retained_away_messages_are_not_found(
    db: Database, two_chats: list[str]
) -> None:
    indexer = SearchIndexer(db)
    writer = MessageWriter(db, on_stored=indexer.note)
    try:
        await _say(writer, "cv_1", "old secret ilica", 1)
        await _say(writer, "cv_2", "erased secret ilica", 2)
        await indexer.run_once()
        await _say(writer, "cv_2", "tail ilica", 3)  # past the watermark
    finally:
        await writer.close()
    assert await _found(db, "ilica") == ["cv_1", "cv_2"]
    # Retention: cv_1 closed long ago, its transcript swept.
    async with db.write() as conn:
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == "cv_1")
            .values(status="closed", closed_ts=NOW - 60 * DAY_MS)
        )
    await RetentionSweeper(db, Defaults(transcripts=30), batch=100).sweep(NOW)
    assert await _found(db, "ilica") == ["cv_2"]
    # Erasure: the person's messages by conversation (as server/privacy/erase.py does),
    # then the conversation.
    async with db.write() as conn:
        await conn.execute(delete(messages).where(messages.c.conversation_id.in_(["cv_2"])))
        await conn.execute(delete(conversations).where(conversations.c.id == "cv_2"))
    assert await _found(db, "ilica") == []
    assert await _found(db, "secret") == []
    assert await _index_rows(db, "ilica") == 0
    assert await _index_rows(db, "secret") == 0
    # A new message after the deletions is indexed as usual (no stale index row in the way).
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_3", "active")))
    writer = MessageWriter(db, on_stored=indexer.note)
    try:
        await _say(writer, "cv_3", "fresh ilica", 4)
    finally:
        await writer.close()
    await indexer.run_once()
    assert await _found(db, "ilica") == ["cv_3"]
    assert await _index_rows(db, "ilica") == 1


async def test_the_migration_indexes_what_was_stored_before_it(
    db: Database, two_chats: list[str]
) -> None:
    from alembic import command

    from server.store.migrate import _config, upgrade_to_head

    async with db.write() as conn:
        await conn.run_sync(lambda c: command.downgrade(_config(c), "0015"))
    writer = MessageWriter(db)  # as the version before: no indexer
    try:
        await _say(writer, "cv_1", "stored before the upgrade", 1)
        await _say(writer, "cv_2", "also before", 2)
    finally:
        await writer.close()
    assert await upgrade_to_head(db) == ("0015", "0016")
    assert await _indexed_seq(db, "cv_1") == 1 and await _indexed_seq(db, "cv_2") == 1
    assert await _index_rows(db, "before") == 2
    assert await _found(db, "before") == ["cv_1", "cv_2"]
    assert await _found(db, "upgrade") == ["cv_1"]
