"""Run `beckon` as a real subprocess on a free loopback port, as an operator would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.ports import free_port
from tests.waiting import POLL_INTERVAL_S

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
BECKON = [sys.executable, "-m", "server.cli"]
START_TIMEOUT_S = 30


async def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = "", timeout: float = 60
) -> tuple[int, str, str]:
    """Run one `beckon` command to completion: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *BECKON,
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class BeckonProcess:
    """`beckon serve` in a subprocess; `start()` returns once `/readyz` says ready."""

    def __init__(
        self,
        env: dict[str, str],
        cwd: Path,
        port: int | None = None,
        command: list[str] = BECKON,
    ) -> None:
        self.command = command
        self.env = dict(env)
        self.cwd = cwd
        self.port = port or free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = cwd / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def create_admin(self) -> None:
        code, _out, err = await run_cli(
            ["create-admin", "--email", ADMIN_EMAIL, "--password-stdin"],
            self.env,
            self.cwd,
            stdin=ADMIN_PASSWORD + "\n",
        )
        assert code == 0, err

    async def start(self, *extra: str) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *extra,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=log,
        )
        log.close()
        try:
            await self.wait_ready()
        except BaseException:
            await self.kill()  # a node that never became ready must not outlive the test
            raise

    async def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(f"beckon serve exited: {self.log()}")
                try:
                    if (await client.get(self.url + "/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if loop.time() > deadline:
                    raise TimeoutError(f"beckon serve not ready in {timeout}s: {self.log()}")
                await asyncio.sleep(POLL_INTERVAL_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        return self.proc.returncode

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    async def login(
        self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
    ) -> tuple[httpx.AsyncClient, str]:
        """A client holding a session cookie, and the CSRF token to send."""
        async with self.client() as first:
            response = await first.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
        assert response.status_code == 200, response.text
        client = self.client()
        client.cookies = first.cookies
        return client, response.json()["csrf_token"]


def env_without_beckon() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BECKON_")}


TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"


# Every test client connects from loopback, and a module's tests share a node: the
# per-address and per-visitor quotas are lifted here, and the tests of those limits
# (test_address_limits.py, test_visitor_bounds.py) set their own.
UNLIMITED_QUOTAS = {
    "BECKON_IP_MAX_VISITOR_SOCKETS": "1000000",
    "BECKON_IP_VISITOR_CONNECTS_PER_S": "1000000",
    "BECKON_IP_CHAT_STARTS_PER_HOUR": "1000000",
    "BECKON_IP_OFFLINE_MESSAGES_PER_HOUR": "1000000",
    "BECKON_VISITOR_CHAT_STARTS_PER_HOUR": "100000",
    "BECKON_VISITOR_OFFLINE_MESSAGES_PER_HOUR": "100000",
    "BECKON_VISITOR_CONVERSIONS_PER_HOUR": "100000",
    "BECKON_VISITOR_EVENTS_PER_HOUR": "1000000",
    "BECKON_IP_CONVERSIONS_PER_HOUR": "1000000",
}


def subprocess_env(directory: Path) -> dict[str, str]:
    """Environment for a `beckon` subprocess on the embedded defaults, in `directory`
    (the quotas on loopback traffic lifted: `UNLIMITED_QUOTAS`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BECKON_")}
    env.update(
        BECKON_DATABASE_URL=f"sqlite+aiosqlite:///{directory}/beckon.db",
        BECKON_BROKER_URL="memory://",
        BECKON_SECRET_KEY=TEST_SECRET,
        BECKON_LOG_LEVEL="WARNING",
        **UNLIMITED_QUOTAS,
    )
    return env


@contextlib.asynccontextmanager
async def running_node(
    directory: Path, *, admin: bool = True, env: dict[str, str] | None = None
) -> AsyncIterator[BeckonProcess]:
    """A `beckon serve` on the embedded defaults in `directory` (with the test admin);
    `env` adds or overrides variables."""
    process = BeckonProcess({**subprocess_env(directory), **(env or {})}, directory)
    if admin:
        await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
