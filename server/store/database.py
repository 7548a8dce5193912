"""The Store's connection: one async SQLAlchemy engine for SQLite or PostgreSQL.

`open_database(url)` picks the dialect from the URL scheme. Connection failures surface
as `StoreUnavailable` so callers answer 503 / `unavailable` instead of 500 / `internal`;
`is_unavailable` is the one place that decides what counts as one. A disconnect
invalidates the pool, so the process recovers by itself when the server comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.settings import sqlite_path
from server.store.search_text import SQLITE_FUNCTION, sqlite_matches
from server.store.write_turns import WriteTurns

SQLITE_BUSY_TIMEOUT_MS = 10_000
# SQLSTATE classes that mean the server cannot serve us now, not that a statement is
# wrong: 08 connection exception, 53 insufficient resources (53300 too many
# connections), 57 operator intervention (57P01 admin shutdown, 57P02 crash shutdown,
# 57P03 cannot connect now: starting up, in recovery, a standby refusing).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


class StoreUnavailable(Exception):
    """The database cannot be reached right now (network, server down, pool exhausted)."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the Store cannot be reached or cannot serve right now, however
    it is wrapped: SQLAlchemy's errors (asyncpg's `CannotConnectNowError` while the
    server starts up arrives as a plain `DBAPIError`), the driver's own, the network's.
    A pool with no free connection in time counts too."""
    asyncpg = sys.modules.get("asyncpg")  # loaded only when PostgreSQL is in use
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (OperationalError, InterfaceError, PoolTimeoutError)):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OSError, ConnectionError, asyncio.TimeoutError)):
            return True
        if asyncpg is not None and isinstance(current, asyncpg.InterfaceError):
            return True  # the driver's connection is closed or broken
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATE_CLASSES):
            return True
        # SQLAlchemy keeps the driver's error as `orig`; its adapter chains asyncpg's.
        current = getattr(current, "orig", None) or current.__cause__
    return False


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(str(exc).splitlines()[0] if str(exc) else repr(exc))


@contextlib.asynccontextmanager
async def raw_postgres(conn: AsyncConnection) -> AsyncIterator[Any]:
    """The asyncpg connection under `conn`, for the few statements SQLAlchemy would only
    slow down (batches of messages and visitors). As SQLAlchemy does for its own
    statements, a lost connection (a server shutting down counts too) leaves the pool
    and the caller hears `StoreUnavailable`; other errors pass through unchanged."""
    pg = (await conn.get_raw_connection()).driver_connection
    try:
        yield pg
    except Exception as exc:
        if is_unavailable(exc) or pg.is_closed():
            await conn.invalidate()
            raise _unavailable(exc) from exc
        raise


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver must not open transactions by itself: `Database.write` opens them with
    # BEGIN IMMEDIATE, which takes the write lock up front. A deferred BEGIN that reads
    # first and writes later can fail with SQLITE_BUSY instead of waiting its turn.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; foreign keys are off by default
    # in SQLite; the busy timeout makes concurrent writers wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Search matches messages the full-text index has not reached yet by FTS5's rule.
    dbapi_connection.create_function(SQLITE_FUNCTION, 2, sqlite_matches, deterministic=True)


def _sqlite_engine(url: str) -> AsyncEngine:
    path = sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _postgres_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        # Connections past pool_size are opened for a burst and closed when returned
        # (a PostgreSQL backend forked and ended each time): keep enough for a node's
        # usual concurrency (the writers, the janitor, reads of page loads in flight).
        pool_size=20,
        max_overflow=20,
        # No ping per checkout (a round trip each): a connection that died with the server
        # fails on use, surfaces as StoreUnavailable, and SQLAlchemy then invalidates the
        # whole pool, so the process recovers on the next checkout.
        pool_pre_ping=False,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


ENGINE_FACTORIES = {
    "sqlite+aiosqlite": _sqlite_engine,
    "postgresql+asyncpg": _postgres_engine,
}


@dataclass(slots=True)
class Database:
    """An open engine plus the helpers every query module uses."""

    engine: AsyncEngine
    # SQLite: this process's writers take turns here (one lock per event loop).
    _write_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriteTurns] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; connection failures become `StoreUnavailable`."""
        try:
            async with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    # Under READ COMMITTED every statement takes its own snapshot anyway:
                    # BEGIN/ROLLBACK around reads would only add two round trips.
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except StoreUnavailable:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise _unavailable(exc) from exc
            raise

    @contextlib.asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block exits without an exception.
        `urgent` (SQLite): waits for its turn ahead of the process's other writers."""
        try:
            if self.dialect == "sqlite":
                async with self._sqlite_turn(urgent), self.engine.connect() as conn:
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    try:
                        yield conn
                    except BaseException:
                        await conn.rollback()
                        raise
                    await conn.commit()
            else:
                async with self.engine.begin() as conn:
                    yield conn
        except StoreUnavailable:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise _unavailable(exc) from exc
            raise

    @contextlib.asynccontextmanager
    async def _sqlite_turn(self, urgent: bool) -> AsyncIterator[None]:
        """One writer of this process at a time (`WriteTurns`: first come, first served,
        urgent writers before the others). SQLite's busy handler makes a writer that
        finds the write lock taken sleep in growing steps (up to 100 ms) and retry:
        under load a message's commit waited for those sleeps, not for the work ahead.
        Other processes on the file (the CLI) still meet the busy timeout; a turn not
        given within it is `StoreUnavailable`, as the lock not given was."""
        loop = asyncio.get_running_loop()
        turns = self._write_turns.get(loop)
        if turns is None:
            turns = self._write_turns[loop] = WriteTurns()
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await turns.acquire(urgent)
        except TimeoutError:
            raise StoreUnavailable("database is locked (no write turn in time)") from None
        try:
            yield
        finally:
            turns.release()

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def open_database(url: str) -> Database:
    """Create the engine for `url` (no connection is made yet).

    Raises ValueError naming the scheme when it is not one we support.
    """
    scheme = url.split("://", 1)[0] if "://" in url else url
    factory = ENGINE_FACTORIES.get(scheme)
    if factory is None:
        raise ValueError(
            f"unknown database URL scheme {scheme!r}; expected "
            + " or ".join(f"{s}://" for s in ENGINE_FACTORIES)
        )
    return Database(factory(url))
