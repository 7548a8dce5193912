"""Scenario (f), a shop day, on the load generator's side.

`visitors` shoppers at a time, each on a visit of `pages` page loads of `dwell_s` each.
Every page load is a NEW socket (a multi-page shop: the widget starts again on each
page) on one node or the other (as behind a load balancer); a Beckon visitor says hello
with the token its previous page's welcome gave it, so from the second page on the
server knows it. On each page the visitor sends `events_per_page` behaviour frames
(scroll, cart, activity); Beckon's invitation engine may invite it (the bench's rules
watch the checkout with a cart value). One visit in `1 / chat_share` chats: from its
second page it opens a conversation, an agent on the last node takes it, and the
visitor sends a message every `message_every_s` until the visit ends, then closes it.
A visit that ends is followed at once by a new visitor, so `visitors` stay on the shop.

Measured over the window after the ramp (visitors start spread over the first page):
connect latency (socket open → ready: Beckon's `welcome`, socket.io's CONNECT ack;
a failed connect counts as infinitely slow) and message latency (scheduled send → the
agent's socket; a lost message counts as infinitely late), their p50/p99, and what was
sent and received. Peers get the same page loads, behaviour frames (socket.io: events
nobody handles; the relay: frames it publishes to the visitor's own room) and chats
(an agent socket joins the chat's room on the last node).

Every loop is bounded by the step's deadline; every wait by a timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any

import orjson

from bench.wsclient import WsError

if TYPE_CHECKING:
    from bench.loadgen import Generator

# The cart comes second and the checkout third: a step lasts its ramp and window (one page
# plus two: 30 s at 10 s a page), so a visit reaches its third page inside the step, and
# the checkout's rules see the cart there. (With the checkout fourth no visit ever got to
# it within a step, and (f) never saw an invitation.)
PAGES = ["/", "/cart", "/checkout", "/products/shoes", "/products/boots", "/help/faq"]
HOST = "https://shop.example.com"
CHAT_WAIT_S = 10.0  # a chat not taken by an agent by then is counted and closed


def _behaviour(page: str, k: int) -> dict[str, Any]:
    if page == "/cart":  # the cart the checkout's rules look at (a later page keeps it)
        return {"type": "cart", "value": 40 + 40 * (k % 4), "currency": "EUR", "items": 1 + k}
    if k % 2:
        return {"type": "track", "event": "active"}
    return {"type": "track", "event": "scroll", "props": {"depth": 30 + 20 * (k % 4)}}


def _frame(dialect: Any, room: str, obj: dict[str, Any]) -> bytes:
    if dialect.name == "socketio":
        return b'42["' + obj["type"].encode() + b'",' + orjson.dumps(obj) + b"]"
    return orjson.dumps(obj)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


class ShopDay:
    def __init__(self, gen: Generator, c: dict[str, Any]) -> None:
        from bench.loadgen import DIALECTS

        self.gen = gen
        self.d = DIALECTS[c["dialect"]](c)
        self.nodes = c["nodes"]
        self.visitors = int(c["visitors"])
        self.pages = int(c["pages"])
        self.dwell = float(c["dwell_s"])
        self.events_per_page = int(c.get("events_per_page", 3))
        self.chat_every = max(1, round(1 / float(c.get("chat_share", 0.02))))
        self.message_every = float(c["message_every_s"])
        self.agent_tokens = c.get("agent_tokens", [])
        self.began = time.perf_counter()
        self.window_start = self.began + float(c.get("ramp_s", self.dwell))
        self.stop = self.window_start + float(c["measure_s"])
        self.connect_s: list[float] = []
        self.connect_failed = 0
        self.connects_total = 0
        self.events = 0
        self.invitations = 0
        self.chats = 0
        self.chats_unassigned = 0
        self.visits_done = 0
        self.conn_ids = itertools.count(300_000 + gen.shop_conn_offset)
        self.visit_ids = itertools.count()
        stats = gen.stats
        stats.base = gen.next_id
        stats.sched = []
        stats.agent.clear()
        stats.ack.clear()
        stats.errors.clear()

    # -- one page load -------------------------------------------------------------------
    async def _open(self, room: str, token: str | None, url: str) -> tuple[Any, dict | None]:
        """A new socket on one of the nodes, ready; (sock, welcome) or (None, None)."""
        from bench.loadgen import Beckon, Sock

        i = next(self.conn_ids)
        node = self.nodes[i % len(self.nodes)]
        sock = Sock("visitor", self.d, self.gen.stats)
        t0 = time.perf_counter()
        counted = self.window_start <= t0 < self.stop
        welcome = None
        try:
            if isinstance(self.d, Beckon):
                welcome = await self.d.idle_visitor(sock, node, i, token, url)
                if welcome.get("type") != "welcome":
                    raise WsError(f"hello refused: {welcome.get('code')}")
            else:
                await self.d.visitor(sock, node, room, i)  # type: ignore[attr-defined]
        except (WsError, TimeoutError, OSError):
            sock.close()
            if counted:
                self.connects_total += 1
                self.connect_failed += 1
            return None, None
        if counted:
            self.connects_total += 1
            self.connect_s.append(time.perf_counter() - t0)
        return sock, welcome

    async def _start_chat(self, sock: Any, room: str) -> tuple[str | None, Any]:
        """Beckon: chat_start until an agent took it → (conversation id, None).
        Peers: an agent socket joins the room on the last node → (room, agent sock)."""
        from bench.loadgen import Beckon, Sock

        if isinstance(self.d, Beckon):
            sock.send_obj({"type": "chat_start", "ref": "cs"})
            try:
                conv = await sock.expect(lambda f: f.get("ref") == "cs", timeout=CHAT_WAIT_S)
                if conv.get("type") != "conversation":
                    return None, None
                if conv.get("status") != "active":
                    await sock.expect(
                        lambda f: f.get("type") == "conversation" and f.get("status") == "active",
                        timeout=CHAT_WAIT_S,
                    )
            except TimeoutError:
                self.chats_unassigned += 1
                sock.send_obj({"type": "close", "conversation_id": conv["id"]})
                return None, None
            return conv["id"], None
        agent = Sock("agent", self.d, self.gen.stats)
        try:
            await self.d.agent(agent, self.nodes[-1], room, next(self.conn_ids))  # type: ignore[attr-defined]
        except (WsError, TimeoutError, OSError):
            self.chats_unassigned += 1
            agent.close()
            return None, None
        return room, agent

    def _send_message(self, sock: Any, room: str) -> None:
        gen = self.gen
        mid = gen.next_id
        gen.next_id += 1
        gen.stats.sched.append(time.perf_counter())
        sock.proto.send(self.d.message(room, mid))

    def _drain(self, sock: Any) -> None:
        while not sock.frames.empty():
            f = sock.frames.get_nowait()
            if isinstance(f, dict) and f.get("type") == "invitation":
                self.invitations += 1

    # -- one visit -----------------------------------------------------------------------
    async def _visit(self, visit: int) -> None:
        chatting = visit % self.chat_every == 0
        room = f"shop{self.gen.shop_conn_offset}-{visit}"
        token: str | None = None
        conv: str | None = None
        agent = None
        sock = None
        try:
            for page_no in range(self.pages):
                if time.perf_counter() >= self.stop:
                    return
                page = PAGES[page_no % len(PAGES)]
                page_start = time.perf_counter()
                sock, welcome = await self._open(room, token, HOST + page)
                if sock is None:
                    await asyncio.sleep(max(0.0, page_start + self.dwell - time.perf_counter()))
                    continue
                if welcome is not None:
                    token = welcome.get("visitor_token") or token
                if chatting and conv is None and page_no >= 1:
                    conv, agent = await self._start_chat(sock, room)
                    if conv is not None:
                        self.chats += 1
                await self._dwell(sock, page, page_start, conv)
                self._drain(sock)
                if page_no == self.pages - 1 or time.perf_counter() >= self.stop:
                    break
                sock.close()
                sock = None
            self.visits_done += 1
        finally:
            if sock is not None:
                if conv is not None and agent is None:
                    sock.send_obj({"type": "close", "conversation_id": conv})
                sock.close()
            if agent is not None:
                agent.close()

    async def _dwell(self, sock: Any, page: str, page_start: float, conv: str | None) -> None:
        end = min(page_start + self.dwell, self.stop)
        gap = self.dwell / (self.events_per_page + 1)
        next_event, k = page_start + gap, 0
        next_msg = page_start + self.message_every if conv else float("inf")
        while True:
            now = time.perf_counter()
            if now >= end or sock.proto.closed.done():
                return
            if k < self.events_per_page and now >= next_event:
                sock.proto.send(_frame(self.d, "", _behaviour(page, k)))
                self.events += 1
                k += 1
                next_event += gap
            if conv is not None and now >= next_msg:
                self._send_message(sock, conv)
                next_msg += self.message_every
            wake = min(end, next_msg, next_event if k < self.events_per_page else end)
            await asyncio.sleep(max(0.001, wake - time.perf_counter()))

    async def _shopper(self, slot: int) -> None:
        # Visitors arrive spread over the first page's dwell, then each visit that ends
        # is followed by the next one.
        await asyncio.sleep(self.dwell * slot / self.visitors)
        while time.perf_counter() < self.stop:
            await self._visit(next(self.visit_ids))

    # -- the step --------------------------------------------------------------------------
    async def run(self, drain_s: float) -> dict[str, Any]:
        cpu0 = time.process_time()
        await asyncio.gather(*(self._shopper(k) for k in range(self.visitors)))
        stats = self.gen.stats
        sent = len(stats.sched)
        deadline = time.perf_counter() + drain_s
        while time.perf_counter() < deadline:
            if len(stats.agent) >= sent:
                break
            await asyncio.sleep(0.01)
        wall = time.perf_counter() - self.began
        self.gen.shop_conn_offset += 100_000
        inf = float("inf")
        connects = self.connect_s + [inf] * self.connect_failed
        lat = list(stats.agent.values()) + [inf] * (sent - len(stats.agent))

        def ms(v: float | None) -> float | None:
            return None if v is None or v == inf else v * 1000

        return {
            "visitors": self.visitors,
            "window_s": self.stop - self.window_start,
            "connects": self.connects_total,
            "connects_failed": self.connect_failed,
            "connects_per_s": self.connects_total / max(1e-9, self.stop - self.window_start),
            "connect_p50_ms": ms(percentile(connects, 0.50)),
            "connect_p99_ms": ms(percentile(connects, 0.99)),
            "messages": sent,
            "delivered": len(stats.agent),
            "message_p50_ms": ms(percentile(lat, 0.50)),
            "message_p99_ms": ms(percentile(lat, 0.99)),
            "events": self.events,
            "invitations": self.invitations,
            "chats": self.chats,
            "chats_unassigned": self.chats_unassigned,
            "visits_done": self.visits_done,
            "errors": dict(stats.errors),
            "gen_cpu": (time.process_time() - cpu0) / max(1e-9, wall),
        }


async def beckon_agents(gen: Generator, c: dict[str, Any]) -> None:
    """Beckon: the agents (online, on the last node) who take the shop's chats; logged
    in once and kept across steps."""
    from bench.loadgen import Beckon, Sock

    d = Beckon(c)
    have = len(gen.shop_agents)
    for i, token in enumerate(c.get("agent_tokens", [])[have:]):
        s = Sock("agent", d, gen.stats)
        await d.agent_login(s, c["nodes"][-1], token, 400_000 + have + i)
        gen.shop_agents.append(s)


async def shop_step(gen: Generator, c: dict[str, Any]) -> dict[str, Any]:
    if c["dialect"] == "beckon":
        await beckon_agents(gen, c)
    day = ShopDay(gen, c)
    r = await day.run(float(c.get("drain", 3.0)))
    # Frames the agents received (conversation offers, messages) are not needed.
    for a in gen.shop_agents:
        while not a.frames.empty():
            a.frames.get_nowait()
    return r
