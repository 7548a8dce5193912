"""What the bench starts and measures around the systems: cores, file limits, Redis,
PostgreSQL, process RSS/CPU, free ports. Everything listens on 127.0.0.1.

Server-side processes (nodes, Redis, the database) run under `taskset -c SERVER_CORE`;
the load generator and this orchestrator under `taskset -c LOAD_CORE`.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SERVER_CORE = 0
LOAD_CORE = 1
PG_BIN = Path("/usr/lib/postgresql")


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pinning() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pin(argv: list[str], core: int) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if pinning() else argv


def pin_self(core: int) -> None:
    if pinning():
        os.sched_setaffinity(0, {core})


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (children inherit it). Returns (soft, hard).

    Raising the hard limit needs CAP_SYS_RESOURCE; without it the hard limit caps how
    many sockets one process can hold."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 1 << 20), max(hard, 1 << 20)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_port(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {port} after {timeout}s") from None
            await asyncio.sleep(0.05)


@dataclass
class Proc:
    """A child process we started (and only we stop)."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss(self) -> int:
        """Resident bytes of the process (the taskset'd exec keeps the pid)."""
        try:
            return psutil.Process(self.pid).memory_info().rss
        except psutil.Error:
            return 0

    def fds(self) -> int:
        try:
            return psutil.Process(self.pid).num_fds()
        except psutil.Error:
            return 0

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


def spawn(name: str, argv: list[str], workdir: Path, core: int, env: dict | None = None) -> Proc:
    log = workdir / f"{name}.log"
    out = log.open("ab")
    popen = subprocess.Popen(
        pin(argv, core),
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out.close()
    return Proc(name, popen, log)


@dataclass
class Redis:
    workdir: Path
    port: int = 0
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        argv = [
            exe,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "50000",
            "--dir",
            str(self.workdir),
            # A node that falls behind must not be cut off by Redis (default pubsub
            # limit 32 MB): a peer without reconnect logic would never deliver again,
            # and every later phase would measure that instead of speed.
            "--client-output-buffer-limit",
            "pubsub 0 0 0",
        ]
        self.proc = spawn("redis", argv, self.workdir, SERVER_CORE)
        await wait_port(self.port, 15, self.proc.popen)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


@dataclass
class Postgres:
    """A private PostgreSQL cluster (initdb in a temp dir, run as the `postgres` user),
    so it can be pinned with the servers. Falls back to the shared server on :5432
    (not pinned; reported) when initdb or the `postgres` user is missing."""

    workdir: Path
    port: int = 0
    proc: Proc | None = None
    private: bool = False
    datadir: Path | None = None
    databases: list[str] = field(default_factory=list)
    # Extra `-c name=value` server settings (e.g. shared_preload_libraries), private only.
    settings: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        found = _postgres_tools()
        if found is None:
            self.port, self.private = 5432, False
            return
        bindir, runuser = found
        root = Path(tempfile.mkdtemp(prefix="beckon-bench-pg-"))
        shutil.chown(root, "postgres")
        self.datadir = root / "data"
        await asyncio.to_thread(
            subprocess.run,
            [
                runuser,
                "-u",
                "postgres",
                "--",
                str(bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = free_port()
        argv = [
            runuser,
            "-u",
            "postgres",
            "--",
            str(bindir / "postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={root}",
            "-c",
            "max_connections=300",
            *[arg for name, value in self.settings.items() for arg in ("-c", f"{name}={value}")],
        ]
        self.proc = spawn("postgres", argv, self.workdir, SERVER_CORE)
        self.private = True
        await wait_port(self.port, 30, self.proc.popen)
        await asyncio.sleep(0.3)  # listening precedes accepting logins by a moment

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        import asyncpg

        for attempt in range(50):
            try:
                admin = await asyncpg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
                )
                break
            except (OSError, asyncpg.PostgresError):
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.databases.append(name)
        return self.url(name)

    async def drop_databases(self) -> None:
        import asyncpg

        if not self.databases:
            return
        admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            for name in self.databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        self.databases.clear()

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(30)
        if self.datadir is not None:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _category(proc: psutil.Process) -> str:
    try:
        name = proc.name()
        if name.startswith("postgres"):
            return "postgres"
        if name.startswith("redis"):
            return "redis"
        cmd = " ".join(proc.cmdline()[:4])
    except psutil.Error:
        return "other"
    if "bench.loadgen" in cmd or "bench run" in cmd or "bench/__main__" in cmd:
        return "loadgen"
    if "bench.beckon_node" in cmd or "server.cli" in cmd or "bench.peers" in cmd:
        return "server"
    if name == "node" or "server.js" in cmd:
        return "server"
    return "other"


def _cpu_by_pid() -> dict[int, tuple[str, float]]:
    """CPU seconds of this process tree only (what the bench started)."""
    out = {}
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            out[proc.pid] = (_category(proc), t.user + t.system)
        except psutil.Error:
            continue
    return out


def _postgres_tools() -> tuple[Path, str] | None:
    """(PostgreSQL bin dir, runuser) when a private cluster can be made here."""
    versions = sorted(PG_BIN.glob("*/bin/initdb")) if PG_BIN.exists() else []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("postgres")
        has_user = os.geteuid() == 0
    except KeyError:
        has_user = False
    if not versions or not runuser or not has_user:
        return None
    return versions[-1].parent, runuser


class CoreMeter:
    """Busy share of each core between `start()` and `stop()` (from /proc/stat), and
    CPU seconds by process kind (server nodes, postgres, redis, loadgen, other)."""

    def start(self) -> None:
        self._t0 = psutil.cpu_times(percpu=True)
        self._p0 = _cpu_by_pid()
        self._w0 = time.monotonic()

    def by_kind(self) -> dict[str, float]:
        """CPU share of one core used by each kind since `start()`."""
        p1 = _cpu_by_pid()
        wall = max(1e-9, time.monotonic() - self._w0)
        kinds: dict[str, float] = {}
        for pid, (kind, cpu) in p1.items():
            before = self._p0.get(pid, (kind, 0.0))[1]
            kinds[kind] = kinds.get(kind, 0.0) + max(0.0, cpu - before) / wall
        return {k: round(v, 3) for k, v in sorted(kinds.items())}

    def stop(self) -> list[float]:
        t1 = psutil.cpu_times(percpu=True)
        out = []
        for a, b in zip(self._t0, t1, strict=False):
            total = sum(b) - sum(a)
            idle = (b.idle - a.idle) + (getattr(b, "iowait", 0) - getattr(a, "iowait", 0))
            out.append(0.0 if total <= 0 else max(0.0, 1 - idle / total))
        return out
