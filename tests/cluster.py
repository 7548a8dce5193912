"""Several `beckon serve` nodes sharing one PostgreSQL database and one Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.beckon_process import BeckonProcess, free_port
from tests.conftest import create_pg_database, drop_pg_database, subprocess_env
from tests.waiting import wait_until


class RedisServer:
    """A private redis-server on a free port, which a fault test may kill and restart."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await wait_until(self._accepting, bool, timeout=10, what="redis-server to start")

    async def _accepting(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.asynccontextmanager
async def cluster(
    tmp: Path,
    nodes: int = 2,
    redis_url: str | None = None,
    prefix: str = "beckon:",
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[list[BeckonProcess]]:
    """`nodes` servers on PostgreSQL + Redis; the first has an admin signed up."""
    database = await create_pg_database()
    env = {
        **subprocess_env(tmp),
        "BECKON_DATABASE_URL": database,
        "BECKON_BROKER_URL": redis_url or "redis://127.0.0.1:6379/0",
        "BECKON_BROKER_PREFIX": prefix,
        **(extra_env or {}),
    }
    processes = [BeckonProcess(env, tmp) for _ in range(nodes)]
    try:
        await processes[0].create_admin()
        await asyncio.gather(*(p.start("--no-bootstrap") for p in processes))
        yield processes
    finally:
        for process in processes:
            await process.stop()
        await drop_pg_database(database)
