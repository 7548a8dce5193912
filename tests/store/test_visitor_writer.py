"""Visitor batches (`server/chat/visitor_writer.py`, `server/store/visitor_batch.py`) on
SQLite and PostgreSQL: new rows are inserted as given; known rows end exactly as
`upsert_visitor` applied one after the other leaves them (the test runs both paths on
twin rows and compares); a batch that fails on one row's data is settled row by row."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import insert, select, text

from server.chat.visitor_writer import REFRESH_EVERY_MS, VisitorWriter, write_visitors
from server.store.conversations import get_visitor, upsert_visitor
from server.store.database import Database, StoreUnavailable
from server.store.tables import visitors
from tests.conftest import _asyncpg_dsn
from tests.store.test_schema import _seed


def _row(vid: str, ts: int, **kw: Any) -> dict[str, Any]:
    """A hello's row: every column, None where the hello gave nothing."""
    return {
        "id": vid,
        "site_id": "st_1",
        "user_id": kw.get("user_id"),
        "name": kw.get("name"),
        "email": kw.get("email"),
        "attributes": kw.get("attributes", {}),
        "first_seen_ts": ts,
        "last_seen_ts": ts,
    }


# (stored row or None, the known rows that follow, in order)
CASES: list[tuple[dict[str, Any] | None, list[dict[str, Any]]]] = [
    # gone since its token was issued: inserted
    (None, [_row("x", 50, user_id="u1", name="Ann", attributes={"plan": "pro"})]),
    # gone, then twice in one batch
    (None, [_row("x", 50), _row("x", 51, name="Bo", attributes={"a": 1})]),
    (
        {
            "user_id": "u1",
            "name": "Ann",
            "email": None,
            "attributes": {"plan": "free", "seats": 3, "n": None, "é": "☃"},
            "first_seen_ts": 5,
            "last_seen_ts": 100,
        },
        # an earlier last_seen still overwrites (upsert_visitor does not compare)
        [
            _row(
                "x",
                60,
                email="ann@shop.test",
                attributes={"seats": 4, "new": "x", "f": 1.5e300, "b": False, "n": 7},
            )
        ],
    ),
    (
        {
            "user_id": "u1",
            "name": "Ann",
            "email": "a@x.io",
            "attributes": {"a": 1},
            "first_seen_ts": 5,
            "last_seen_ts": 6,
        },
        [_row("x", 70), _row("x", 71, attributes=None)],
    ),
    (
        {
            "user_id": None,
            "name": None,
            "email": None,
            "attributes": {},
            "first_seen_ts": 5,
            "last_seen_ts": 6,
        },
        [
            _row("x", 80, name="B", attributes={"k": 1, "m": "keep"}),
            _row("x", 81, user_id="u9", attributes={"k": 2, "z": True}),
            _row("x", 82, name="C", email="c@x.io"),
        ],
    ),
]


async def _store(db: Database, vid: str, stored: dict[str, Any]) -> None:
    async with db.write() as conn:
        await conn.execute(insert(visitors).values(id=vid, site_id="st_1", **stored))


