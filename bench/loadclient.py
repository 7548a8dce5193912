"""The orchestrator's handle on the load generator process (bench/loadgen.py)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson

from bench.infra import LOAD_CORE, REPO, pin

RESULT_LIMIT = 1 << 24


class LoadGenFailed(Exception):
    pass


class LoadGen:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls) -> LoadGen:
        argv = pin([sys.executable, "-m", "bench.loadgen"], LOAD_CORE)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=RESULT_LIMIT,
            start_new_session=True,  # Ctrl-C reaches the orchestrator, which stops it
        )
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def call(self, cmd: str, timeout: float = 300, **args: Any) -> dict[str, Any]:
        """Send one command; its JSON result (raises LoadGenFailed on a failed command)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(orjson.dumps({"cmd": cmd, **args}) + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise LoadGenFailed(f"load generator exited during {cmd}")
        result = orjson.loads(line)
        if "failed" in result:
            raise LoadGenFailed(f"{cmd}: {result['failed']}")
        return result

    async def quit(self) -> None:
        if self.proc.returncode is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 30)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                self.proc.kill()
                await self.proc.wait()
