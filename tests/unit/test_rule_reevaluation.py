"""server/chat/rule_reevaluation.py: a rules change looks again at the site's visitors on
this node (only that site's), one failing visitor does not stop the pass, and changes
during a pass bring exactly one more pass; the announced cache tells its listeners."""

from __future__ import annotations

import asyncio

import pytest

from server.announced_cache import AnnouncedCache
from server.chat.rule_reevaluation import RuleChangeReevaluator
from tests.waiting import next_loop_turn


class FakeEngine:
    def __init__(self) -> None:
        self.local = {"v1": {"id": "st_a"}, "v2": {"id": "st_b"}, "v3": {"id": "st_a"}}
        self.seen: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def reevaluate(self, visitor_id: str) -> None:
        await self.gate.wait()
        self.seen.append(visitor_id)
        if visitor_id == "v1":
            raise RuntimeError("broker down for this one")


@pytest.mark.asyncio
async def test_a_pass_per_change_coalesced_and_only_the_sites_visitors() -> None:
    engine = FakeEngine()
    again = RuleChangeReevaluator(engine)
    engine.gate.clear()
    again.rules_changed("st_a")
    await next_loop_turn()  # the pass starts and waits at the gate
    again.rules_changed("st_a")  # during the pass: one more pass
    again.rules_changed("st_a")  # … not two more
    engine.gate.set()
    await asyncio.gather(*again._running.values())
    assert engine.seen == ["v1", "v3", "v1", "v3"]
    assert again._running == {}
    await again.close()


@pytest.mark.asyncio
async def test_the_cache_tells_its_listeners_of_each_change() -> None:
    async def load(key: str) -> str:
        return key

    cache: AnnouncedCache[str] = AnnouncedCache("test", load)
    heard: list[str] = []
    cache.listeners.append(heard.append)
    cache.listeners.append(lambda key: 1 / 0)  # a broken listener is logged, not raised
    cache.invalidate("st_a")
    assert heard == ["st_a"]
