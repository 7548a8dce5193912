"""What a returning visitor's hello reads, for every hello of the node in one read.

On a multi-page shop every page load is a new socket and a hello with the visitor's
token. Each such hello needs three things from the Store: how many chats the visitor
had (the engine's `visitor.chats`), its open conversation (resumed in `welcome`) and
whether an agent answered it from the inbox (`follow_up` frames). Read one hello at a
time, that is three pool checkouts per page load, and at a hundred hellos in flight the
pool overflows into connections opened and closed per hello. Here the hellos waiting
while one read is in flight share the next: one checkout and one statement for up to
`BATCH` visitors (`server/store/returning_batch.py`; the group commit's idea, for
reads), plus one for the rows of the few open conversations.

Each caller's read starts after it asked (its batch is read later), so a read made
after the caller followed its channels still sees everything committed before that.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from server.store.database import Database
from server.store.returning_batch import visitor_summaries
from server.store.tables import conversations

BATCH = 500  # visitors per read (SQLite's bound-parameter limit is far above)


@dataclass(slots=True)
class Returning:
    """What the Store holds for a returning visitor, read once per hello."""

    chats: int  # conversations ever (open or closed)
    open_conversation: dict[str, Any] | None
    has_follow_up: bool  # an inbox answer the visitor has not seen


async def read_batch(db: Database, visitor_ids: list[str]) -> dict[str, Returning]:
    """One read for many visitors (unique ids); every id gets an entry. The open
    conversations' rows are a second statement, only when some visitor has one."""
    async with db.read() as conn:
        summaries = await visitor_summaries(conn, visitor_ids)
        with_open = [vid for vid, _, has_open, _ in summaries if has_open]
        open_rows: dict[str, dict[str, Any]] = {}
        if with_open:
            c = conversations.c
            query = select(conversations).where(c.visitor_id.in_(with_open), c.status != "closed")
            open_rows = {
                row["visitor_id"]: dict(row) for row in (await conn.execute(query)).mappings()
            }
    found = {
        vid: Returning(chats, open_rows.get(vid), answered) for vid, chats, _, answered in summaries
    }
    return {vid: found.get(vid) or Returning(0, None, False) for vid in visitor_ids}


class ReturningReads:
    """One per node: `load(visitor_id)` joins the next batch read."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[str, list[asyncio.Future[Returning]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def load(self, visitor_id: str) -> Returning:
        future: asyncio.Future[Returning] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(visitor_id, []).append(future)
        if (
            self._task is None
            or self._task.done()
            or self._task.get_loop() is not future.get_loop()
        ):
            self._task = asyncio.create_task(self._run())
        # A caller that goes away cancels only its future; the read goes on for the rest.
        return await future

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # the hellos of this loop turn join the batch
            ids = list(self._waiting)[:BATCH]
            batch = {vid: self._waiting.pop(vid) for vid in ids}
            try:
                found = await read_batch(self._db, ids)
            except Exception as exc:  # each caller meets the Store's error as its own
                for futures in batch.values():
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                continue
            for vid, futures in batch.items():
                for f in futures:
                    if not f.done():
                        f.set_result(found[vid])

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


# Keyed by the Database's engine (the Database itself has slots, no weak references):
# one reader per node (the reader holds its Database: it lives as long as the process).
_READERS: weakref.WeakKeyDictionary[Any, ReturningReads] = weakref.WeakKeyDictionary()


def returning_reads(db: Database) -> ReturningReads:
    """The node's reader for `db`."""
    reader = _READERS.get(db.engine)
    if reader is None:
        reader = _READERS[db.engine] = ReturningReads(db)
    return reader
