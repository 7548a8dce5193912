"""Shared fixtures: real PostgreSQL databases, Redis prefixes, `beckon serve` processes.

The services are the real ones on 127.0.0.1 (scripts/test starts them when they are
not running). Each test gets its own PostgreSQL database and Redis key prefix.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.beckon_process import BeckonProcess, subprocess_env

PG_URL = os.environ.get(
    "BECKON_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BECKON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, port: int) -> None:
    if not _reachable("127.0.0.1", port):
        pytest.fail(
            f"{name} is not reachable on 127.0.0.1:{port}; run ./scripts/test, which "
            f"installs and starts it",
            pytrace=False,
        )


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is not None:
        dsn = dsn.rsplit("/", 1)[0] + "/" + database
    return dsn


async def create_pg_database() -> str:
    """Create a fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    require_service("PostgreSQL", 5432)
    name = "beckon_t_" + secrets.token_hex(6)
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for this test; its SQLAlchemy URL."""
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    require_service("Redis", 6379)
    prefix = f"beckon-test:{secrets.token_hex(6)}:"
    yield prefix
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path}/beckon.db"


@pytest.fixture
def beckon_env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env(tmp_path)


@pytest.fixture
async def server(beckon_env, tmp_path) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    """One `beckon serve` on SQLite + memory broker, with an admin signed up."""
    process = BeckonProcess(beckon_env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
