"""Many live visitors of one site, written to the Broker the way a visitor node writes
them: each visitor's live state (`vstate:<id>`), its entry in the site's online
presence group, and a `visitor` / `visitor_left` event on the site's watch channel.

For the console's UI bench and its browser test: thousands of visitors without
thousands of sockets on a 2-core machine. The server under test is not changed or
faked: to it this is one more node. Deterministic for a seed; every loop bounded.

    load = LiveVisitors(broker, site_id, count=3000, seed=1)
    await load.arrive()          # everyone on the site, one watch event each
    await load.step(0.05, now)   # 5 % of them change page or cart
    await load.leave(ids)
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from typing import Any

from invitations import VisitorFacts
from server.broker.base import Broker
from server.broker.envelope import encode_envelope
from server.chat import visitor_state
from server.chat.proactive import ONLINE_TTL_S, online_group, visitor_summary, watch_channel
from server.chat.visitor_state import VisitorState

PAGES = [
    ("/", "Home"),
    ("/shoes", "Shoes"),
    ("/shoes/blue-runner", "Blue Runner"),
    ("/bags", "Bags"),
    ("/sale", "Sale"),
    ("/cart", "Your cart"),
    ("/checkout", "Checkout"),
    ("/help/shipping", "Shipping"),
]
COUNTRIES = ["DE", "FR", "GB", "US", "ES", "IT", "NL", "PL", "BR", "JP"]
DEVICES = ["desktop", "mobile", "tablet"]
LANGS = ["en", "de", "fr", "es", "pt-br", "it", "nl", "pl", "ja"]
FIRST = ["Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea"]
LAST = ["Meyer", "Ng", "Ortiz", "Patel", "Quinn", "Rossi", "Sato", "Tan", "Ueda", "Vogel"]
BATCH = 500  # Broker writes in flight at once (the Redis pipeline sends them together)
ORIGIN = "https://shop.example.com"


class LiveVisitors:
    def __init__(self, broker: Broker, site_id: str, count: int, seed: int = 1) -> None:
        self.broker = broker
        self.site_id = site_id
        self.rng = random.Random(seed)
        self.node_id = "load-" + secrets.token_hex(4)
        self.states: dict[str, VisitorState] = {}
        self.count = count

    def _facts(self, i: int, now: float) -> VisitorFacts:
        rng = self.rng
        path, title = PAGES[rng.randrange(len(PAGES))]
        named = rng.random() < 0.3
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}" if named else None
        carted = rng.random() < 0.4
        return VisitorFacts(
            visitor_id=f"vi_load{i:06d}",
            page_url=f"{ORIGIN}{path}",
            page_path=path,
            page_title=title,
            page_started=now - rng.uniform(0, 300),
            visit_started=now - rng.uniform(0, 3600),
            visit_page_views=rng.randint(1, 30),
            visits=rng.choice([1, 1, 1, 2, 3, 7]),
            lang_tag=rng.choice(LANGS),
            device=rng.choice(DEVICES),
            name=name,
            email=f"{name.split()[0].lower()}{i}@example.com" if named and name else None,
            identified=named,
            country=rng.choice(COUNTRIES),
            cart_value=round(rng.uniform(5, 500), 2) if carted else None,
            cart_currency="EUR" if carted else None,
            cart_items=rng.randint(1, 6) if carted else None,
        )

    async def arrive(self, now: float | None = None) -> list[str]:
        """Every visitor on the site (state, presence, one `visitor` event each)."""
        now = time.time() if now is None else now
        for i in range(self.count):
            facts = self._facts(i, now)
            self.states[facts.visitor_id] = VisitorState(facts)
        await self._write(list(self.states), now, presence=True)
        return list(self.states)

    async def step(self, fraction: float, now: float | None = None) -> list[str]:
        """A `fraction` of the visitors view another page or change their cart."""
        now = time.time() if now is None else now
        ids = list(self.states)
        moved = self.rng.sample(ids, max(1, int(len(ids) * fraction))) if ids else []
        for vid in moved:
            state = self.states[vid]
            f = state.facts
            if self.rng.random() < 0.7:
                path, title = PAGES[self.rng.randrange(len(PAGES))]
                f = f._replace(
                    page_url=f"{ORIGIN}{path}",
                    page_path=path,
                    page_title=title,
                    page_started=now,
                    visit_page_views=f.visit_page_views + 1,
                )
            else:
                f = f._replace(
                    cart_value=round(self.rng.uniform(5, 500), 2),
                    cart_currency="EUR",
                    cart_items=self.rng.randint(1, 6),
                )
            state.facts = f
        await self._write(moved, now, presence=False)
        return moved

    async def touch(self, visitor_id: str, **facts: Any) -> None:
        """Change one visitor's facts (e.g. `cart_value=999.0`) and announce it."""
        state = self.states[visitor_id]
        if "cart_value" in facts:
            facts.setdefault("cart_currency", "EUR")
            facts.setdefault("cart_items", 1)
        state.facts = state.facts._replace(**facts)
        await self._write([visitor_id], time.time(), presence=False)

    async def refresh_presence(self) -> None:
        """What a node's refresher does (the online group's TTL is 90 s)."""
        await self._batched(
            self.broker.presence_set(online_group(self.site_id), vid, b"1", ONLINE_TTL_S)
            for vid in list(self.states)
        )

    async def leave(self, ids: list[str]) -> None:
        for vid in ids:
            self.states.pop(vid, None)
        await self._batched(
            self.broker.presence_remove(online_group(self.site_id), vid) for vid in ids
        )
        await self._batched(
            self._publish(
                "visitor_left",
                {"type": "visitor_left", "site_id": self.site_id, "visitor_id": vid},
            )
            for vid in ids
        )

    async def _write(self, ids: list[str], now: float, presence: bool) -> None:
        await self._batched(visitor_state.save(self.broker, self.states[v]) for v in ids)
        if presence:
            await self._batched(
                self.broker.presence_set(online_group(self.site_id), v, b"1", ONLINE_TTL_S)
                for v in ids
            )
        await self._batched(
            self._publish(
                "visitor",
                {
                    "type": "visitor",
                    "site_id": self.site_id,
                    "visitor": visitor_summary(self.states[v], now),
                },
            )
            for v in ids
        )

    async def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        data = encode_envelope(kind, self.node_id, payload)
        await self.broker.publish(watch_channel(self.site_id), data)

    @staticmethod
    async def _batched(coros: Any) -> None:
        pending: list[Any] = []
        for coro in coros:
            pending.append(coro)
            if len(pending) >= BATCH:
                await asyncio.gather(*pending)
                pending = []
        if pending:
            await asyncio.gather(*pending)
