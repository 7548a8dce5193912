"""A migrated `Database` on SQLite and on PostgreSQL: every store test runs on both."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.store.database import Database, open_database
from server.store.migrate import upgrade_to_head
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request, tmp_path) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    else:
        url = await create_pg_database()
    database = open_database(url)
    try:
        await upgrade_to_head(database)
        yield database
    finally:
        await database.close()
        if request.param == "postgres":
            await drop_pg_database(url)
