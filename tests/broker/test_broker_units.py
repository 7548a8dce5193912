"""Pure pieces of the broker: local fan-out bookkeeping, backoff, script registry."""

from __future__ import annotations

import logging

import pytest

from server.broker.arguments import encode_script_args, presence_keys, ttl_to_ms
from server.broker.backoff import Backoff
from server.broker.fanout import LocalFanout
from server.broker.lua_scripts import load_lua_scripts
from server.broker.memory_scripts import SCRIPTS, lua_tonumber


def test_fanout_refcounts_per_channel():
    fanout = LocalFanout()
    first, is_first = fanout.add("c", print)
    second, is_first_again = fanout.add("c", print)
    assert (is_first, is_first_again) == (True, False)
    assert fanout.remove("c", first) is False
    assert fanout.remove("c", first) is False  # twice: harmless
    assert fanout.remove("c", second) is True  # the last one
    assert not fanout.has("c")
    assert fanout.channels() == []


def test_fanout_dispatch_isolates_failures_and_filters_tokens(caplog):
    fanout = LocalFanout()
    calls: list[tuple[str, str, bytes]] = []

    def boom(channel: str, data: bytes) -> None:
        raise ValueError("bad handler")

    a, _ = fanout.add("c", lambda ch, d: calls.append(("a", ch, d)))
    fanout.add("c", boom)
    fanout.add("c", lambda ch, d: calls.append(("b", ch, d)))
    with caplog.at_level(logging.ERROR):
        assert fanout.dispatch("c", b"x") == 3
    assert calls == [("a", "c", b"x"), ("b", "c", b"x")]
    assert "failed on channel 'c'" in caplog.text
    calls.clear()
    assert fanout.dispatch("c", b"y", only={a}) == 1
    assert calls == [("a", "c", b"y")]
    assert fanout.dispatch("nobody", b"z") == 0


def test_backoff_doubles_to_the_cap_with_jitter():
    backoff = Backoff(0.05, 2.0)
    nominal = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    for expected in nominal:
        assert expected / 2 <= backoff.next_delay() <= expected
    backoff.reset()
    assert backoff.next_delay() <= 0.05
    with pytest.raises(ValueError, match=r"^need 0 < base_s <= cap_s, got 3 and 2$"):
        Backoff(3, 2)


def test_every_lua_script_has_a_memory_twin_and_a_header():
    lua = load_lua_scripts()
    assert set(lua) == set(SCRIPTS)
    arity = {name: (script.key_count, script.arg_count) for name, script in lua.items()}
    assert arity == {
        "incr_capped": (1, 3),
        "decr_floor": (1, 1),
        "queue_push": (1, 2),
        "queue_remove": (1, 1),
        "queue_position": (1, 1),
        "claim_from_queue": (2, 2),
        "release_load": (1, 1),
        "presence_set": (2, 3),
        "presence_set_many": (2, 1),
        "presence_remove": (2, 1),
        "presence_members": (2, 0),
        "claim_member": (2, 3),
        "take_slot": (1, 2),
        "hash_all": (1, 0),
        "hash_set": (1, 2),
        "counter_get": (1, 0),
        "login_attempt": (2, 3),
        "address_sockets_take": (2, 3),
        "address_sockets_renew": (2, 2),
        "address_sockets_release": (2, 1),
    }
    for script in lua.values():
        assert script.source.startswith(f"-- {script.name}: ".encode())
        assert b"Returns" in script.source.split(b"\n\n")[0] or b"-- Returns" in script.source


def test_script_arguments_encode_like_redis_py():
    assert encode_script_args(["é", 7, -2, 1.5, b"\x00"]) == [
        b"\xc3\xa9",
        b"7",
        b"-2",
        b"1.5",
        b"\x00",
    ]


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        (b"42", 42.0),
        (b" -1.5e2 ", -150.0),
        (b"0x1F", 31.0),
        (b".5", 0.5),
        (b"abc", None),
        (b"", None),
        (b"1_000", None),
        (None, None),
    ],
)
def test_lua_tonumber_twin(raw, number):
    assert lua_tonumber(raw) == number


def test_ttl_and_presence_key_helpers():
    assert ttl_to_ms(0.0001) == 1
    assert ttl_to_ms(1.5) == 1500
    assert presence_keys("p:", "site-1") == [
        "p:presence:{site-1}:expiry",
        "p:presence:{site-1}:values",
    ]
