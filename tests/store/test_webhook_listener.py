"""The webhook listener (`server/webhooks.py`) on SQLite and PostgreSQL: a burst of
wanted events all reach the outbox, in batches (one transaction for many events, so a
busy site's `message.created` keeps up with the chat), and `flush` waits for them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, insert, select

from server.store.database import Database
from server.store.tables import webhook_outbox, webhooks
from server.webhooks import WebhookListener
from tests.store.test_schema import _seed


class _Worker:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


class _CountingWrites:
    """The database, counting write transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.transactions = 0

    def read(self) -> Any:
        return self.db.read()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Any]:
        self.transactions += 1
        async with self.db.write() as conn:
            yield conn


async def test_a_burst_of_wanted_events_is_written_in_batches(db: Database) -> None:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(
            insert(webhooks).values(
                id="wh_1",
                site_id="st_1",
                url="https://hooks.example.com/in",
                events=["message.created"],
                secret="s" * 32,
                created_ts=1,
            )
        )
    worker = _Worker()
    counting = _CountingWrites(db)
    listener = WebhookListener(counting, worker)  # type: ignore[arg-type]
    events = 450
    for i in range(events):
        data = {"site_id": "st_1", "conversation_id": "cv_1", "seq": i + 1, "text": f"m{i}"}
        await listener.on_event("message.created", data)
    await listener.on_event("conversation.closed", {"site_id": "st_1"})  # not wanted
    await listener.flush()
    transactions = counting.transactions
    async with db.read() as conn:
        stored = await conn.scalar(select(func.count()).select_from(webhook_outbox))
        kinds = set((await conn.execute(select(webhook_outbox.c.event))).scalars())
    assert stored == events and kinds == {"message.created"}
    assert 1 <= transactions <= 10  # 200 a batch; one event each was the old way
    assert worker.wakes == transactions
    await listener.flush()  # nothing pending: returns at once
