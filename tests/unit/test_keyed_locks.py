"""`KeyedLocks`: one holder per key at a time, other keys independent, and no entry left
once nobody holds or waits (`server/keyed_locks.py`)."""

from __future__ import annotations

import asyncio

from server.keyed_locks import KeyedLocks
from tests.waiting import settled


async def test_one_holder_per_key_in_arrival_order_and_nothing_kept() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def hold(key: str, name: str, wait: bool = False) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            if wait:
                await release.wait()
            order.append(f"{name}-")

    first = asyncio.create_task(hold("v1", "a", wait=True))
    await settled(lambda: order == ["a+"])
    second = asyncio.create_task(hold("v1", "b"))
    other = asyncio.create_task(hold("v2", "c"))
    await settled(lambda: "c-" in order)
    assert order == ["a+", "c+", "c-"]  # v2 did not wait for v1; b did
    assert len(locks) == 1
    release.set()
    await asyncio.gather(first, second, other)
    assert order == ["a+", "c+", "c-", "a-", "b+", "b-"]
    assert len(locks) == 0


async def test_a_failing_or_cancelled_holder_releases_the_key() -> None:
    locks = KeyedLocks()

    async def fail() -> None:
        async with locks.hold("v"):
            raise ValueError("boom")

    try:
        await fail()
    except ValueError:
        pass
    assert len(locks) == 0
    blocker = asyncio.Event()

    async def blocked() -> None:
        async with locks.hold("v"):
            await blocker.wait()

    holder = asyncio.create_task(blocked())
    await settled(lambda: len(locks) == 1)
    waiter = asyncio.create_task(blocked())
    await settled(lambda: True)
    waiter.cancel()  # cancelled while waiting
    holder.cancel()
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert len(locks) == 0
    async with locks.hold("v"):
        pass
