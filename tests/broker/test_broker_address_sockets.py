"""Conformance: the open sockets of one client address, counted across nodes
(`address_sockets_take` / `_release` / `_renew`)."""

from __future__ import annotations

import asyncio

import pytest

from server.broker.base import ScriptError

KEYS = ["addr:{1.2.3.4}:expiry", "addr:{1.2.3.4}:sockets"]


async def _take(broker, node: str, limit: int = 3, ttl_ms: int = 30_000) -> int:
    return await broker.run_script("address_sockets_take", KEYS, [node, limit, ttl_ms])


async def test_the_limit_counts_every_node(broker) -> None:
    assert [await _take(broker, "a") for _ in range(2)] == [1, 2]
    assert await _take(broker, "b") == 3
    assert await _take(broker, "b") == -1  # nothing changes past the limit
    assert await broker.run_script("address_sockets_release", KEYS, ["a"]) == 1
    assert await _take(broker, "b") == 3
    assert await broker.run_script("address_sockets_release", KEYS, ["b"]) == 1
    assert await broker.run_script("address_sockets_release", KEYS, ["b"]) == 0
    assert await broker.run_script("address_sockets_release", KEYS, ["b"]) == 0  # floor


async def test_concurrent_takes_never_pass_the_limit(broker) -> None:
    results = await asyncio.gather(*(_take(broker, f"n{i % 3}", limit=10) for i in range(40)))
    assert sorted(r for r in results if r != -1) == list(range(1, 11))
    assert results.count(-1) == 30


async def test_a_node_that_stops_renewing_is_forgotten(broker, expiry, probe) -> None:
    await _take(broker, "dead", limit=2, ttl_ms=200)
    await _take(broker, "live", limit=2, ttl_ms=30_000)
    assert await _take(broker, "live", limit=2) == -1
    assert await broker.run_script("address_sockets_renew", KEYS, ["live", 30_000]) == 1
    assert await broker.run_script("address_sockets_renew", KEYS, ["nobody", 30_000]) == 0

    async def dead_forgotten() -> bool:
        return await _take(broker, "live", limit=2) == 2

    await expiry.after(0.25, dead_forgotten)


async def test_keys_expire_with_the_last_node(broker, expiry, probe) -> None:
    await _take(broker, "a", ttl_ms=200)
    assert await probe.keys() == set(KEYS)

    async def gone() -> bool:
        return await probe.keys() == set()

    await expiry.after(0.25, gone)


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        (
            "address_sockets_take",
            ["a", -1, 10],
            "address_sockets_take: limit must be an integer >= 0",
        ),
        (
            "address_sockets_take",
            ["a", 1, 0],
            "address_sockets_take: ttl_ms must be an integer >= 1",
        ),
        (
            "address_sockets_renew",
            ["a", "x"],
            "address_sockets_renew: ttl_ms must be an integer >= 1",
        ),
    ],
)
async def test_bad_arguments(broker, script: str, args: list, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        await broker.run_script(script, KEYS, args)
