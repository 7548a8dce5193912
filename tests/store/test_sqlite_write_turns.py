"""server/store/database.py on SQLite: the process's writers take turns, first come,
first served (no busy-handler sleeps between them); a turn not given within the busy
timeout is `StoreUnavailable`; a failed write gives its turn on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.store import database
from server.store.database import Database, StoreUnavailable, open_database
from tests.waiting import next_loop_turn


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    store = open_database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with store.write() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield store
    await store.close()


async def _rows(db: Database) -> list[int]:
    async with db.read() as conn:
        return [r[0] for r in (await conn.exec_driver_sql("SELECT x FROM t ORDER BY rowid"))]


async def _insert(db: Database, value: int, urgent: bool = False) -> None:
    async with db.write(urgent=urgent) as conn:
        await conn.exec_driver_sql(f"INSERT INTO t VALUES ({value})")


async def _holding(db: Database, value: int, release: asyncio.Event) -> asyncio.Task[None]:
    """A task that writes `value` and keeps its turn until `release`; returned once it
    has the turn."""
    holding = asyncio.Event()

    async def hold() -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql(f"INSERT INTO t VALUES ({value})")
            holding.set()
            await release.wait()

    task = asyncio.create_task(hold())
    async with asyncio.timeout(10):
        await holding.wait()
    return task


async def test_writers_commit_in_the_order_they_asked(db: Database) -> None:
    release = asyncio.Event()
    holder = await _holding(db, 0, release)
    waiting = []
    for i in range(1, 9):  # each asks while the ones before it wait
        waiting.append(asyncio.create_task(_insert(db, i)))
        await next_loop_turn()
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(holder, *waiting)
    assert await _rows(db) == list(range(9))


async def test_an_urgent_writer_goes_before_the_waiting_others(db: Database) -> None:
    """A chat message's batch (urgent) waits only for the write in progress, not for the
    background batches queued before it."""
    release = asyncio.Event()
    holder = await _holding(db, 0, release)
    waiting = []
    for value, urgent in [(1, False), (2, False), (9, True), (3, False), (8, True)]:
        waiting.append(asyncio.create_task(_insert(db, value, urgent)))
        await next_loop_turn()
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(holder, *waiting)
    assert await _rows(db) == [0, 9, 8, 1, 2, 3]


async def test_a_turn_not_given_in_time_is_unavailable_and_a_failure_passes_it_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    release = asyncio.Event()
    holder = await _holding(db, 1, release)
    with pytest.raises(StoreUnavailable, match="database is locked"):
        async with db.write():
            pass
    release.set()
    await holder
    with pytest.raises(ValueError):
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            raise ValueError("the caller's own error: rolled back")
    async with db.write() as conn:  # the failed write's turn was given back
        await conn.exec_driver_sql("INSERT INTO t VALUES (3)")
    assert await _rows(db) == [1, 3]
