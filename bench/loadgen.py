"""The load generator: one process (pinned to the load core), driven by JSON lines.

The orchestrator writes one command per line on stdin and reads one JSON result per
line on stdout. The same code drives every system; only `Dialect` differs (how a socket
becomes ready, how a message is framed). Every wait is bounded by a timeout and every
loop by a count or a deadline. Each result carries `gen_cpu`: the share of its core
the generator used during the phase, so a saturated generator is visible.

Run: `python -m bench.loadgen` (the suite starts it; not meant to be used by hand).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.wsclient import WsError, WsProtocol, connect

ORIGIN = "https://shop.example.com"
TEXT = "Hi, is the blue one in stock in size 42? I would like it before Friday."
CMID = b'"client_msg_id":"'
SOURCE_IPS = [f"127.0.0.{i}" for i in range(2, 12)]  # 10 × ~28k ephemeral ports
PER_IP = 10_000


def source_ip(i: int) -> str:
    return SOURCE_IPS[(i // PER_IP) % len(SOURCE_IPS)]


def msg_id(data: bytes) -> int | None:
    i = data.find(CMID)
    if i < 0:
        return None
    i += len(CMID)
    j = data.find(b'"', i)
    try:
        return int(data[i:j])
    except ValueError:
        return None


@dataclass
class Stats:
    sched: list[float] = field(default_factory=list)  # intended send time per message id
    agent: dict[int, float] = field(default_factory=dict)  # id → delivery latency (s)
    ack: dict[int, float] = field(default_factory=dict)  # id → ack latency (s)
    errors: dict[str, int] = field(default_factory=dict)
    base: int = 0  # ids below this belong to earlier phases
    last_rx: float = 0.0  # perf_counter of the last frame received on any socket

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


class Sock:
    """One client socket: the protocol plus a queue of parsed control frames."""

    def __init__(self, role: str, dialect: Dialect, stats: Stats) -> None:
        self.role = role
        self.dialect = dialect
        self.stats = stats
        self.proto: WsProtocol | None = None
        self.frames: asyncio.Queue[Any] = asyncio.Queue()
        self.room = ""
        self.token: str | None = None  # Beckon: the welcome's visitor_token

    def on_message(self, data: bytes) -> None:
        mid = msg_id(data)
        stats = self.stats
        stats.last_rx = time.perf_counter()
        if mid is not None and mid >= stats.base:
            latency = time.perf_counter() - stats.sched[mid - stats.base]
            target = stats.agent if self.role == "agent" else stats.ack
            if mid not in target:
                target[mid] = latency
            return
        frame = self.dialect.parse(self, data)
        if frame is not None:
            if isinstance(frame, dict) and frame.get("type") == "error":
                self.stats.error(str(frame.get("code")))
            self.frames.put_nowait(frame)

    async def expect(self, pred: Any, timeout: float = 20.0) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if pred(frame):
                    return frame

    def send_obj(self, obj: dict[str, Any]) -> None:
        assert self.proto is not None
        self.proto.send(orjson.dumps(obj))

    def close(self) -> None:
        if self.proto is not None:
            self.proto.close()


class Dialect:
    """How one system's sockets connect, become ready and frame a chat message."""

    name = "?"

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.deflate = bool(cfg.get("deflate", True))

    def parse(self, sock: Sock, data: bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return None

    async def _open(self, sock: Sock, node: dict[str, Any], path: str, i: int, origin: str | None):
        sock.proto = await connect(
            node["host"],
            node["port"],
            path,
            origin=origin,
            on_message=sock.on_message,
            local_ip=source_ip(i),
            deflate=self.deflate,
        )

    def message(self, room: str, mid: int) -> bytes:
        return b'{"type":"message","conversation_id":"%s","client_msg_id":"%d","text":"%s"}' % (
            room.encode(),
            mid,
            TEXT.encode(),
        )


class Plain(Dialect):
    """starlette_relay: /ws?room=R, ready when open."""

    name = "plain"

    async def visitor(self, sock: Sock, node: dict[str, Any], room: str, i: int) -> None:
        await self._open(sock, node, f"/ws?room={room}", i, ORIGIN)
        sock.room = room

    agent = visitor


class SocketIO(Dialect):
    """Engine.IO 4 / Socket.IO 5 over a bare websocket (python-socketio and node)."""

    name = "socketio"

    def parse(self, sock: Sock, data: bytes) -> Any:
        if data == b"2":  # engine.io ping → pong
            assert sock.proto is not None
            sock.proto.send(b"3")
            return None
        if data[:1] == b"0":
            return {"type": "eio_open"}
        if data[:2] == b"40":
            return {"type": "sio_connect"}
        if data[:2] == b"44":
            return {"type": "error", "code": "sio_connect_error"}
        return None

    async def visitor(self, sock: Sock, node: dict[str, Any], room: str, i: int) -> None:
        path = f"/socket.io/?EIO=4&transport=websocket&room={room}"
        await self._open(sock, node, path, i, ORIGIN)
        await sock.expect(lambda f: f["type"] == "eio_open")
        sock.proto.send(b"40")  # type: ignore[union-attr]
        await sock.expect(lambda f: f["type"] in ("sio_connect", "error"))
        sock.room = room

    agent = visitor

    def message(self, room: str, mid: int) -> bytes:
        return b'42["message",' + super().message(room, mid) + b"]"


class Beckon(Dialect):
    """Beckon: visitors hello → welcome (→ chat_start → conversation); agents hello{token}."""

    name = "beckon"

    async def idle_visitor(
        self,
        sock: Sock,
        node: dict[str, Any],
        i: int,
        token: str | None = None,
        url: str = "https://shop.example.com/p/1",
    ) -> dict[str, Any]:
        """Open, hello (with `token`: a returning visitor), and the welcome (or error)."""
        await self._open(sock, node, f"/ws/visitor?site={self.cfg['site_key']}", i, ORIGIN)
        hello: dict[str, Any] = {"type": "hello", "ref": "h", "page": {"url": url}}
        if token:
            hello["visitor_token"] = token
        sock.send_obj(hello)
        return await sock.expect(lambda f: f.get("type") in ("welcome", "error"))

    async def visitor(self, sock: Sock, node: dict[str, Any], room: str, i: int) -> None:
        await self.idle_visitor(sock, node, i)
        sock.send_obj({"type": "chat_start", "ref": "cs"})
        conv = await sock.expect(lambda f: f.get("ref") == "cs")
        if conv.get("type") != "conversation":
            raise WsError(f"chat_start refused: {conv}")
        sock.room = conv["id"]

    async def agent_login(self, sock: Sock, node: dict[str, Any], token: str, i: int) -> None:
        await self._open(sock, node, "/ws/agent", i, None)
        sock.send_obj({"type": "hello", "token": token})
        await sock.expect(lambda f: f.get("type") == "welcome")
        sock.send_obj({"type": "status", "status": "online", "ref": "st"})
        await sock.expect(lambda f: f.get("ref") == "st")


DIALECTS = {"beckon": Beckon, "plain": Plain, "socketio": SocketIO}


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


class Generator:
    def __init__(self) -> None:
        self.dialect: Dialect | None = None
        self.pairs: list[tuple[Sock, Sock | None]] = []  # (visitor, agent) per conversation
        self.agents: list[Sock] = []
        self.idle: list[Sock] = []
        self.stats = Stats()
        self.next_id = 0
        self.shop_agents: list[Sock] = []  # scenario (f): Beckon agents kept across steps
        self.shop_conn_offset = 0  # scenario (f): rooms and source ports differ per step
        self.known_tokens: list[str] = []  # returning visitors for `connects`

    # -- commands ------------------------------------------------------------------------
    async def cmd_setup_chat(self, c: dict[str, Any]) -> dict[str, Any]:
        """Open `conversations` visitor/agent pairs: visitors on node 1, agents on node 2."""
        self.dialect = d = DIALECTS[c["dialect"]](c)
        n = c["conversations"]
        node1, node2 = c["nodes"][0], c["nodes"][-1]
        sem = asyncio.Semaphore(c.get("inflight", 50))
        began = time.perf_counter()
        if isinstance(d, Beckon):
            self.agents = [Sock("agent", d, self.stats) for _ in c["agent_tokens"]]
            await asyncio.gather(
                *(
                    d.agent_login(s, node2, tok, i)
                    for i, (s, tok) in enumerate(zip(self.agents, c["agent_tokens"], strict=True))
                )
            )
            visitors = [Sock("visitor", d, self.stats) for _ in range(n)]

            async def one(i: int) -> None:
                async with sem:
                    await d.visitor(visitors[i], node1, "", i)

            await asyncio.gather(*(one(i) for i in range(n)))
            # Wait until routing handed every conversation to an agent socket on node 2.
            wanted = {v.room for v in visitors}
            seen: set[str] = set()
            deadline = time.perf_counter() + c.get("assign_timeout", 120)
            while not wanted <= seen and time.perf_counter() < deadline:
                for a in self.agents:
                    while not a.frames.empty():
                        f = a.frames.get_nowait()
                        if f.get("type") == "conversation" and f.get("status") == "active":
                            seen.add(f["id"])
                await asyncio.sleep(0.05)
            missing = len(wanted - seen)
            self.pairs = [(v, None) for v in visitors]
        else:
            pairs = [
                (Sock("visitor", d, self.stats), Sock("agent", d, self.stats)) for _ in range(n)
            ]

            async def pair(i: int) -> None:
                async with sem:
                    v, a = pairs[i]
                    await d.agent(a, node2, f"c{i}", i)  # type: ignore[attr-defined]
                    await d.visitor(v, node1, f"c{i}", i)  # type: ignore[attr-defined]

            await asyncio.gather(*(pair(i) for i in range(n)))
            self.pairs = pairs  # type: ignore[assignment]
            missing = 0
        negotiated = self.pairs[0][0].proto.deflate if self.pairs else False  # type: ignore[union-attr]
        return {
            "conversations": n,
            "unassigned": missing,
            "setup_s": time.perf_counter() - began,
            "deflate": negotiated,
        }

    async def cmd_rate(self, c: dict[str, Any]) -> dict[str, Any]:
        """Open loop: `rate` msg/s for `duration` s, round-robin over conversations."""
        assert self.dialect is not None
        rate, duration, drain = float(c["rate"]), float(c["duration"]), float(c.get("drain", 3))
        total = max(1, int(rate * duration))
        stats = self.stats
        stats.base = self.next_id
        stats.sched = [0.0] * total
        stats.agent.clear()
        stats.ack.clear()
        stats.errors.clear()
        pairs = self.pairs
        rooms = [p[0].room for p in pairs]
        npairs = len(pairs)
        message = self.dialect.message
        base = stats.base
        sched = stats.sched
        cpu0, t_start = time.process_time(), time.perf_counter()
        t0 = t_start + 0.01
        sent = 0
        while sent < total:
            now = time.perf_counter()
            due = min(total, int((now - t0) * rate) + 1)
            while sent < due:
                k = sent % npairs
                sched[sent] = t0 + sent / rate
                pairs[k][0].proto.send(message(rooms[k], base + sent))  # type: ignore[union-attr]
                sent += 1
            await asyncio.sleep(0.001)
        send_end = time.perf_counter()
        cpu_send = time.process_time() - cpu0
        deadline = send_end + drain
        while time.perf_counter() < deadline:
            if len(stats.agent) >= total and len(stats.ack) >= total:
                break
            await asyncio.sleep(0.01)
        self.next_id += total
        lat = sorted(stats.agent.values())
        acks = sorted(stats.ack.values())
        lost = total - len(lat)
        # Lost messages count as infinitely late: p99 is only finite if ≤1% were lost.
        full = lat + [float("inf")] * lost
        ack_full = acks + [float("inf")] * (total - len(acks))
        return {
            "rate": rate,
            "sent": total,
            "send_s": send_end - t0,
            "achieved": total / max(1e-9, send_end - t0),
            "delivered": len(lat),
            "acked": len(acks),
            "p50_ms": percentile(full, 0.50) * 1000,
            "p99_ms": percentile(full, 0.99) * 1000,
            "max_ms": (full[-1] if full else float("nan")) * 1000,
            "ack_p50_ms": percentile(ack_full, 0.50) * 1000,
            "ack_p99_ms": percentile(ack_full, 0.99) * 1000,
            "errors": dict(stats.errors),
            "gen_cpu": cpu_send / max(1e-9, send_end - t_start),
        }

    async def cmd_quiesce(self, c: dict[str, Any]) -> dict[str, Any]:
        """Wait until no frame arrived for `quiet` s (a backlog from the previous phase
        has drained), at most `limit` s. Returns how long it took."""
        quiet, began = float(c.get("quiet", 1.0)), time.perf_counter()
        deadline = began + float(c.get("limit", 60))
        while time.perf_counter() < deadline:
            if time.perf_counter() - self.stats.last_rx >= quiet:
                return {"waited_s": time.perf_counter() - began, "quiet": True}
            await asyncio.sleep(0.1)
        return {"waited_s": time.perf_counter() - began, "quiet": False}

    async def _ready_idle(
        self, d: Dialect, node: dict[str, Any], i: int, room: str, token: str | None = None
    ) -> Sock:
        s = Sock("visitor", d, self.stats)
        if isinstance(d, Beckon):
            welcome = await d.idle_visitor(s, node, i, token)
            s.token = welcome.get("visitor_token")
        else:
            await d.visitor(s, node, room, i)  # type: ignore[attr-defined]
        return s

    async def cmd_idle(self, c: dict[str, Any]) -> dict[str, Any]:
        """Open `n` idle visitor sockets on node 1 and keep them (until close_idle)."""
        d = DIALECTS[c["dialect"]](c)
        node = c["nodes"][0]
        sem = asyncio.Semaphore(c.get("inflight", 100))
        errors: dict[str, int] = {}
        offset = c.get("offset", 50_000)
        tokens = c.get("tokens") or []
        cpu0, began = time.process_time(), time.perf_counter()

        async def one(i: int) -> None:
            token = tokens[i] if i < len(tokens) else None
            async with sem:
                try:
                    s = await self._ready_idle(d, node, offset + i, f"v{offset + i}", token)
                    self.idle.append(s)
                except (WsError, TimeoutError, OSError) as exc:
                    key = type(exc).__name__ + ": " + str(exc)[:60]
                    errors[key] = errors.get(key, 0) + 1

        await asyncio.gather(*(one(i) for i in range(c["n"])))
        wall = time.perf_counter() - began
        return {
            "n": c["n"],
            "open": sum(1 for s in self.idle if s.proto and not s.proto.closed.done()),
            "errors": errors,
            "connect_s": wall,
            "deflate": self.idle[0].proto.deflate if self.idle else False,  # type: ignore[union-attr]
            "gen_cpu": (time.process_time() - cpu0) / max(1e-9, wall),
        }

    async def cmd_check_idle(self, c: dict[str, Any]) -> dict[str, Any]:
        dropped = sum(1 for s in self.idle if s.proto is None or s.proto.closed.done())
        return {"open": len(self.idle) - dropped, "dropped": dropped}

    async def cmd_close_idle(self, c: dict[str, Any]) -> dict[str, Any]:
        socks, self.idle = self.idle, []
        for s in socks:
            s.close()
        await asyncio.sleep(0)
        waits = [s.proto.closed for s in socks if s.proto is not None]
        if waits:
            await asyncio.wait(waits, timeout=c.get("timeout", 20))
        return {"closed": len(socks)}

    async def cmd_connects(self, c: dict[str, Any]) -> dict[str, Any]:
        """`n` connections to ready, `inflight` at a time; then close them all.
        `returning`: Beckon visitors the server knows (a first, unmeasured pass names
        them; the measured pass says hello with their tokens), as on a shop's 2nd page."""
        if c.get("returning"):
            if len(self.known_tokens) < c["n"]:
                await self.cmd_name_visitors(c)
            c = {**c, "tokens": self.known_tokens}
            self.known_tokens = []
        r = await self.cmd_idle({**c, "offset": c.get("offset", 120_000)})
        r["per_s"] = r["open"] / max(1e-9, r["connect_s"])
        await self.cmd_close_idle({})
        return r

    async def cmd_name_visitors(self, c: dict[str, Any]) -> dict[str, Any]:
        """Beckon: `n` visitors connect once and leave; their tokens are kept for the
        next `connects` with `returning`."""
        await self.cmd_idle({**c, "offset": c.get("offset", 120_000)})
        self.known_tokens = [s.token for s in self.idle if s.token]
        await self.cmd_close_idle({})
        return {"named": len(self.known_tokens)}

    async def cmd_behaviour(self, c: dict[str, Any]) -> dict[str, Any]:
        """Each of `visitors` Beckon visitors sends rounds of `batch` behaviour frames and
        a ping; the pong proves the round was handled. Events/s = handled / wall."""
        d = DIALECTS["beckon"](c)
        nodes = c["nodes"]
        n, batch, duration = c["visitors"], c.get("batch", 9), c["duration"]
        socks: list[Sock] = []
        sem = asyncio.Semaphore(100)

        async def open_one(i: int) -> None:
            async with sem:
                s = Sock("visitor", d, self.stats)
                await d.idle_visitor(s, nodes[i % len(nodes)], 200_000 + i)
                socks.append(s)

        began = time.perf_counter()
        reused = c.get("reuse_idle", False)
        if reused:  # visitors already connected by `idle` (scenario c), said hello
            socks = [s for s in self.idle if s.proto and not s.proto.closed.done()][:n]
        else:
            await asyncio.gather(*(open_one(i) for i in range(n)), return_exceptions=True)
        connect_s = time.perf_counter() - began
        self.stats.errors.clear()
        paths = ["/", "/pricing", "/cart", "/checkout", "/products/shoes", "/help/faq"]
        events = [
            lambda k: {"type": "page_view", "url": f"https://shop.example.com{paths[k % 6]}"},
            lambda k: {"type": "track", "event": "add_to_cart", "props": {"depth": 60}},
            lambda k: {"type": "cart", "value": 20 + (k % 5) * 40, "currency": "EUR"},
        ]
        handled = 0
        invitations = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        stop = t0 + duration

        async def run(s: Sock) -> None:
            nonlocal handled, invitations
            counter = itertools.count()
            while time.perf_counter() < stop:
                round_start = time.perf_counter()
                for _ in range(batch):
                    k = next(counter)
                    s.send_obj(events[k % 3](k))
                ref = f"p{next(counter)}"
                s.send_obj({"type": "ping", "ref": ref})
                try:
                    while True:
                        f = await s.expect(lambda f: True, timeout=30)
                        if f.get("type") == "invitation":
                            invitations += 1
                        if f.get("ref") == ref:
                            break
                except TimeoutError:
                    self.stats.error("pong_timeout")
                    return
                handled += batch
                # ≤ 20 frames/s per socket (the server's per-connection limit).
                spare = (batch + 1) / 18 - (time.perf_counter() - round_start)
                if spare > 0:
                    await asyncio.sleep(spare)

        await asyncio.gather(*(run(s) for s in socks))
        wall = time.perf_counter() - t0
        if not reused:
            for s in socks:
                s.close()
        return {
            "reused_idle": reused,
            "visitors": len(socks),
            "connect_s": connect_s,
            "events": handled,
            "per_s": handled / wall,
            "invitations": invitations,
            "errors": dict(self.stats.errors),
            "gen_cpu": (time.process_time() - cpu0) / wall,
        }

    async def cmd_wait(self, c: dict[str, Any]) -> dict[str, Any]:
        """Nothing for `seconds` (scenario (i): what the servers burn with no traffic)."""
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(float(c["seconds"]))
        wall = time.perf_counter() - t0
        return {"seconds": wall, "gen_cpu": (time.process_time() - cpu0) / wall}

    async def cmd_shop(self, c: dict[str, Any]) -> dict[str, Any]:
        """Scenario (f), one step of the shop day (bench/shopgen.py)."""
        from bench.shopgen import shop_step

        return await shop_step(self, c)

    async def cmd_shop_end(self, c: dict[str, Any]) -> dict[str, Any]:
        agents, self.shop_agents = self.shop_agents, []
        for a in agents:
            a.close()
        return {"closed": len(agents)}

    async def cmd_soak_start(self, c: dict[str, Any]) -> dict[str, Any]:
        """Background chatting and navigating on the open conversations (soak mode):
        each visitor sends a message every `message_s` and a page_view every `page_s`."""
        assert self.dialect is not None
        message_s, page_s = float(c["message_s"]), float(c["page_s"])
        self.soak_counts = {"messages": 0, "pages": 0}
        self.stats.base = self.next_id
        self.stats.sched = []
        message = self.dialect.message

        async def visitor(k: int, v: Sock) -> None:
            await asyncio.sleep((k % 1000) / 1000 * page_s)
            tick = 0
            while True:
                url = f"https://shop.example.com/p/{tick % 50}"
                v.send_obj({"type": "page_view", "url": url})
                self.soak_counts["pages"] += 1
                if tick % max(1, round(message_s / page_s)) == 0:
                    mid = self.next_id
                    self.next_id += 1
                    self.stats.sched.append(time.perf_counter())
                    v.proto.send(message(v.room, mid))  # type: ignore[union-attr]
                    self.soak_counts["messages"] += 1
                tick += 1
                await asyncio.sleep(page_s)

        self.soak_tasks = [
            asyncio.create_task(visitor(k, v)) for k, (v, _a) in enumerate(self.pairs)
        ]
        return {"visitors": len(self.soak_tasks)}

    async def cmd_soak_status(self, c: dict[str, Any]) -> dict[str, Any]:
        dropped = sum(1 for v, _ in self.pairs if v.proto is None or v.proto.closed.done())
        return {
            **self.soak_counts,
            "delivered": len(self.stats.agent),
            "acked": len(self.stats.ack),
            "dropped": dropped,
            "errors": dict(self.stats.errors),
        }

    async def cmd_soak_stop(self, c: dict[str, Any]) -> dict[str, Any]:
        for t in self.soak_tasks:
            t.cancel()
        await asyncio.gather(*self.soak_tasks, return_exceptions=True)
        return await self.cmd_soak_status(c)

    async def cmd_close_chat(self, c: dict[str, Any]) -> dict[str, Any]:
        for v, a in self.pairs:
            v.close()
            if a is not None:
                a.close()
        for a in self.agents:
            a.close()
        self.pairs, self.agents = [], []
        await asyncio.sleep(0.2)
        return {"ok": True}


async def main() -> None:
    gen = Generator()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        cmd = orjson.loads(line)
        name = cmd.pop("cmd")
        if name == "quit":
            return
        try:
            result = await getattr(gen, f"cmd_{name}")(cmd)
        except Exception as exc:
            result = {"failed": f"{type(exc).__name__}: {exc}"}
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        sys.stdout.flush()


if __name__ == "__main__":
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
