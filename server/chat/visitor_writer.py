"""Visitor rows written by group commit: every page load says hello, and a busy site's
hellos share transactions instead of paying one each (`server/store/group_commit.py`).

A visitor the server has just named (no valid token) cannot exist yet: its row is a
plain insert. A known visitor is refreshed (last seen, identity, attributes merged) as
`conversations.upsert_visitor` does it. On PostgreSQL the whole batch is one statement
on the driver's connection; on SQLite, one hop to the driver's thread
(`server/store/visitor_batch.py`). A batch that fails on a row's data (a new id that
exists already, say) is settled row by row through `upsert_visitor`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import conversations as queries
from server.store.database import Database, raw_postgres
from server.store.group_commit import GroupCommit
from server.store.visitor_batch import fold_known, write_visitors_postgres, write_visitors_sqlite

Item = tuple[dict[str, Any], bool]  # (row, new)
log = logging.getLogger("beckon.visitor")


def _said(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a hello's row says besides the time; the attributes (up to 8 KiB each) as a
    digest, so remembering many visitors stays small."""
    attributes = orjson.dumps(row.get("attributes"), option=orjson.OPT_SORT_KEYS)
    return (row.get("user_id"), row.get("name"), row.get("email"), hash(attributes))


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a returning visitor's row was not refreshed: %s", future.exception())


async def write_visitors(
    conn: AsyncConnection, batch: list[Item], max_attributes: int | None = None
) -> list[Exception | None]:
    """Store a batch in the caller's transaction; one result per item, in order.
    A visitor keeps at most `max_attributes` attributes (None: no cap).

    Raises IntegrityError when a row's data fails the batch (nothing is stored then):
    `GroupCommit` settles each item on its own.
    """
    new = [row for row, is_new in batch if is_new]
    known = fold_known([row for row, is_new in batch if not is_new], max_attributes)
    if conn.dialect.name == "postgresql":
        await _write_postgres(conn, new, known, max_attributes)
    else:
        await _write_sqlite(conn, new, known, max_attributes)
    return [None] * len(batch)


async def _write_postgres(
    conn: AsyncConnection,
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
    max_attributes: int | None,
) -> None:
    """One statement in autocommit on the pooled asyncpg connection: the SQLAlchemy
    transaction around it stays empty (asyncpg's adapter begins only on first use)."""
    import asyncpg  # the PostgreSQL driver: imported only where it is used

    async with raw_postgres(conn) as pg:
        try:
            await write_visitors_postgres(pg, new, known, max_attributes)
        except (
            asyncpg.IntegrityConstraintViolationError,
            asyncpg.CardinalityViolationError,
            asyncpg.DataError,
        ) as exc:
            # Tied to one row's data: the rows on their own (`upsert_visitor`) store the
            # others, and that row meets its error alone, as it did before this path.
            raise IntegrityError("visitor batch", None, exc) from exc


async def _write_sqlite(
    conn: AsyncConnection,
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
    max_attributes: int | None,
) -> None:
    """The batch's statements in one hop to aiosqlite's thread, inside the caller's
    BEGIN IMMEDIATE (`Database.write`), which also commits."""
    driver = (await conn.get_raw_connection()).driver_connection  # aiosqlite.Connection
    try:
        # aiosqlite's own way of running a call on its connection thread.
        await driver._execute(write_visitors_sqlite, driver._conn, new, known, max_attributes)
    except sqlite3.IntegrityError as exc:
        raise IntegrityError("visitor batch", None, exc) from exc


REFRESH_EVERY_MS = 60_000
"""A returning visitor's row is refreshed at most this often by one node when its hello
brings nothing new (same identity and attributes): on a multi-page shop every page
load says hello, and its row was a write per page. `last_seen_ts` is that coarse."""
REMEMBERED = 100_000  # visitors whose last refresh a node remembers (the oldest go first)


class VisitorWriter:
    """One per node. A visitor keeps at most `max_attributes` attributes (None: no cap)."""

    def __init__(self, db: Database, max_attributes: int | None = None) -> None:
        self._db = db
        self._max_attributes = max_attributes
        self._commit: GroupCommit[Item, None] = GroupCommit(db, self._batch, self._single)
        # visitor id → (last_seen_ts written, what the hello said) for this node's writes
        self._written: dict[str, tuple[int, tuple[Any, ...]]] = {}

    async def _batch(self, conn: AsyncConnection, batch: list[Item]) -> list[Exception | None]:
        return await write_visitors(conn, batch, self._max_attributes)

    async def _single(self, item: Item) -> None:
        async with self._db.write() as conn:
            await queries.upsert_visitor(conn, item[0], self._max_attributes)

    async def save(self, row: dict[str, Any], *, new: bool) -> None:
        """Insert (`new`: an id this node just made) or refresh the visitor's row."""
        self._remember(row, _said(row))
        try:
            await self._commit.submit((row, new))
        except BaseException:
            self._written.pop(row["id"], None)
            raise

    def refresh_later(self, row: dict[str, Any]) -> None:
        """Refresh a known visitor's row with the next batch, without waiting for it:
        its row exists already (its token came from a welcome that followed the
        insert), so nothing the hello answers depends on this commit. Queued now, so
        any later write of this node for the visitor comes after it. A failure (the
        Store down) is logged: the row keeps its previous last-seen and attributes.

        Skipped when this node wrote the same identity and attributes for the visitor
        less than REFRESH_EVERY_MS ago (the next page of the same visit)."""
        said = _said(row)
        last = self._written.get(row["id"])
        if (
            last is not None
            and last[1] == said
            and row["last_seen_ts"] - last[0] < REFRESH_EVERY_MS
        ):
            return
        self._remember(row, said)
        future = self._commit.submit_nowait((row, False))
        future.add_done_callback(_log_failure)
        future.add_done_callback(lambda f: self._forget_failed(row["id"], f))

    def _remember(self, row: dict[str, Any], said: tuple[Any, ...]) -> None:
        written = self._written
        written.pop(row["id"], None)  # to the end: the oldest are forgotten first
        written[row["id"]] = (row["last_seen_ts"], said)
        if len(written) > REMEMBERED:
            del written[next(iter(written))]

    def _forget_failed(self, visitor_id: str, future: asyncio.Future[None]) -> None:
        # Not written: the next hello writes it again.
        if future.cancelled() or future.exception() is not None:
            self._written.pop(visitor_id, None)

    def pending(self) -> int:
        return self._commit.pending()

    async def close(self) -> None:
        await self._commit.close()
