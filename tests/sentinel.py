"""A Sentinel-managed Redis on loopback ports: a primary, a replica and three sentinels.

Short `down-after-milliseconds` and `failover-timeout` keep a failover to a few
seconds. Everything runs in `directory` (the sentinels rewrite their config files
there) and is killed by `stop()`.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from tests.beckon_process import free_port
from tests.waiting import wait_until

SERVICE = "beckon"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
READY_TIMEOUT_S = 30
FAILOVER_WAIT_S = 30


class SentinelSet:
    """Start with `start()`; `url` is the `redis+sentinel://` broker URL for it."""

    def __init__(self, directory: Path, sentinels: int = 3) -> None:
        self.directory = directory
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    async def start(self) -> None:
        """Primary, then its replica (in sync), then the sentinels (knowing each other and
        the replica): a failover is possible once this returns."""
        if shutil.which("redis-sentinel") is None:
            pytest.fail(
                "redis-sentinel not found: install Debian's redis-sentinel (scripts/test does)"
            )
        await self._redis(self.primary_port)
        await self._redis(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        await wait_until(
            lambda: self._info(self.replica_port, "master_link_status"),
            lambda status: status == "up",
            READY_TIMEOUT_S,
            "the replica to sync with the primary",
        )
        for port in self.sentinel_ports:
            config = self.directory / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            await self._spawn(port, "redis-sentinel", str(config))
        others = len(self.sentinel_ports) - 1
        for port in self.sentinel_ports:
            await wait_until(
                lambda port=port: self._sentinel_view(port),
                lambda view: (
                    view.get("num-other-sentinels") == others and view.get("num-slaves") == 1
                ),
                READY_TIMEOUT_S,
                f"sentinel {port} to see its peers and the replica",
            )

    async def kill_primary(self) -> None:
        """SIGKILL the current primary (no goodbye to its clients)."""
        await self._kill(self.primary_port)

    async def wait_promoted(self) -> int:
        """Wait until every sentinel names the former replica as primary; its port."""
        for port in self.sentinel_ports:
            await wait_until(
                lambda port=port: self._master_port(port),
                lambda master: master == self.replica_port,
                FAILOVER_WAIT_S,
                f"sentinel {port} to promote the replica",
            )
        await wait_until(
            lambda: self._info(self.replica_port, "role"),
            lambda role: role == "master",
            FAILOVER_WAIT_S,
            "the replica to become primary",
        )
        return self.replica_port

    async def stop(self) -> None:
        for port in list(self._processes):
            await self._kill(port)

    async def _redis(self, port: int, *extra: str) -> None:
        await self._spawn(
            port,
            "redis-server",
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(self.directory), *extra),
        )

    async def _spawn(self, port: int, *command: str) -> None:
        self._processes[port] = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await wait_until(lambda: _answers(port), bool, READY_TIMEOUT_S, f"port {port} to answer")

    async def _kill(self, port: int) -> None:
        process = self._processes.pop(port, None)
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def _info(self, port: int, field: str) -> str | None:
        async with _client(port) as client:
            try:
                info = await client.info("replication")
            except (OSError, redis_asyncio.RedisError):
                return None
        value = info.get(field)
        return None if value is None else str(value)

    async def _sentinel_view(self, port: int) -> dict:
        async with _client(port) as client:
            try:
                return await client.sentinel_master(SERVICE)
            except (OSError, redis_asyncio.RedisError):
                return {}

    async def _master_port(self, port: int) -> int | None:
        async with _client(port) as client:
            try:
                address = await client.sentinel_get_master_addr_by_name(SERVICE)
            except (OSError, redis_asyncio.RedisError):
                return None
        return int(address[1]) if address else None


def _client(port: int) -> redis_asyncio.Redis:
    return redis_asyncio.Redis(
        port=port, protocol=2, socket_connect_timeout=0.5, socket_timeout=2, decode_responses=True
    )


async def _answers(port: int) -> bool:
    async with _client(port) as client:
        try:
            return bool(await client.ping())
        except (OSError, redis_asyncio.RedisError):
            return False
