"""Conformance: the routing scripts, same literal inputs and outputs on both backends."""

from __future__ import annotations

import asyncio

import pytest

from server.broker import ScriptError

# --- claim_member: KEYS queue, load; ARGV agent, capacity, member -------------------


async def test_claim_member_takes_a_named_chat_within_capacity(broker):
    await broker.run_script("queue_push", ["{r}q"], ["c1", 1])
    await broker.run_script("queue_push", ["{r}q"], ["c2", 2])
    assert await broker.run_script("claim_member", ["{r}q", "{r}load"], ["ana", 1, "c2"]) == 1
    assert await broker.run_script("queue_position", ["{r}q"], ["c1"]) == 1
    assert await broker.run_script("queue_position", ["{r}q"], ["c2"]) is None
    # At capacity: refused, nothing moves.
    assert await broker.run_script("claim_member", ["{r}q", "{r}load"], ["ana", 1, "c1"]) == -1
    assert await broker.run_script("queue_position", ["{r}q"], ["c1"]) == 1
    # Not in the queue (already taken): 0.
    assert await broker.run_script("claim_member", ["{r}q", "{r}load"], ["ben", 1, "c2"]) == 0
    assert await broker.run_script("hash_all", ["{r}load"], []) == [b"ana", b"1"]


async def test_claim_member_rejects_a_bad_capacity(broker):
    with pytest.raises(ScriptError, match="claim_member: capacity must be an integer >= 0"):
        await broker.run_script("claim_member", ["{r}q", "{r}load"], ["ana", -1, "c1"])


async def test_concurrent_claims_of_one_chat_have_one_winner(broker):
    await broker.run_script("queue_push", ["{r}q"], ["hot", 1])
    results = await asyncio.gather(
        *(
            broker.run_script("claim_member", ["{r}q", "{r}load"], [f"agent{i}", 2, "hot"])
            for i in range(50)
        )
    )
    assert sorted(results) == [0] * 49 + [1]


# --- take_slot / hash_all / hash_set / counter_get -------------------------------------


async def test_take_slot_counts_up_to_capacity(broker):
    results = [await broker.run_script("take_slot", ["{r}load"], ["ana", 2]) for _ in range(3)]
    assert results == [1, 2, -1]
    assert await broker.run_script("release_load", ["{r}load"], ["ana"]) == 1


async def test_hash_set_and_hash_all(broker):
    assert await broker.run_script("hash_all", ["h"], []) == []
    assert await broker.run_script("hash_set", ["h"], ["a", 3]) == 3
    assert await broker.run_script("hash_set", ["h"], ["b", 1]) == 1
    assert sorted(await broker.run_script("hash_all", ["h"], [])) == sorted(
        [b"a", b"3", b"b", b"1"]
    )
    assert await broker.run_script("hash_set", ["h"], ["a", 0]) == 0
    assert await broker.run_script("hash_all", ["h"], []) == [b"b", b"1"]
    with pytest.raises(ScriptError, match="hash_set: value must be an integer >= 0"):
        await broker.run_script("hash_set", ["h"], ["a", -2])


async def test_counter_get(broker):
    assert await broker.run_script("counter_get", ["n"], []) == 0
    await broker.run_script("incr_capped", ["n"], [10, 0, 4])
    assert await broker.run_script("counter_get", ["n"], []) == 4
    await broker.run_script("decr_floor", ["n"], [1])
    assert await broker.run_script("counter_get", ["n"], []) == 3
