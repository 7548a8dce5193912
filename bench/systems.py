"""The systems under test: Beckon (two `beckon serve` nodes, PostgreSQL or SQLite) and
the three peers, each two nodes on one local Redis. `start()` returns once both nodes
answer; `chat_config()` is what the load generator needs to open conversations.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.infra import REPO, SERVER_CORE, Postgres, Proc, Redis, free_port, spawn, wait_port

ORIGIN = "https://shop.example.com"
ADMIN_EMAIL = "admin@bench.example.com"
ADMIN_PASSWORD = "bench admin password"
AGENT_CAPACITY = 50  # the API's maximum
NODE_DIR = REPO / "bench" / "peers" / "node_socketio"


class SkipSystem(Exception):
    """The system cannot run here (e.g. npm missing); the reason is reported."""


async def wait_ready(url: str, proc: Proc, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited: {proc.tail()}")
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{proc.name} not ready: {proc.tail()}")
            await asyncio.sleep(0.1)


class System:
    name = "?"
    dialect = "?"
    store = "none"
    stores_messages = False
    compression = "?"
    rules_made = 0  # invitation rules created on this system (Beckon)

    def __init__(self, workdir: Path, redis: Redis) -> None:
        self.workdir = workdir
        self.redis = redis
        self.procs: list[Proc] = []
        self.ports: list[int] = []
        self.prefix = "bench" + secrets.token_hex(4)

    @property
    def nodes(self) -> list[dict[str, Any]]:
        return [{"host": "127.0.0.1", "port": p} for p in self.ports]

    async def start(self) -> None:
        raise NotImplementedError

    async def create_rules(self, n: int) -> int:
        """`n` invitation rules on the bench site, as a marketer would write them: most
        watch other sections of the shop (the engine's index skips them), one in twenty
        watches the checkout with a cart threshold the load reaches. Returns how many."""
        made = 0
        async with self.client() as c:
            for i in range(n):
                if i % 20 == 0:
                    when = [
                        {"fact": "page.path", "op": "glob", "value": "/checkout*"},
                        {"fact": "cart.value", "op": "gte", "value": 60 + 10 * (i // 20)},
                    ]
                else:
                    when = [
                        {"fact": "page.path", "op": "glob", "value": f"/collections/c{i}/*"},
                        {"fact": "page.time_s", "op": "gte", "value": 10 + i % 50},
                    ]
                r = await c.post(
                    f"/api/v1/sites/{self.site['id']}/rules",
                    headers=self.admin_headers,
                    json={
                        "name": f"bench rule {i}",
                        "enabled": True,
                        "priority": i % 10,
                        "when": {"all": when},
                        "gates": {"max_per_visit": 1},
                        "variants": [{"id": "a", "weight": 1, "text": {"en": "Need help?"}}],
                    },
                )
                r.raise_for_status()
                made += 1
        self.rules_made += made
        return made

    def chat_config(self, conversations: int) -> dict[str, Any]:
        return {"dialect": self.dialect, "nodes": self.nodes}

    async def prepare_chat(self, conversations: int) -> None:
        """Server-side setup before conversations open (Beckon: agents)."""

    async def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()

    def node1(self) -> Proc:
        return self.procs[0]


class StarletteRelay(System):
    name = "starlette_relay"
    dialect = "plain"
    compression = "uvicorn default: permessage-deflate accepted when offered"
    module = "bench.peers.starlette_relay.app"  # two Python peers differ only in this

    async def start(self) -> None:
        self.ports = []
        for i in range(2):
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                self.module,
                str(port),
                self.redis.url,
                self.prefix,
            ]
            proc = spawn(f"{self.name}-{i}", argv, self.workdir, SERVER_CORE)
            self.procs.append(proc)
            self.ports.append(port)
        for proc, port in zip(self.procs, self.ports, strict=True):
            await wait_ready(f"http://127.0.0.1:{port}", proc)


class PythonSocketIO(StarletteRelay):
    name = "python_socketio"
    dialect = "socketio"
    module = "bench.peers.python_socketio.app"


def npm_install() -> None:
    """Install the node peer's dependencies (once; node_modules is gitignored)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SkipSystem("node/npm not installed: the node_socketio peer is skipped")
    lock = NODE_DIR / "package-lock.json"
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    if marker.exists() and lock.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    cmd = ["npm", "ci" if lock.exists() else "install", "--no-audit", "--no-fund", "--silent"]
    done = subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SkipSystem(f"npm install failed: {done.stderr.strip()[-300:]}")


class NodeSocketIO(System):
    name = "node_socketio"
    dialect = "socketio"
    compression = "socket.io 4 default: perMessageDeflate off"

    async def start(self) -> None:
        await asyncio.to_thread(npm_install)
        self.ports = []
        for i in range(2):
            port = free_port()
            argv = ["node", str(NODE_DIR / "server.js"), str(port), self.redis.url, self.prefix]
            proc = spawn(f"{self.name}-{i}", argv, self.workdir, SERVER_CORE)
            self.procs.append(proc)
            self.ports.append(port)
        for proc, port in zip(self.procs, self.ports, strict=True):
            await wait_ready(f"http://127.0.0.1:{port}", proc)


class Beckon(System):
    """Two real `beckon serve` nodes (via bench.beckon_node for the task probe)."""

    dialect = "beckon"
    stores_messages = True
    compression = "off: ws=server.ws_protocol (uvicorn sans-I/O), permessage-deflate not negotiated"

    def __init__(self, workdir: Path, redis: Redis, store: str, pg: Postgres | None) -> None:
        super().__init__(workdir, redis)
        self.store = store
        self.pg = pg
        self.name = f"beckon_{'pg' if store == 'postgresql' else 'sqlite'}"
        self.env: dict[str, str] = {}
        self.site: dict[str, Any] = {}
        self.agent_tokens: list[str] = []
        self.admin_headers: dict[str, str] = {}
        self.cookies: httpx.Cookies | None = None
        self.probes: list[Path] = []

    async def start(self) -> None:
        import os

        self.ports, self.probes, self.agent_tokens = [], [], []
        # A fresh store each start: none of the last one's rules (f after (c)/(e) found
        # `rules_made` set, made none, and saw no invitation).
        self.rules_made = 0
        if self.store == "postgresql":
            assert self.pg is not None
            db_url = await self.pg.create_database("beckon_bench_" + secrets.token_hex(4))
        else:
            name = f"{self.prefix}-{secrets.token_hex(3)}.db"  # a fresh file on each start
            db_url = f"sqlite+aiosqlite:///{self.workdir / name}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BECKON_")}
        self.env.update(
            BECKON_DATABASE_URL=db_url,
            BECKON_BROKER_URL=self.redis.url,
            BECKON_SECRET_KEY="bench-secret-" + secrets.token_hex(24),
            BECKON_BROKER_PREFIX=self.prefix,
            BECKON_LOG_LEVEL="WARNING",
            # Every simulated visitor connects from loopback: lift the per-address and
            # per-visitor quotas (docs/security.md), which would otherwise cap the load.
            BECKON_IP_MAX_VISITOR_SOCKETS="1000000",
            BECKON_IP_VISITOR_CONNECTS_PER_S="1000000",
            BECKON_IP_CHAT_STARTS_PER_HOUR="1000000",
            BECKON_IP_OFFLINE_MESSAGES_PER_HOUR="1000000",
            BECKON_VISITOR_CHAT_STARTS_PER_HOUR="100000",
            BECKON_VISITOR_OFFLINE_MESSAGES_PER_HOUR="100000",
            BECKON_VISITOR_CONVERSIONS_PER_HOUR="100000",
            BECKON_VISITOR_EVENTS_PER_HOUR="1000000",
            BECKON_IP_CONVERSIONS_PER_HOUR="1000000",
        )
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "server.cli",
                "create-admin",
                "--email",
                ADMIN_EMAIL,
                "--password-stdin",
            ],
            input=ADMIN_PASSWORD + "\n",
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"create-admin failed: {done.stderr}")
        for i in range(2):
            port = free_port()
            probe = self.workdir / f"{self.name}-{i}.probe.json"
            argv = [
                sys.executable,
                "-m",
                "bench.beckon_node",
                str(probe),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-bootstrap",
            ]
            proc = spawn(f"{self.name}-{i}", argv, self.workdir, SERVER_CORE, self.env)
            self.procs.append(proc)
            self.ports.append(port)
            self.probes.append(probe)
        for proc, port in zip(self.procs, self.ports, strict=True):
            await wait_port(port, 60, proc.popen)
            await wait_ready(f"http://127.0.0.1:{port}", proc)
        await self._admin()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, cookies=self.cookies)

    async def _admin(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as c:
            r = await c.post(
                "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            r.raise_for_status()
            self.cookies = c.cookies
            self.admin_headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        async with self.client() as c:
            r = await c.post(
                "/api/v1/sites",
                headers=self.admin_headers,
                json={"name": "Bench shop", "allowed_origins": [ORIGIN]},
            )
            r.raise_for_status()
            self.site = r.json()

    async def prepare_chat(self, conversations: int) -> None:
        """Enough online agents (capacity 50 each) that routing assigns every chat."""
        need = -(-conversations // AGENT_CAPACITY)
        async with self.client() as c:
            while len(self.agent_tokens) < need:
                i = len(self.agent_tokens)
                email, password = f"agent{i}-{self.prefix}@bench.example.com", "agent password 1"
                r = await c.post(
                    "/api/v1/agents",
                    headers=self.admin_headers,
                    json={
                        "email": email,
                        "password": password,
                        "display_name": f"Agent {i}",
                        "capacity": AGENT_CAPACITY,
                        "site_ids": [self.site["id"]],
                    },
                )
                r.raise_for_status()
                async with httpx.AsyncClient(base_url=self.url, timeout=60) as a:
                    login = await a.post(
                        "/api/v1/auth/login", json={"email": email, "password": password}
                    )
                    login.raise_for_status()
                    tok = await a.post(
                        "/api/v1/tokens",
                        json={"name": "bench"},
                        headers={"X-CSRF-Token": login.json()["csrf_token"]},
                    )
                    tok.raise_for_status()
                    self.agent_tokens.append(tok.json()["token"])

    def chat_config(self, conversations: int) -> dict[str, Any]:
        need = -(-conversations // AGENT_CAPACITY)
        return {
            "dialect": "beckon",
            "nodes": self.nodes,
            "site_key": self.site["key"],
            "agent_tokens": self.agent_tokens[:need],
        }

    async def tasks(self, node: int = 0) -> int | None:
        """The node's asyncio task count (bench/beckon_node.py counts it when asked)."""
        try:
            probe = self.probes[node]
            asked = time.time()
            Path(str(probe) + ".ask").touch()  # noqa: ASYNC240 — an empty file
            for _ in range(50):  # ≤ 5 s
                await asyncio.sleep(0.1)
                if probe.exists():
                    found = json.loads(probe.read_text())
                    if found["ts"] >= asked:
                        return found["tasks"]
        except (OSError, ValueError, KeyError, IndexError):
            return None
        return None

    async def routes(self) -> list[str]:
        async with self.client() as c:
            r = await c.get("/api/v1/openapi.json")
            return list(r.json().get("paths", {})) if r.status_code == 200 else []

    async def stop(self) -> None:
        await super().stop()
        if self.store == "postgresql" and self.pg is not None:
            await self.pg.drop_databases()
