"""Proactive._refresh_online: a node keeps its visitors in their site's online group with
one presence_set_many per site and chunk, never one command per visitor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import SimpleNamespace

import pytest

from server.broker.memory_broker import MemoryBroker
from server.chat import proactive
from server.chat.proactive import Proactive, online_group
from tests.broker.helpers import FakeClock


class RecordingBroker(MemoryBroker):
    """Records each presence call; `rounds` is set once `expected` bulk calls were made."""

    def __init__(self, expected: int) -> None:
        super().__init__(prefix="t:", clock=FakeClock())  # members never expire here
        self.bulk: list[tuple[str, list[str], float]] = []
        self.single = 0
        self.expected = expected
        self.rounds = asyncio.Event()

    async def presence_set_many(
        self, group: str, members: Mapping[str, bytes], ttl_s: float
    ) -> None:
        await super().presence_set_many(group, members, ttl_s)
        self.bulk.append((group, list(members), ttl_s))
        if len(self.bulk) >= self.expected:
            self.rounds.set()

    async def presence_set(self, group: str, member: str, value: bytes, ttl_s: float) -> None:
        self.single += 1
        await super().presence_set(group, member, value, ttl_s)


async def test_each_site_is_refreshed_in_chunks_of_one_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(proactive, "ONLINE_TTL_S", 0.03)  # a round every 10 ms
    monkeypatch.setattr(proactive, "REFRESH_CHUNK", 2)
    shop, blog = {"id": "st_shop"}, {"id": "st_blog"}
    local = {"vi_1": shop, "vi_2": blog, "vi_3": shop, "vi_4": shop}
    broker = RecordingBroker(expected=3)  # the first round: shop in two chunks, blog in one
    await broker.start()
    node = SimpleNamespace(local=local, broker=broker)
    refresher = asyncio.create_task(Proactive._refresh_online(node))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(5):
            await broker.rounds.wait()
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
    assert sorted(broker.bulk[:3]) == [
        (online_group("st_blog"), ["vi_2"], 0.03),
        (online_group("st_shop"), ["vi_1", "vi_3"], 0.03),
        (online_group("st_shop"), ["vi_4"], 0.03),
    ]
    assert broker.single == 0
    assert await broker.presence_members(online_group("st_shop")) == dict.fromkeys(
        ["vi_1", "vi_3", "vi_4"], b"1"
    )
    await broker.close()
