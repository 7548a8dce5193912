"""Conformance: every atomic script, same literal inputs and outputs on both backends."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from server.broker import ScriptError

# --- incr_capped: KEYS counter; ARGV limit, ttl_ms, amount -------------------------


async def test_incr_capped_counts_up_to_the_limit_and_no_further(broker):
    results = [await broker.run_script("incr_capped", ["hits"], [3, 0, 1]) for _ in range(5)]
    assert results == [1, 2, 3, -1, -1]
    # The refused calls changed nothing: with a higher limit it continues from 3.
    assert await broker.run_script("incr_capped", ["hits"], [10, 0, 1]) == 4


async def test_incr_capped_refuses_an_amount_that_would_overshoot(broker):
    assert await broker.run_script("incr_capped", ["c"], [5, 0, 4]) == 4
    assert await broker.run_script("incr_capped", ["c"], [5, 0, 2]) == -1
    assert await broker.run_script("incr_capped", ["c"], [5, 0, 1]) == 5
    assert await broker.run_script("incr_capped", ["zero"], [0, 0, 1]) == -1


async def test_incr_capped_ttl_is_a_fixed_window_from_creation(broker, probe, expiry):
    assert await broker.run_script("incr_capped", ["w"], [100, 10_000, 1]) == 1
    assert 9_000 < await probe.pttl("w") <= 10_000
    # Later increments keep the window: the TTL is not pushed out.
    assert await broker.run_script("incr_capped", ["w"], [100, 60_000, 1]) == 2
    assert await probe.pttl("w") <= 10_000
    # ttl_ms 0 means no expiry.
    await broker.run_script("incr_capped", ["forever"], [100, 0, 1])
    assert await probe.pttl("forever") == -1

    await broker.run_script("incr_capped", ["short"], [100, 200, 1])

    async def window_restarted() -> bool:
        return await probe.pttl("short") == -2

    await expiry.after(0.25, window_restarted)
    assert await broker.run_script("incr_capped", ["short"], [100, 200, 1]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([-1, 0, 1], "incr_capped: limit must be an integer >= 0"),
        (["ten", 0, 1], "incr_capped: limit must be an integer >= 0"),
        ([1.5, 0, 1], "incr_capped: limit must be an integer >= 0"),
        ([10, -5, 1], "incr_capped: ttl_ms must be an integer >= 0"),
        ([10, 0, 0], "incr_capped: amount must be an integer >= 1"),
        ([10, 0, b""], "incr_capped: amount must be an integer >= 1"),
    ],
)
async def test_incr_capped_rejects_bad_arguments(broker, args, message):
    with pytest.raises(ScriptError, match=rf"^{message}$"):
        await broker.run_script("incr_capped", ["c"], args)


async def test_incr_capped_accepts_numbers_as_text(broker):
    assert await broker.run_script("incr_capped", ["c"], ["3", b"0", "2.0"]) == 2


# --- decr_floor: KEYS counter; ARGV amount -----------------------------------------


async def test_decr_floor_never_goes_below_zero_and_keeps_the_ttl(broker, probe):
    assert await broker.run_script("incr_capped", ["c"], [100, 60_000, 5]) == 5
    assert await broker.run_script("decr_floor", ["c"], [2]) == 3
    assert await broker.run_script("decr_floor", ["c"], [10]) == 0
    assert await broker.run_script("decr_floor", ["c"], [1]) == 0
    assert 0 < await probe.pttl("c") <= 60_000
    assert await broker.run_script("incr_capped", ["c"], [100, 0, 1]) == 1


async def test_decr_floor_on_a_missing_counter_creates_nothing(broker, probe):
    assert await broker.run_script("decr_floor", ["missing"], [3]) == 0
    assert await probe.keys() == set()


async def test_decr_floor_rejects_a_non_positive_amount(broker):
    with pytest.raises(ScriptError, match=r"^decr_floor: amount must be an integer >= 1$"):
        await broker.run_script("decr_floor", ["c"], [0])


# --- queue_push / queue_remove / queue_position: KEYS queue; ARGV member [, score] ----


async def test_queue_orders_by_score_then_member(broker):
    assert await broker.run_script("queue_push", ["{r}q"], ["conv-b", 200]) == 1
    assert await broker.run_script("queue_push", ["{r}q"], ["conv-a", 100]) == 1
    assert await broker.run_script("queue_push", ["{r}q"], ["conv-c", 200]) == 3
    assert await broker.run_script("queue_push", ["{r}q"], ["conv-0", 200.0]) == 2
    assert await broker.run_script("queue_push", ["{r}q"], ["conv-z", -1.5]) == 1
    positions = [
        await broker.run_script("queue_position", ["{r}q"], [member])
        for member in ["conv-z", "conv-a", "conv-0", "conv-b", "conv-c", "absent"]
    ]
    assert positions == [1, 2, 3, 4, 5, None]


async def test_queue_push_twice_keeps_the_first_position(broker):
    await broker.run_script("queue_push", ["{r}q"], ["first", 1])
    await broker.run_script("queue_push", ["{r}q"], ["second", 2])
    assert await broker.run_script("queue_push", ["{r}q"], ["first", 99]) == 1


async def test_queue_remove_and_positions_shift(broker, probe):
    for index, member in enumerate(["a", "b", "c"]):
        await broker.run_script("queue_push", ["{r}q"], [member, index])
    assert await broker.run_script("queue_remove", ["{r}q"], ["b"]) == 1
    assert await broker.run_script("queue_remove", ["{r}q"], ["b"]) == 0
    assert await broker.run_script("queue_position", ["{r}q"], ["c"]) == 2
    await broker.run_script("queue_remove", ["{r}q"], ["a"])
    await broker.run_script("queue_remove", ["{r}q"], ["c"])
    assert await probe.keys() == set()  # an emptied queue disappears
    assert await broker.run_script("queue_position", ["{r}q"], ["a"]) is None


async def test_queue_push_rejects_a_non_numeric_score(broker):
    with pytest.raises(ScriptError, match=r"^queue_push: score must be a number$"):
        await broker.run_script("queue_push", ["{r}q"], ["m", "soon"])


async def test_queue_members_are_bytes_and_round_trip(broker):
    member = "conv-\u00e9\u2603".encode()
    await broker.run_script("queue_push", ["{r}q"], [member, 1])
    assert await broker.run_script("claim_from_queue", ["{r}q", "{r}load"], ["ag", 1]) == member


# --- claim_from_queue: KEYS queue, load; ARGV agent, capacity / release_load --------


async def test_claim_takes_the_head_and_counts_the_agent_load(broker):
    for index, member in enumerate(["c1", "c2", "c3"]):
        await broker.run_script("queue_push", ["{r}q"], [member, index])
    claim = ("claim_from_queue", ["{r}q", "{r}load"])
    assert await broker.run_script(*claim, ["ana", 2]) == b"c1"
    assert await broker.run_script(*claim, ["ana", 2]) == b"c2"
    assert await broker.run_script(*claim, ["ana", 2]) is None  # at capacity
    assert await broker.run_script("queue_position", ["{r}q"], ["c3"]) == 1  # untouched
    assert await broker.run_script(*claim, ["bo", 1]) == b"c3"
    assert await broker.run_script(*claim, ["bo", 5]) is None  # queue empty


async def test_claim_with_zero_capacity_or_empty_queue_changes_nothing(broker, probe):
    assert await broker.run_script("claim_from_queue", ["{r}q", "{r}load"], ["ana", 3]) is None
    assert await probe.keys() == set()
    await broker.run_script("queue_push", ["{r}q"], ["c1", 1])
    assert await broker.run_script("claim_from_queue", ["{r}q", "{r}load"], ["ana", 0]) is None
    assert await probe.keys() == {"{r}q"}


async def test_release_load_frees_capacity_and_never_goes_negative(broker, probe):
    for index in range(3):
        await broker.run_script("queue_push", ["{r}q"], [f"c{index}", index])
    claim = ("claim_from_queue", ["{r}q", "{r}load"])
    assert await broker.run_script(*claim, ["ana", 1]) == b"c0"
    assert await broker.run_script(*claim, ["ana", 1]) is None
    assert await broker.run_script("release_load", ["{r}load"], ["ana"]) == 0
    assert await broker.run_script(*claim, ["ana", 1]) == b"c1"
    assert await broker.run_script(*claim, ["bo", 3]) == b"c2"
    assert await broker.run_script("release_load", ["{r}load"], ["ana"]) == 0
    assert await broker.run_script("release_load", ["{r}load"], ["ana"]) == 0
    assert await probe.keys() == {"{r}load"}  # bo still holds one chat
    assert await broker.run_script("release_load", ["{r}load"], ["bo"]) == 0
    assert await probe.keys() == set()


async def test_claim_rejects_a_bad_capacity(broker):
    with pytest.raises(ScriptError, match=r"^claim_from_queue: capacity must be an integer >= 0$"):
        await broker.run_script("claim_from_queue", ["{r}q", "{r}load"], ["ana", -1])


async def test_concurrent_claims_from_two_nodes_never_exceed_capacity(broker, second_node):
    queued = [f"conv-{index:03d}" for index in range(300)]
    for index, member in enumerate(queued):
        await broker.run_script("queue_push", ["{r}q"], [member, index])
    capacities = {"ana": 40, "bo": 25, "cy": 60}
    nodes = itertools.cycle([broker, second_node])
    agents = itertools.cycle(capacities)

    async def claim(node, agent):
        member = await node.run_script(
            "claim_from_queue", ["{r}q", "{r}load"], [agent, capacities[agent]]
        )
        return agent, member

    results = await asyncio.gather(*(claim(next(nodes), next(agents)) for _ in range(500)))
    claimed = [(agent, member) for agent, member in results if member is not None]
    members = [member.decode() for _, member in claimed]
    assert len(members) == len(set(members)) == sum(capacities.values())  # no double hand-out
    assert sorted(members) == queued[:125]  # always the head of the queue
    per_agent = {agent: sum(1 for a, _ in claimed if a == agent) for agent in capacities}
    assert per_agent == capacities
    assert await broker.run_script("queue_position", ["{r}q"], ["conv-125"]) == 1


# --- run_script misuse ----------------------------------------------------------------


async def test_unknown_script_is_a_key_error(broker):
    with pytest.raises(KeyError, match=r"unknown broker script 'drop_everything'"):
        await broker.run_script("drop_everything", [], [])


async def test_wrong_arity_is_a_value_error(broker):
    message = r"^script 'queue_push' takes 1 KEYS and 2 ARGV, got 1 and 1$"
    with pytest.raises(ValueError, match=message):
        await broker.run_script("queue_push", ["{r}q"], ["m"])


async def test_a_script_with_repeated_arguments_checks_its_named_ones(broker):
    keys = ["presence:{g}:expiry", "presence:{g}:values"]
    message = r"^script 'presence_set_many' takes 2 KEYS and at least 1 ARGV, got 2 and 0$"
    with pytest.raises(ValueError, match=message):
        await broker.run_script("presence_set_many", keys, [])
    with pytest.raises(ScriptError, match="members and values must come in pairs"):
        await broker.run_script("presence_set_many", keys, [1000, "member-without-value"])


@pytest.mark.parametrize("bad", [None, True, ["list"], {"a": 1}])
async def test_script_arguments_must_be_str_int_float_or_bytes(broker, bad):
    with pytest.raises(TypeError, match=r"^script argument 1 must be str, int, float or bytes"):
        await broker.run_script("queue_push", ["{r}q"], ["m", bad])


async def test_script_keys_are_prefixed(broker, probe):
    await broker.run_script("queue_push", ["queue:sales"], ["m", 1])
    assert await probe.keys() == {"queue:sales"}
