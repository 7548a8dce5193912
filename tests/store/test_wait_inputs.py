"""server/chat/wait_inputs.py on SQLite and PostgreSQL: recent arrivals and mean chat
duration per department, the inputs of the predicted wait."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from server.chat.wait_inputs import WaitInputs
from server.store.database import Database
from server.store.tables import conversations
from tests.store.test_schema import _conversation, _seed

NOW_S = 1_800_000_000.0
NOW = int(NOW_S * 1000)


async def test_arrivals_and_handle_time_per_department(db: Database) -> None:
    await _seed(db)
    rows = [
        # (id, department, created, accepted, closed) in ms
        ("cv_1", None, NOW - 60_000, NOW - 50_000, NOW - 10_000),  # 40 s, site-wide
        ("cv_2", "sales", NOW - 120_000, NOW - 100_000, NOW - 40_000),  # 60 s
        ("cv_3", "sales", NOW - 30_000, None, None),  # still queued: arrives, not handled
        ("cv_4", "sales", NOW - 2_000_000, NOW - 1_990_000, NOW - 1_900_000),  # 90 s
        ("cv_5", "sales", NOW - 9_000_000, NOW - 8_990_000, NOW - 8_000_000),  # closed > 1 h
    ]
    async with db.write() as conn:
        for cid, dept, created, accepted, closed in rows:
            status = "closed" if closed else "queued"
            await conn.execute(
                insert(conversations)
                .values(
                    **_conversation(cid, status),
                    department=dept,
                    accepted_ts=accepted,
                    closed_ts=closed,
                )
                .values(created_ts=created)
            )
    rates = await WaitInputs(db, window_s=900, default_handle_s=300).rates("st_1", NOW_S)
    sales_rate, sales_handle = rates.for_department("sales")
    assert sales_rate == pytest.approx(2 / 900)  # cv_2, cv_3 in the last 15 min
    assert sales_handle == pytest.approx((60 + 90) / 2)
    site_rate, site_handle = rates.for_department("")
    assert site_rate == pytest.approx(3 / 900)
    assert site_handle == pytest.approx((40 + 60 + 90) / 3)
    assert rates.for_department("support") == (0.0, 300)  # nothing yet: the default
