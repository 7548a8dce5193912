"""server/store/database.py: which failures are "the Store is unavailable" (socket
`unavailable`, REST 503) and which are not — literal exceptions in, a verdict out; and
a server that answers every connection with SQLSTATE 57P03 ("starting up"), through the
real SQLAlchemy + asyncpg stack, is `StoreUnavailable` on reads and writes."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from server.store.database import StoreUnavailable, is_unavailable, open_database


class DriverError(Exception):
    """What SQLAlchemy's asyncpg adapter raises: the driver's error with its SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = self.pgcode = sqlstate


def wrapped(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", None, DriverError("x", sqlstate))  # type: ignore[arg-type]


def chained(cause: BaseException) -> DBAPIError:
    """As the adapter does: its own error raised `from` asyncpg's, wrapped by SQLAlchemy."""
    adapted = Exception("adapted")
    adapted.__cause__ = cause
    return DBAPIError("SELECT 1", None, adapted)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (wrapped("57P03"), True),  # cannot connect now: starting up
        (wrapped("57P01"), True),  # admin shutdown
        (wrapped("57P02"), True),  # crash shutdown
        (wrapped("08006"), True),  # connection failure
        (wrapped("53300"), True),  # too many connections
        (chained(asyncpg.CannotConnectNowError("the database system is starting up")), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (OperationalError("SELECT 1", None, Exception("database is locked")), True),
        (wrapped("42601"), False),  # a syntax error is ours, not the server's state
        (wrapped("23505"), False),
        (IntegrityError("INSERT", None, DriverError("dup", "23505")), False),  # type: ignore[arg-type]
        (asyncpg.exceptions.UniqueViolationError("dup"), False),
        (ValueError("bad"), False),
        (DBAPIError("SELECT 1", None, Exception("no sqlstate")), False),  # type: ignore[arg-type]
    ],
)
def test_what_counts_as_unavailable(exc: BaseException, unavailable: bool) -> None:
    assert is_unavailable(exc) is unavailable


STARTING_UP = b"the database system is starting up"


async def _starting_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """PostgreSQL's answer while it starts: no SSL, then FATAL 57P03 to the startup."""
    try:
        while True:
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            if body[:4] == struct.pack("!I", 80877103):  # SSLRequest
                writer.write(b"N")
                continue
            fields = b"SFATAL\0VFATAL\0C57P03\0M" + STARTING_UP + b"\0\0"
            writer.write(b"E" + struct.pack("!I", len(fields) + 4) + fields)
            await writer.drain()
            return
    except asyncio.IncompleteReadError:
        return
    finally:
        writer.close()


@pytest.fixture
async def starting_up_url() -> AsyncIterator[str]:
    server = await asyncio.start_server(_starting_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/beckon"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_server_starting_up_is_unavailable_to_reads_and_writes(
    starting_up_url: str,
) -> None:
    db = open_database(starting_up_url)
    try:
        with pytest.raises(StoreUnavailable) as read:
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
        with pytest.raises(StoreUnavailable) as write:
            async with db.write() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await db.close()
    for failure in (read.value, write.value):
        assert STARTING_UP.decode() in str(failure)
