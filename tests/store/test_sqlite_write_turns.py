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


async def test_writers_commit_in_the_order_they_asked(db: Database) -> None:
    release = asyncio.Event()
    holding = asyncio.Event()

    async def first() -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (0)")
            holding.set()
            await release.wait()

    async def later(i: int) -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql(f"INSERT INTO t VALUES ({i})")

    holder = asyncio.create_task(first())
    await holding.wait()
    waiting = []
    for i in range(1, 9):  # each asks while the ones before it wait
        waiting.append(asyncio.create_task(later(i)))
        await asyncio.sleep(0)
    release.set()
    async with asyncio.timeout(10):
        await asyncio.gather(holder, *waiting)
    assert await _rows(db) == list(range(9))


async def test_a_turn_not_given_in_time_is_unavailable_and_a_failure_passes_it_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    release = asyncio.Event()
    holding = asyncio.Event()

    async def hold() -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
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
