"""The visit log's batches (server/store/visit_batch.py), on SQLite and PostgreSQL: what
goes in comes back the same, in order, and a batch that breaks a constraint stores
nothing (the buffer keeps it for the next try)."""

from __future__ import annotations

import pytest

from server.store.database import Database
from server.store.visits import VisitLog, events_between
from tests.store.test_schema import _seed

DATA = [
    {"url": "https://shop.test/checkout?x=1", "title": "Kassa — plaćanje ✓"},
    {"event": "add_to_cart", "props": {"depth": 60, "ratio": 0.25, "tags": ["a", None, True]}},
    {"value": 120.5, "currency": "EUR"},
    {},
]


async def test_rows_come_back_as_written_in_order(db: Database) -> None:
    await _seed(db)
    log = VisitLog(db)
    for i, data in enumerate(DATA):
        log.append("st_1", f"vi_{i % 2}", 1_000 + i, "page_view" if i == 0 else "track", data)
    await log.flush()
    assert log.pending() == 0
    rows = await events_between(db, "st_1", 0, 10_000, 100)
    assert [(r["visitor_id"], r["ts"], r["data"]) for r in rows] == [
        (f"vi_{i % 2}", 1_000 + i, data) for i, data in enumerate(DATA)
    ]
    assert rows[0]["type"] == "page_view" and rows[1]["type"] == "track"


async def test_a_batch_that_breaks_a_constraint_is_kept_for_the_next_try(db: Database) -> None:
    await _seed(db)
    log = VisitLog(db)
    log.append("st_1", "vi_1", 1, "track", {"event": "a"})
    log.append("st_missing", "vi_1", 2, "track", {"event": "b"})  # no such site
    with pytest.raises(Exception):  # noqa: B017 - each driver names it its own way
        await log.flush()
    assert log.pending() == 2
    assert await events_between(db, "st_1", 0, 10, 10) == []
