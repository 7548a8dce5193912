"""A returning visitor's hello reads (`server/hub/visitor/returning.py`) on SQLite and
PostgreSQL: concurrent hellos share one read and each gets exactly what the one-visitor
queries give (chats counted, the open conversation, an unseen inbox answer); an id the
Store does not know gets an empty answer; a Store error reaches every caller of the
batch, and the next hellos read again."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert

from server.hub.visitor import returning
from server.hub.visitor.returning import ReturningReads, returning_reads
from server.store import conversations as conv_queries
from server.store import inbox as inbox_queries
from server.store.database import Database, StoreUnavailable
from server.store.tables import conversations, inbox_items, visitors
from tests.store.test_schema import _seed


async def _visitor(db: Database, vid: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(visitors).values(
                id=vid, site_id="st_1", attributes={}, first_seen_ts=1, last_seen_ts=1
            )
        )


async def _conv(db: Database, cid: str, vid: str, status: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(conversations).values(
                id=cid, site_id="st_1", visitor_id=vid, status=status, created_ts=1
            )
        )


async def _inbox(db: Database, iid: str, vid: str, cid: str, reply: int | None, seen: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(inbox_items).values(
                id=iid,
                site_id="st_1",
                kind="missed",
                status="waiting",
                conversation_id=cid,
                visitor_id=vid,
                text="hello?",
                created_ts=1,
                updated_ts=1,
                reply_seq=reply,
                seen_seq=seen,
            )
        )


async def test_concurrent_hellos_share_one_read_and_match_the_single_queries(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(db)  # vi_1 with no conversation
    for vid in ("vi_2", "vi_3", "vi_4"):
        await _visitor(db, vid)
    await _conv(db, "cv_a", "vi_2", "closed")
    await _conv(db, "cv_b", "vi_2", "closed")
    await _conv(db, "cv_c", "vi_2", "active")  # vi_2: three chats, one open
    await _conv(db, "cv_d", "vi_3", "closed")
    await _inbox(db, "ib_1", "vi_3", "cv_d", reply=4, seen=2)  # vi_3: an unseen answer
    await _conv(db, "cv_e", "vi_4", "closed")
    await _inbox(db, "ib_2", "vi_4", "cv_e", reply=4, seen=4)  # vi_4: answer already seen

    reads = 0
    real = returning.read_batch

    async def counting(db_: Database, ids: list[str]):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return await real(db_, ids)

    monkeypatch.setattr(returning, "read_batch", counting)
    reader = ReturningReads(db)
    ids = ["vi_1", "vi_2", "vi_3", "vi_4", "vi_unknown", "vi_2"]
    got = await asyncio.gather(*(reader.load(v) for v in ids))
    assert reads == 1
    for vid, r in zip(ids, got, strict=True):
        async with db.read() as conn:
            assert r.chats == await conv_queries.count_for_visitor(conn, vid)
            assert r.open_conversation == await conv_queries.open_conversation_of(conn, vid)
            assert r.has_follow_up == bool(await inbox_queries.unread_for_visitor(conn, vid))
    assert [r.chats for r in got] == [0, 3, 1, 1, 0, 3]
    assert got[1].open_conversation is not None and got[1].open_conversation["id"] == "cv_c"
    assert [r.has_follow_up for r in got] == [False, False, True, False, False, False]


async def test_a_store_error_reaches_the_batch_and_the_next_hellos_read_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(db)
    real = returning.read_batch
    failing = True

    async def flaky(db_: Database, ids: list[str]):  # type: ignore[no-untyped-def]
        if failing:
            raise StoreUnavailable("database down")
        return await real(db_, ids)

    monkeypatch.setattr(returning, "read_batch", flaky)
    reader = ReturningReads(db)
    results = await asyncio.gather(reader.load("vi_1"), reader.load("vi_2"), return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results)
    failing = False
    assert (await reader.load("vi_1")).chats == 0


async def test_a_caller_that_goes_away_leaves_the_others_their_answer(db: Database) -> None:
    await _seed(db)
    await _conv(db, "cv_a", "vi_1", "queued")
    reader = returning_reads(db)
    assert returning_reads(db) is reader  # one per Database
    gone = asyncio.create_task(reader.load("vi_1"))
    stays = asyncio.create_task(reader.load("vi_1"))
    await asyncio.sleep(0)
    gone.cancel()
    r = await asyncio.wait_for(stays, 10)
    assert r.chats == 1 and r.open_conversation is not None