async def _visitor(db: Database, vid: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        return await get_visitor(conn, vid)


@pytest.fixture
async def seeded(db: Database) -> Database:
    await _seed(db)
    return db


def _counting(writer: VisitorWriter) -> list[str]:
    """The ids the writer settles row by row (after a failed batch)."""
    singles: list[str] = []
    single = writer._single

    async def counted(item):  # type: ignore[no-untyped-def]
        singles.append(item[0]["id"])
        await single(item)

    writer._commit._single = counted  # type: ignore[method-assign]
    return singles


async def test_known_rows_end_as_upsert_visitor_leaves_them(seeded: Database) -> None:
    db = seeded
    batch: list[tuple[dict[str, Any], bool]] = []
    for n, (stored, rows) in enumerate(CASES):
        if stored is not None:
            await _store(db, f"vi_old{n}", stored)
            await _store(db, f"vi_new{n}", stored)
        async with db.write() as conn:
            for row in rows:
                await upsert_visitor(conn, {**row, "id": f"vi_old{n}"})
        batch += [({**row, "id": f"vi_new{n}"}, False) for row in rows]
    # Every case in one batch, with new visitors among them.
    batch.insert(2, (_row("vi_fresh1", 90, attributes={"a": 1}), True))
    batch.append((_row("vi_fresh2", 91, name="Dee"), True))
    async with db.write() as conn:
        assert await write_visitors(conn, batch) == [None] * len(batch)
    for n in range(len(CASES)):
        old, new = await _visitor(db, f"vi_old{n}"), await _visitor(db, f"vi_new{n}")
        assert old is not None and new is not None
        assert {**new, "id": None} == {**old, "id": None}, n
        # stored keys keep their place, new keys follow: what Python's merge gives
        assert list(new["attributes"]) == list(old["attributes"]), n
    assert await _visitor(db, "vi_fresh1") == _row("vi_fresh1", 90, attributes={"a": 1})
    assert await _visitor(db, "vi_fresh2") == _row("vi_fresh2", 91, name="Dee")


async def test_new_rows_are_inserted_as_given(seeded: Database) -> None:
    writer = VisitorWriter(seeded)
    rows = [_row(f"vi_n{i}", 100 + i, attributes={"i": i} if i % 2 else {}) for i in range(40)]
    rows[3]["attributes"] = None  # stored as {}
    try:
        await asyncio.gather(*(writer.save(row, new=True) for row in rows))
    finally:
        await writer.close()
    for row in rows:
        assert await _visitor(seeded, row["id"]) == {**row, "attributes": row["attributes"] or {}}


async def test_a_new_id_twice_in_one_batch_is_settled_row_by_row(seeded: Database) -> None:
    writer = VisitorWriter(seeded)
    singles = _counting(writer)
    try:
        await asyncio.gather(
            writer.save(_row("vi_a", 10, attributes={"k": 1}), new=True),
            writer.save(_row("vi_dup", 11, attributes={"k": 1, "j": 0}), new=True),
            writer.save(_row("vi_dup", 12, name="Eve", attributes={"k": 2}), new=True),
        )
    finally:
        await writer.close()
    assert singles == ["vi_a", "vi_dup", "vi_dup"]
    assert await _visitor(seeded, "vi_a") == _row("vi_a", 10, attributes={"k": 1})
    # the second one refreshed the first, as upsert_visitor does
    assert await _visitor(seeded, "vi_dup") == {
        **_row("vi_dup", 11, name="Eve", attributes={"k": 2, "j": 0}),
        "last_seen_ts": 12,
    }


async def test_a_new_id_that_exists_refreshes_the_stored_row(seeded: Database) -> None:
    # vi_1 is stored by _seed: the batch fails on it and is settled row by row
    writer = VisitorWriter(seeded)
    singles = _counting(writer)
    try:
        await asyncio.gather(
            writer.save(_row("vi_1", 20, attributes={"k": 1}), new=True),
            writer.save(_row("vi_b", 21), new=True),
        )
    finally:
        await writer.close()
    assert singles == ["vi_1", "vi_b"]
    assert await _visitor(seeded, "vi_1") == {
        **_row("vi_1", 1, attributes={"k": 1}),
        "last_seen_ts": 20,
    }
    assert await _visitor(seeded, "vi_b") == _row("vi_b", 21)


@pytest.mark.parametrize(
    ("stored_json", "given", "merged"),
    [
        # upsert_visitor reads a stored JSON null as {}; PostgreSQL cannot take it apart
        ("null", {"a": 1}, {"a": 1}),
        # PostgreSQL's json functions refuse \u0000 (a text value cannot hold it)
        ('{"s": "x"}', {"k": "a\x00b"}, {"s": "x", "k": "a\x00b"}),
        ('{"s": "\\u0000"}', {"k": 1}, {"s": "\x00", "k": 1}),
    ],
)
async def test_attributes_postgresql_cannot_merge_fall_back_to_upsert_visitor(
    seeded: Database, stored_json: str, given: dict[str, Any], merged: dict[str, Any]
) -> None:
    async with seeded.write() as conn:
        await conn.execute(
            text("UPDATE visitors SET attributes = :a WHERE id = 'vi_1'"), {"a": stored_json}
        )
    writer = VisitorWriter(seeded)
    singles = _counting(writer)
    try:
        await asyncio.gather(
            writer.save(_row("vi_1", 30, attributes=given), new=False),
            writer.save(_row("vi_c", 31, attributes={"c": 1}), new=False),
            writer.save(_row("vi_d", 32), new=True),
        )
    finally:
        await writer.close()
    # SQLite merges in Python: no fallback there
    assert singles == (["vi_1", "vi_c", "vi_d"] if seeded.dialect == "postgresql" else [])
    stored = await _visitor(seeded, "vi_1")
    assert stored is not None and stored["attributes"] == merged
    assert stored["last_seen_ts"] == 30
    assert await _visitor(seeded, "vi_c") == _row("vi_c", 31, attributes={"c": 1})
    assert await _visitor(seeded, "vi_d") == _row("vi_d", 32)


async def test_each_save_returns_once_its_row_is_committed(seeded: Database) -> None:
    writer = VisitorWriter(seeded)
    try:
        for n in range(3):
            await writer.save(_row(f"vi_s{n}", 40 + n), new=True)
            # another connection sees it: committed, not merely sent
            async with seeded.read() as conn:
                found = await conn.execute(select(visitors.c.id).where(visitors.c.id == f"vi_s{n}"))
                assert found.scalar_one() == f"vi_s{n}"
    finally:
        await writer.close()


async def test_a_failing_batch_reaches_every_caller(seeded: Database) -> None:
    writer = VisitorWriter(seeded)

    async def failing(conn, batch):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    writer._commit._write = failing  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(
            *(writer.save(_row(f"vi_f{i}", 1), new=True) for i in range(3)),
            return_exceptions=True,
        )
    finally:
        await writer.close()
    assert all(isinstance(r, StoreUnavailable) for r in results)


async def test_a_lost_postgresql_connection_is_unavailable_then_replaced(
    seeded: Database,
) -> None:
    if seeded.dialect != "postgresql":
        pytest.skip("the raw driver path's lost connection is PostgreSQL's")
    writer = VisitorWriter(seeded)
    url = seeded.engine.url.render_as_string(hide_password=False)
    killer = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await writer.save(_row("vi_l1", 1), new=True)
        await killer.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with pytest.raises(StoreUnavailable):
            await writer.save(_row("vi_l2", 2), new=True)
        await writer.save(_row("vi_l2", 3), new=True)
    finally:
        await killer.close()
        await writer.close()
    assert await _visitor(seeded, "vi_l2") == _row("vi_l2", 3)


async def test_attributes_are_capped_stored_keys_first_on_both_paths(seeded: Database) -> None:
    # A visitor whose live facts expired comes back with new keys: the row keeps at most
    # the cap, the keys it had first (docs/security.md, visitor-controlled state).
    stored = {
        "user_id": None,
        "name": None,
        "email": None,
        "attributes": {"a": 1, "b": 1, "c": 1},
        "first_seen_ts": 5,
        "last_seen_ts": 6,
    }
    for vid in ("vi_up", "vi_batch"):
        await _store(seeded, vid, stored)
    rows = [
        _row("x", 70, attributes={"b": 2, "d": 4}),
        _row("x", 71, attributes={"e": 5, "a": 0}),
    ]
    async with seeded.write() as conn:
        for row in rows:
            await upsert_visitor(conn, {**row, "id": "vi_up"}, max_attributes=4)
    writer = VisitorWriter(seeded, max_attributes=4)
    try:
        await asyncio.gather(*(writer.save({**row, "id": "vi_batch"}, new=False) for row in rows))
    finally:
        await writer.close()
    capped = {"a": 0, "b": 2, "c": 1, "d": 4}
    for vid in ("vi_up", "vi_batch"):
        found = await _visitor(seeded, vid)
        assert found is not None and found["attributes"] == capped, vid
    # a new visitor is capped too
    async with seeded.write() as conn:
        await upsert_visitor(
            conn, _row("vi_fresh", 1, attributes={str(i): i for i in range(6)}), max_attributes=4
        )
    found = await _visitor(seeded, "vi_fresh")
    assert found is not None and found["attributes"] == {"0": 0, "1": 1, "2": 2, "3": 3}


async def test_refresh_later_is_queued_at_once_and_committed_in_order(seeded: Database) -> None:
    """A returning visitor's hello does not wait for its row: the refresh is
    queued when asked, before any later write of the node, and committed by the batch;
    `close` lets it commit."""
    writer = VisitorWriter(seeded)
    try:
        writer.refresh_later(_row("vi_1", 70, name="Ann"))
        assert writer.pending() == 1  # queued synchronously, nothing awaited
        await writer.save(_row("vi_n1", 71), new=True)  # a later write commits after it
        async with seeded.read() as conn:
            row = await get_visitor(conn, "vi_1")
        assert row is not None and row["last_seen_ts"] == 70 and row["name"] == "Ann"
        writer.refresh_later(_row("vi_1", 72))
    finally:
        await writer.close()
    async with seeded.read() as conn:
        row = await get_visitor(conn, "vi_1")
    assert row is not None and row["last_seen_ts"] == 72


async def test_a_failed_refresh_is_logged_not_raised(
    seeded: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = VisitorWriter(seeded)

    async def failing(conn, batch):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    writer._commit._write = failing  # type: ignore[method-assign]
    try:
        with caplog.at_level("WARNING", logger="beckon.visitor"):
            writer.refresh_later(_row("vi_1", 80))
            with pytest.raises(StoreUnavailable):  # the next caller who waits hears it
                await writer.save(_row("vi_n2", 81), new=True)
            await asyncio.sleep(0)  # the refresh's done callback runs on the next turn
    finally:
        await writer.close()
    assert "was not refreshed" in caplog.text


async def test_the_next_page_of_a_visit_skips_an_unchanged_refresh(seeded: Database) -> None:
    """Every page load says hello: within REFRESH_EVERY_MS of this node's last write for
    the visitor, a hello bringing the same identity and attributes writes nothing; a
    changed one, or one past the window, is written; a new visitor's insert counts."""
    writer = VisitorWriter(seeded)
    every = REFRESH_EVERY_MS
    try:
        writer.refresh_later(_row("vi_1", 1_000, name="Ann", attributes={"plan": "pro"}))
        assert writer.pending() == 1
        await writer.save(_row("vi_n3", 1_001), new=True)  # commits the refresh before it
        writer.refresh_later(
            _row("vi_1", 1_000 + every - 1, name="Ann", attributes={"plan": "pro"})
        )
        assert writer.pending() == 0  # the same words a moment later: nothing to write
        writer.refresh_later(_row("vi_1", 2_000, name="Ann", attributes={"plan": "team"}))
        assert writer.pending() == 1  # changed attributes: written at once
        await writer.save(_row("vi_n4", 2_001), new=True)
        assert (await _visitor(seeded, "vi_1"))["attributes"] == {"plan": "team"}
        writer.refresh_later(_row("vi_1", 2_000 + every, name="Ann", attributes={"plan": "team"}))
        assert writer.pending() == 1  # the window passed: last seen moves on
        writer.refresh_later(_row("vi_n4", 2_002))
        assert writer.pending() == 1  # the insert a moment ago counts as a write
    finally:
        await writer.close()
    assert (await _visitor(seeded, "vi_1"))["last_seen_ts"] == 2_000 + every


async def test_a_failed_refresh_is_written_again_by_the_next_hello(seeded: Database) -> None:
    writer = VisitorWriter(seeded)
    real = writer._commit._write

    async def failing(conn, batch):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    writer._commit._write = failing  # type: ignore[method-assign]
    try:
        writer.refresh_later(_row("vi_1", 90, name="Ann"))
        with pytest.raises(StoreUnavailable):
            await writer.save(_row("vi_n5", 91), new=True)
        await asyncio.sleep(0)  # the refresh's done callbacks run on the next turn
        writer._commit._write = real  # type: ignore[method-assign]
        writer.refresh_later(_row("vi_1", 92, name="Ann"))
        assert writer.pending() == 1
    finally:
        await writer.close()
    assert (await _visitor(seeded, "vi_1"))["last_seen_ts"] == 92
