"""A private PostgreSQL cluster on a free loopback port, which a fault test may stop,
hold in "starting up" (refusing connections with SQLSTATE 57P03) and start again.

PostgreSQL refuses to run as root: as root, every command runs as the `postgres` user
(`runuser`), and the cluster lives in a temporary directory that user owns. The shared
server on 5432 is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from tests.beckon_process import free_port
from tests.waiting import wait_until

PG_BIN = Path(os.environ.get("BECKON_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"
# pg_isready's exit codes
ACCEPTING, REJECTING = 0, 1


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="beckon-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, *command: str, check: bool = True) -> int:
        prefix = ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []
        proc = await asyncio.create_subprocess_exec(
            *prefix,
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({proc.returncode}): {out.decode()[-2000:]}")
        assert proc.returncode is not None
        return proc.returncode

    async def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, RUN_AS, RUN_AS)
        await self._run(
            str(PG_BIN / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"),
            *("-E", "UTF8", "--locale=C"),
        )

    async def start(self, *, starting_up: bool = False) -> None:
        """Start it; `starting_up`: as a standby that refuses every connection with
        57P03 ("not accepting connections", hot standby off) until stopped."""
        signal = self.data / "standby.signal"
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        if starting_up:
            await self._run("touch", str(signal))
            options += " -c hot_standby=off"
        else:
            await self._run("rm", "-f", str(signal))
        pg_ctl = str(PG_BIN / "pg_ctl")
        await self._run(
            pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-W", "start"
        )
        wanted = REJECTING if starting_up else ACCEPTING
        await wait_until(self._ready, lambda code: code == wanted, 60, f"pg_isready == {wanted}")

    async def _ready(self) -> int:
        pg_isready = str(PG_BIN / "pg_isready")
        return await self._run(
            pg_isready, "-h", "127.0.0.1", "-p", str(self.port), "-t", "2", check=False
        )

    async def stop(self, mode: str = "fast") -> None:
        await self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    async def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            await self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False
            )
        shutil.rmtree(self.directory, ignore_errors=True)
