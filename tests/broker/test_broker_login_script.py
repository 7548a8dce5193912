"""Conformance: login_attempt (the sign-in limiter), same literal results on both backends."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from server.broker import ScriptError

# One hash tag, as server/login_limit.py gives them: a Redis Cluster script needs one slot.
KEYS = ["{login}acct", "{login}addr"]


async def test_login_attempt_counts_both_until_either_limit(broker, probe):
    results = [await broker.run_script("login_attempt", KEYS, [3, 5, 60_000]) for _ in range(5)]
    assert results[:3] == [0, 0, 0]
    # The account is full: the answer is how long until its window ends, nothing counted.
    assert all(0 < wait <= 60_000 for wait in results[3:])
    assert await broker.run_script("counter_get", [KEYS[0]], []) == 3
    assert await broker.run_script("counter_get", [KEYS[1]], []) == 3
    assert 0 < await probe.pttl(KEYS[0]) <= 60_000
    assert 0 < await probe.pttl(KEYS[1]) <= 60_000


async def test_login_attempt_a_full_address_refuses_a_fresh_account(broker):
    for account in ("{login}a", "{login}b"):
        assert await broker.run_script("login_attempt", [account, KEYS[1]], [10, 2, 60_000]) == 0
    wait = await broker.run_script("login_attempt", ["{login}c", KEYS[1]], [10, 2, 60_000])
    assert 0 < wait <= 60_000
    assert await broker.run_script("counter_get", ["{login}c"], []) == 0  # nothing written


async def test_login_attempt_a_given_back_slot_is_free_again(broker):
    for _ in range(2):
        assert await broker.run_script("login_attempt", KEYS, [2, 2, 60_000]) == 0
    assert await broker.run_script("login_attempt", KEYS, [2, 2, 60_000]) > 0
    for key in KEYS:  # what a successful sign-in does
        assert await broker.run_script("decr_floor", [key], [1]) == 1
    assert await broker.run_script("login_attempt", KEYS, [2, 2, 60_000]) == 0


async def test_login_attempt_window_is_fixed_from_the_first_attempt(broker, probe, expiry):
    assert await broker.run_script("login_attempt", KEYS, [1, 1, 200]) == 0
    assert await broker.run_script("login_attempt", KEYS, [1, 1, 200]) > 0

    async def window_over() -> bool:
        return await probe.pttl(KEYS[0]) == -2

    await expiry.after(0.25, window_over)
    assert await broker.run_script("login_attempt", KEYS, [1, 1, 200]) == 0


async def test_concurrent_attempts_from_two_nodes_never_pass_the_limit(broker, second_node):
    nodes = itertools.cycle([broker, second_node])
    results = await asyncio.gather(
        *(next(nodes).run_script("login_attempt", KEYS, [10, 100, 60_000]) for _ in range(60))
    )
    assert results.count(0) == 10
    assert await broker.run_script("counter_get", [KEYS[0]], []) == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([0, 1, 1000], "login_attempt: account_limit must be an integer >= 1"),
        (["x", 1, 1000], "login_attempt: account_limit must be an integer >= 1"),
        ([1, 1.5, 1000], "login_attempt: address_limit must be an integer >= 1"),
        ([1, 1, 0], "login_attempt: window_ms must be an integer >= 1"),
        ([1, 1, b""], "login_attempt: window_ms must be an integer >= 1"),
    ],
)
async def test_login_attempt_rejects_bad_arguments(broker, args, message):
    with pytest.raises(ScriptError, match=rf"^{message}$"):
        await broker.run_script("login_attempt", KEYS, args)
