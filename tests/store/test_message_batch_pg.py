"""The one-statement batch on PostgreSQL (`server/store/message_batch.py`): seqs stay
gap-free under two nodes' writers, a key repeated in one batch is stored once, a batch
that waited on a conversation's lock numbers after what committed meanwhile, and a
retry committed by another node while the batch waited is settled as a duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import insert, select

from server.chat import messages
from server.chat.message_writer import MessageWriter
from server.store.database import Database, StoreUnavailable, open_database
from server.store.migrate import upgrade_to_head
from server.store.tables import conversations, visitors
from server.store.tables import messages as message_table
from tests.conftest import _asyncpg_dsn, create_pg_database, drop_pg_database
from tests.store.test_schema import _conversation, _seed
from tests.waiting import wait_until

CONVERSATIONS = ["cv_1", "cv_2", "cv_3"]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    db = open_database(url)
    try:
        await upgrade_to_head(db)
        await _seed(db)
        async with db.write() as conn:
            for n, cid in enumerate(CONVERSATIONS, start=1):
                if n > 1:
                    await conn.execute(
                        insert(visitors).values(
                            id=f"vi_{n}",
                            site_id="st_1",
                            attributes={},
                            first_seen_ts=1,
                            last_seen_ts=1,
                        )
                    )
                await conn.execute(
                    insert(conversations).values(
                        **{**_conversation(cid, "active"), "visitor_id": f"vi_{n}"}
                    )
                )
        await db.close()
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def node(pg_url: str) -> AsyncIterator[Database]:
    db = open_database(pg_url)
    try:
        yield db
    finally:
        await db.close()


async def _stored(db: Database) -> list[dict]:
    async with db.read() as conn:
        query = select(message_table).order_by(message_table.c.conversation_id, message_table.c.seq)
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def _last_seqs(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        rows = await conn.execute(select(conversations.c.id, conversations.c.last_seq))
        return {r.id: r.last_seq for r in rows}


def _say(writer: MessageWriter, cid: str, client_msg_id: str | None, sender: str = "v:vi_1"):  # type: ignore[no-untyped-def]
    return writer.append(
        conversation_id=cid,
        sender=sender,
        author_kind="visitor",
        author_id=None,
        author_name=None,
        client_msg_id=client_msg_id,
        text=f"text of {client_msg_id}",
    )


async def test_two_nodes_writing_the_same_conversations_leave_no_gap(pg_url: str) -> None:
    nodes = [open_database(pg_url), open_database(pg_url)]
    writers = [MessageWriter(db, max_batch=8) for db in nodes]
    try:
        # Each node writes to all three conversations, in differing orders, at once.
        calls = [
            _say(writers[n], CONVERSATIONS[(i + n) % 3], f"n{n}-{i}", sender=f"v:{n}")
            for i in range(150)
            for n in (0, 1)
        ]
        results = await asyncio.gather(*calls)
        stored = await _stored(nodes[0])
        last_seqs = await _last_seqs(nodes[0])
    finally:
        for writer in writers:
            await writer.close()
        for db in nodes:
            await db.close()
    assert not any(duplicate for _, duplicate in results)
    for cid in CONVERSATIONS:
        seqs = [r["seq"] for r in stored if r["conversation_id"] == cid]
        assert seqs == list(range(1, 101))
        assert last_seqs[cid] == 100
    by_id = {r["id"]: r for r in stored}
    for row, _ in results:
        assert by_id[row["id"]]["seq"] == row["seq"]
        assert by_id[row["id"]]["text"] == row["text"]


async def test_a_key_repeated_in_one_batch_is_stored_once(node: Database) -> None:
    async with node.write() as conn:
        await conn.execute(
            conversations.update().where(conversations.c.id == "cv_3").values(status="closed")
        )
    writer = MessageWriter(node)
    try:
        results = await asyncio.gather(
            _say(writer, "cv_1", "c1"),
            _say(writer, "cv_2", "c1"),
            _say(writer, "cv_1", "c1"),
            _say(writer, "cv_1", "c2"),
            _say(writer, "cv_1", "c1", sender="a:us_1"),
            _say(writer, "cv_3", "c1"),
            _say(writer, "cv_3", "c1"),
            _say(writer, "cv_1", None),
            _say(writer, "cv_1", None),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    first, other_conv, again, second, other_sender, closed, closed_again, n1, n2 = results
    assert first[1] is False and again[1] is True and again[0] == first[0]
    assert first[0]["seq"] == 1
    assert other_conv == (other_conv[0], False) and other_conv[0]["seq"] == 1
    assert (second[0]["seq"], second[1]) == (2, False)
    assert (other_sender[0]["seq"], other_sender[1]) == (3, False)
    assert isinstance(closed, messages.ConversationClosed)
    assert isinstance(closed_again, messages.ConversationClosed)
    # No client_msg_id: never a duplicate of anything.
    assert (n1[0]["seq"], n2[0]["seq"], n1[1], n2[1]) == (4, 5, False, False)
    stored = await _stored(node)
    assert [(r["conversation_id"], r["seq"]) for r in stored] == [
        ("cv_1", 1),
        ("cv_1", 2),
        ("cv_1", 3),
        ("cv_1", 4),
        ("cv_1", 5),
        ("cv_2", 1),
    ]
    assert (await _last_seqs(node)) == {"cv_1": 5, "cv_2": 1, "cv_3": 0}


async def _holding_lock(pg_url: str) -> asyncpg.Connection:
    other = await asyncpg.connect(_asyncpg_dsn(pg_url))
    await other.execute("BEGIN")
    await other.execute("SELECT 1 FROM conversations WHERE id = 'cv_1' FOR UPDATE")
    return other


async def _until_waiting_on_a_lock(pg_url: str) -> None:
    # Its own connection: pg_stat_activity is a snapshot per transaction.
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    watcher = await asyncpg.connect(_asyncpg_dsn(pg_url))
    try:
        await wait_until(
            lambda: watcher.fetchval(query), bool, 10, "the batch to wait on the row lock"
        )
    finally:
        await watcher.close()


async def _commit_message(other: asyncpg.Connection, client_msg_id: str) -> None:
    await other.execute(
        "INSERT INTO messages (id, conversation_id, seq, author_kind, sender, client_msg_id,"
        " text, internal, ts) VALUES ('ms_other', 'cv_1', 1, 'visitor', 'v:vi_1', $1,"
        " 'from the other node', false, 1)",
        client_msg_id,
    )
    await other.execute("UPDATE conversations SET last_seq = 1 WHERE id = 'cv_1'")
    await other.execute("COMMIT")


async def test_a_batch_that_waited_numbers_after_what_committed_meanwhile(
    pg_url: str, node: Database
) -> None:
    other = await _holding_lock(pg_url)
    writer = MessageWriter(node)
    try:
        pending = asyncio.ensure_future(_say(writer, "cv_1", "c1"))
        # The batch's statement has its snapshot and waits for the row lock; another
        # node's message commits in between.
        await _until_waiting_on_a_lock(pg_url)
        await _commit_message(other, "c0")
        row, duplicate = await pending
    finally:
        await other.close()
        await writer.close()
    assert (row["seq"], duplicate) == (2, False)
    assert [r["seq"] for r in await _stored(node)] == [1, 2]
    assert (await _last_seqs(node))["cv_1"] == 2


async def test_a_retry_committed_by_another_node_while_waiting_is_a_duplicate(
    pg_url: str, node: Database
) -> None:
    other = await _holding_lock(pg_url)
    writer = MessageWriter(node)
    try:
        pending = asyncio.ensure_future(_say(writer, "cv_1", "c1"))
        other_message = asyncio.ensure_future(_say(writer, "cv_1", "c2"))
        await _until_waiting_on_a_lock(pg_url)
        await _commit_message(other, "c1")
        (row, duplicate), (fresh, fresh_duplicate) = await asyncio.gather(pending, other_message)
    finally:
        await other.close()
        await writer.close()
    # The batch's insert hit the unique key and rolled back whole; message by message,
    # c1 is the other node's row and c2 takes the next seq.
    assert (row["id"], row["seq"], duplicate) == ("ms_other", 1, True)
    assert (fresh["seq"], fresh_duplicate) == (2, False)
    assert [r["seq"] for r in await _stored(node)] == [1, 2]
    assert (await _last_seqs(node))["cv_1"] == 2


async def test_a_lost_connection_is_unavailable_then_replaced(pg_url: str, node: Database) -> None:
    writer = MessageWriter(node)
    killer = await asyncpg.connect(_asyncpg_dsn(pg_url))
    try:
        await _say(writer, "cv_1", "c1")
        await killer.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with pytest.raises(StoreUnavailable):
            await _say(writer, "cv_1", "c2")
        row, duplicate = await _say(writer, "cv_1", "c2")
    finally:
        await killer.close()
        await writer.close()
    assert (row["seq"], duplicate) == (2, False)


async def test_the_batch_is_never_a_cached_prepared_statement(node: Database) -> None:
    # Cached, PostgreSQL would switch it to one generic plan after five runs, made from
    # the table sizes of that moment (a scan of every message, once `messages` grew).
    writer = MessageWriter(node)
    try:
        for i in range(8):
            await _say(writer, "cv_1", f"c{i}")
    finally:
        await writer.close()
    async with node.read() as conn:
        pg = (await conn.get_raw_connection()).driver_connection
        statements = await pg.fetch("SELECT statement FROM pg_prepared_statements")
        sessions = await pg.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
    assert sessions == 1  # the writer's connection is the one asked
    assert not [s for (s,) in statements if "unnest(" in s]
