"""A 3-primary Redis Cluster on loopback ports, for the conformance suite and the
two-node tests: `redis-server --cluster-enabled yes` x3 + `redis-cli --cluster create`.

Synchronous (subprocess and polling), so one cluster can serve a whole test session;
each test still uses its own key prefix.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.beckon_process import free_port

READY_TIMEOUT_S = 30
POLL_S = 0.1


class RedisCluster:
    """Start with `start()`, stop with `stop()`; `url` is its `redis+cluster://` URL."""

    def __init__(self, directory: Path, primaries: int = 3) -> None:
        self.directory = directory
        self.ports = [free_port() for _ in range(primaries)]
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        for index in range(len(self.ports)):
            self._start_node(index)
        created = subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                *("--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports)),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            capture_output=True,
            timeout=READY_TIMEOUT_S,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-500:]!r}")
        for port in self.ports:
            self._wait(lambda port=port: _cluster_ok(port), f"cluster_state:ok on {port}")

    def _start_node(self, index: int, attempts: int = 3) -> None:
        """Start node `index`; a port taken meanwhile by another process (free_port
        only found it free) makes the server exit: try again on another port."""
        for _ in range(attempts):
            port = self.ports[index]
            node_dir = self.directory / f"node-{port}"
            node_dir.mkdir(parents=True, exist_ok=True)
            process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                    *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                    *("--cluster-node-timeout", "2000", "--dir", str(node_dir)),
                    *("--save", "", "--appendonly", "no", "--logfile", "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._processes.append(process)
            self._wait(
                lambda port=port, process=process: _ping(port) or process.poll() is not None,
                f"redis-server on {port}",
            )
            if process.poll() is None:
                return
            self.ports[index] = free_port()
        log = (node_dir / "redis.log").read_text(errors="replace")[-800:]
        raise RuntimeError(f"redis-server did not start on port {port}: {log}")

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self._processes = []

    def _wait(self, probe, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not probe():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what} (logs in {self.directory})")
            time.sleep(POLL_S)


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, protocol=2, socket_connect_timeout=0.5, socket_timeout=2)


def _ping(port: int) -> bool:
    try:
        with _client(port) as client:
            return bool(client.ping())
    except (OSError, redis.RedisError):
        return False


def _cluster_ok(port: int) -> bool:
    try:
        with _client(port) as client:
            info = client.execute_command("CLUSTER", "INFO")
    except (OSError, redis.RedisError):
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and "cluster_slots_assigned:16384" in text
