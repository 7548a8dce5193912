"""Group commit keeps guarantees 1–3 on SQLite and PostgreSQL: gap-free seqs, dedupe by
(sender, client_msg_id) within and across batches, closed conversations refused, and a
concurrent duplicate from another writer settled by the one-message path."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from server.chat import messages
from server.chat.message_writer import MessageWriter
from server.store.database import Database, StoreUnavailable
from server.store.tables import conversations
from server.store.tables import messages as message_table
from tests.store.test_schema import _conversation, _seed


async def _stored(db: Database, cid: str) -> list[dict]:
    async with db.read() as conn:
        query = (
            select(message_table)
            .where(message_table.c.conversation_id == cid)
            .order_by(message_table.c.seq)
        )
        return [dict(r) for r in (await conn.execute(query)).mappings()]


def _say(writer: MessageWriter, cid: str, text: str, client_msg_id: str | None, **kw):  # type: ignore[no-untyped-def]
    return writer.append(
        conversation_id=cid,
        sender=kw.get("sender", "v:vi_1"),
        author_kind=kw.get("author_kind", "visitor"),
        author_id=kw.get("author_id"),
        author_name=None,
        client_msg_id=client_msg_id,
        text=text,
        internal=kw.get("internal", False),
    )


@pytest.fixture
async def conversation(db: Database) -> str:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1", "active")))
    return "cv_1"


async def test_a_burst_gets_gap_free_seqs_and_each_ack_is_what_was_stored(
    db: Database, conversation: str
) -> None:
    writer = MessageWriter(db, max_batch=16)
    try:
        results = await asyncio.gather(
            *(_say(writer, conversation, f"m{i}", f"c{i}") for i in range(100))
        )
    finally:
        await writer.close()
    assert not any(duplicate for _, duplicate in results)
    # Concurrent senders get seqs in commit order (two batches may commit either way).
    assert sorted(row["seq"] for row, _ in results) == list(range(1, 101))
    stored = {r["seq"]: r for r in await _stored(db, conversation)}
    for row, _ in results:
        assert stored[row["seq"]]["text"] == row["text"]
        assert stored[row["seq"]]["id"] == row["id"]
    async with db.read() as conn:
        last = (await conn.execute(select(conversations.c.last_seq))).scalar_one()
    assert last == 100


async def test_one_sender_awaiting_each_ack_keeps_its_order(
    db: Database, conversation: str
) -> None:
    # A socket handles its frames one at a time: what it sends in order is stored in
    # order, while other senders' messages interleave.
    writer = MessageWriter(db, max_batch=4)

    async def sender(name: str) -> list[int]:
        seqs = []
        for i in range(20):
            row, _ = await _say(writer, conversation, f"{name}{i}", f"{name}{i}", sender=name)
            seqs.append(row["seq"])
        return seqs

    try:
        runs = await asyncio.gather(*(sender(f"v:{n}") for n in "abc"))
    finally:
        await writer.close()
    for seqs in runs:
        assert seqs == sorted(seqs)
    assert sorted(s for seqs in runs for s in seqs) == list(range(1, 61))


async def test_retries_return_the_stored_row_in_and_across_batches(
    db: Database, conversation: str
) -> None:
    writer = MessageWriter(db)
    try:
        first, again = await asyncio.gather(
            _say(writer, conversation, "hello", "c1"), _say(writer, conversation, "hello", "c1")
        )
        later = await _say(writer, conversation, "hello", "c1")
        other_sender = await _say(writer, conversation, "hi", "c1", sender="a:us_1")
    finally:
        await writer.close()
    assert first[1] is False and again[1] is True and later[1] is True
    assert first[0]["id"] == again[0]["id"] == later[0]["id"]
    assert other_sender[1] is False and other_sender[0]["seq"] == 2
    assert len(await _stored(db, conversation)) == 2


async def test_closed_conversation_is_refused_without_failing_the_batch(
    db: Database, conversation: str
) -> None:
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_2", "closed")))
    writer = MessageWriter(db)
    try:
        ok, refused, missing = await asyncio.gather(
            _say(writer, conversation, "fine", "c1"),
            _say(writer, "cv_2", "too late", "c2"),
            _say(writer, "cv_nope", "nowhere", "c3"),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    assert isinstance(ok, tuple) and ok[0]["seq"] == 1
    assert isinstance(refused, messages.ConversationClosed)
    assert isinstance(missing, messages.ConversationClosed)
    assert await _stored(db, "cv_2") == []


async def test_first_agent_reply_sets_first_response_once(db: Database, conversation: str) -> None:
    writer = MessageWriter(db)
    agent = {"sender": "a:us_1", "author_kind": "agent", "author_id": None}
    try:
        await _say(writer, conversation, "note", "n1", internal=True, **agent)
        async with db.read() as conn:
            query = select(conversations.c.first_response_ts)
            assert (await conn.execute(query)).scalar_one() is None
        reply, _ = await _say(writer, conversation, "hello", "a1", **agent)
        await _say(writer, conversation, "again", "a2", **agent)
    finally:
        await writer.close()
    async with db.read() as conn:
        first_response = (
            await conn.execute(select(conversations.c.first_response_ts))
        ).scalar_one()
    assert first_response == reply["ts"]


async def test_a_store_failure_reaches_every_caller(db: Database, conversation: str) -> None:
    writer = MessageWriter(db)

    async def failing(conn, batch):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    writer._commit._write = failing  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(
            *(_say(writer, conversation, "x", f"c{i}") for i in range(3)), return_exceptions=True
        )
    finally:
        await writer.close()
    # Raised inside the transaction, a connection error is the Store's "unavailable".
    assert all(isinstance(r, StoreUnavailable) for r in results)
