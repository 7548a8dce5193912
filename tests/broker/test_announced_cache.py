"""AnnouncedCache: loads once, drops an entry on every node when a change is announced,
never keeps a load that overlapped an announcement, never keeps `None`, stays bounded."""

from __future__ import annotations

import asyncio

from server.announced_cache import AnnouncedCache
from tests.broker.helpers import wait_until
from tests.waiting import settled


class Source:
    """The "database": a value per key and a count of loads."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {}
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self, key: str) -> str | None:
        self.loads += 1
        value = self.values.get(key)
        if self.gate is not None:
            await self.gate.wait()
        return value


async def test_cached_until_announced_on_another_node(broker) -> None:  # type: ignore[no-untyped-def]
    source = Source()
    source.values["k"] = "v1"
    here, there = (
        AnnouncedCache("test-changed", source.load),
        AnnouncedCache("test-changed", source.load),
    )
    await here.follow(broker)
    await there.follow(broker)
    try:
        assert await there.get("k") == "v1"
        assert await there.get("k") == "v1"
        assert source.loads == 1
        source.values["k"] = "v2"
        await here.announce(broker, "k")  # the node that stored the change

        async def dropped() -> bool:
            return "k" not in there._entries

        await wait_until(dropped, what="the other node dropped its entry")
        assert await there.get("k") == "v2"
    finally:
        await here.close()
        await there.close()


async def test_a_load_overlapping_a_change_is_not_kept() -> None:
    source = Source()
    source.values["k"] = "old"
    cache: AnnouncedCache[str | None] = AnnouncedCache("test-changed", source.load)
    source.gate = asyncio.Event()
    reading = asyncio.create_task(cache.get("k"))
    await settled(lambda: source.loads == 1)  # the read has started (and saw "old")
    source.values["k"] = "new"
    cache.invalidate("k")
    source.gate.set()
    assert await reading == "old"  # used by that caller once...
    source.gate = None
    assert await cache.get("k") == "new"  # ...but not kept


async def test_not_found_is_never_kept_and_the_cache_is_bounded() -> None:
    source = Source()
    cache: AnnouncedCache[str | None] = AnnouncedCache("test-changed", source.load, max_entries=3)
    for _ in range(3):
        assert await cache.get("missing") is None
    assert source.loads == 3
    for key in "abcde":
        source.values[key] = key.upper()
        assert await cache.get(key) == key.upper()
    assert len(cache._entries) == 3
    assert set(cache._entries) == {"c", "d", "e"}


async def test_concurrent_misses_share_one_load_and_a_change_starts_a_new_one() -> None:
    source = Source()
    source.values["k"] = "old"
    cache: AnnouncedCache[str | None] = AnnouncedCache("test-changed", source.load)
    source.gate = asyncio.Event()
    first = [asyncio.create_task(cache.get("k")) for _ in range(50)]
    await settled(lambda: source.loads >= 1)
    assert source.loads == 1  # 50 page loads, one read
    source.values["k"] = "new"
    cache.invalidate("k")  # the first load may have read "old": not joined from now on
    second = asyncio.create_task(cache.get("k"))
    await settled(lambda: source.loads >= 2)
    assert source.loads == 2
    source.gate.set()
    assert set(await asyncio.gather(*first)) == {"old"}
    assert await second == "new"
    assert await cache.get("k") == "new" and source.loads == 2  # the new one was kept
