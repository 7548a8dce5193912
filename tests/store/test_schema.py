"""The schema's constraints hold on SQLite and PostgreSQL alike (guarantees 2, 3, 5)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from server.store.database import Database, StoreUnavailable, open_database
from server.store.migrate import current_revision, head_revision, upgrade_to_head
from server.store.tables import conversations, messages, sites, visitors


async def _seed(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(sites).values(
                id="st_1",
                key="sk_1",
                name="Shop",
                allowed_origins=["https://shop.test"],
                identity_secret="s" * 64,
                timezone="UTC",
                default_lang="en",
                widget={},
                departments=[],
                business_hours=None,
                settings={},
                created_ts=1,
            )
        )
        await conn.execute(
            insert(visitors).values(
                id="vi_1", site_id="st_1", attributes={}, first_seen_ts=1, last_seen_ts=1
            )
        )


def _conversation(cid: str, status: str = "queued") -> dict:
    return {"id": cid, "site_id": "st_1", "visitor_id": "vi_1", "status": status, "created_ts": 1}


def _message(mid: str, seq: int, client_msg_id: str | None, sender: str = "v:vi_1") -> dict:
    return {
        "id": mid,
        "conversation_id": "cv_1",
        "seq": seq,
        "author_kind": "visitor",
        "sender": sender,
        "client_msg_id": client_msg_id,
        "text": "hi",
        "ts": 1,
    }


async def test_migrations_reach_head_and_are_idempotent(db: Database) -> None:
    assert await current_revision(db) == head_revision() == "0016"
    before, after = await upgrade_to_head(db)
    assert (before, after) == ("0016", "0016")


async def test_one_open_conversation_per_visitor(db: Database) -> None:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1")))
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(insert(conversations).values(**_conversation("cv_2", "active")))
    # Once closed, a new one may open; closed ones do not count.
    async with db.write() as conn:
        await conn.execute(update(conversations).values(status="closed"))
        await conn.execute(insert(conversations).values(**_conversation("cv_2")))
        await conn.execute(insert(conversations).values(**_conversation("cv_3", "closed")))


async def test_concurrent_opens_leave_exactly_one(db: Database) -> None:
    await _seed(db)

    async def attempt(i: int) -> bool:
        try:
            async with db.write() as conn:
                await conn.execute(insert(conversations).values(**_conversation(f"cv_{i}")))
            return True
        except IntegrityError:
            return False

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sum(results) == 1
    async with db.read() as conn:
        open_rows = (
            await conn.execute(select(conversations.c.id).where(conversations.c.status != "closed"))
        ).all()
    assert len(open_rows) == 1


async def test_seq_is_unique_per_conversation(db: Database) -> None:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1")))
        await conn.execute(insert(messages).values(**_message("m1", 1, "c1")))
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(insert(messages).values(**_message("m2", 1, "c2")))


async def test_client_msg_id_is_unique_per_sender(db: Database) -> None:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1")))
        await conn.execute(insert(messages).values(**_message("m1", 1, "c1")))
        # Another sender may use the same client id, and ids may be absent.
        await conn.execute(insert(messages).values(**_message("m2", 2, "c1", sender="a:us_1")))
        await conn.execute(insert(messages).values(**_message("m3", 3, None)))
        await conn.execute(insert(messages).values(**_message("m4", 4, None)))
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(insert(messages).values(**_message("m5", 5, "c1")))


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(insert(conversations).values(**_conversation("cv_x")))


async def test_text_is_stored_byte_identical(db: Database) -> None:
    await _seed(db)
    hostile = "<script>alert(1)</script> ' OR 1=1; -- \u202e é 😀" + "x" * 10_000
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1")))
        await conn.execute(insert(messages).values({**_message("m1", 1, "c1"), "text": hostile}))
    async with db.read() as conn:
        stored = (await conn.execute(select(messages.c.text))).scalar_one()
    assert stored == hostile


async def test_unknown_database_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown database URL scheme 'mysql'"):
        open_database("mysql://root@127.0.0.1/test")


async def test_unreachable_postgres_is_store_unavailable() -> None:
    from tests.beckon_process import free_port

    db = open_database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with pytest.raises(StoreUnavailable):
            await db.ping()
    finally:
        await db.close()


async def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        async with db.read() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 10_000
    finally:
        await db.close()


async def test_a_visitors_conversations_are_read_by_index(db: Database) -> None:
    """`count_for_visitor` (every returning visitor's hello) must not read the table."""
    query = str(
        (
            select(func.count())
            .select_from(conversations)
            .where(conversations.c.visitor_id == "vi_1")
        ).compile(db.engine, compile_kwargs={"literal_binds": True})
    )
    async with db.write() as conn:
        if db.dialect == "sqlite":
            plan = " ".join(
                str(r) for r in (await conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            )
        else:
            # Tiny tables are scanned whatever the indexes: forbid that to see the index.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r) for r in (await conn.execute(text(f"EXPLAIN {query}"))))
    assert "ix_conversations_visitor_id_created_ts" in plan, plan
