"""Conformance: presence groups and key/value state, with their TTLs."""

from __future__ import annotations

import math

import pytest


async def test_presence_lists_members_with_their_values(broker):
    assert await broker.presence_members("agents") == {}
    await broker.presence_set("agents", "ana", b'{"status":"online"}', 30)
    await broker.presence_set("agents", "bo", b"away", 30)
    assert await broker.presence_members("agents") == {
        "ana": b'{"status":"online"}',
        "bo": b"away",
    }
    assert await broker.presence_members("other-group") == {}


async def test_presence_set_again_replaces_the_value(broker):
    await broker.presence_set("agents", "ana", b"online", 30)
    await broker.presence_set("agents", "ana", b"away", 30)
    assert await broker.presence_members("agents") == {"ana": b"away"}


async def test_presence_members_expire_individually(broker, expiry):
    await broker.presence_set("agents", "short", b"1", 0.2)
    await broker.presence_set("agents", "long", b"2", 30)
    assert set(await broker.presence_members("agents")) == {"short", "long"}

    async def only_long_left() -> bool:
        return await broker.presence_members("agents") == {"long": b"2"}

    await expiry.after(0.25, only_long_left)


async def test_presence_refresh_extends_the_ttl(broker, expiry, probe):
    await broker.presence_set("agents", "ana", b"1", 0.3)
    await broker.presence_set("agents", "ana", b"2", 30)  # heartbeat with a longer TTL
    assert 29_000 < await probe.pttl("presence:{agents}:expiry") <= 30_000

    async def still_there() -> bool:
        return await broker.presence_members("agents") == {"ana": b"2"}

    # On memory:// this moves the clock past the first TTL; on Redis it holds at once.
    await expiry.after(0.35, still_there)


async def test_presence_keys_vanish_when_the_last_member_expires(broker, expiry, probe):
    # A TTL long enough that a loaded machine does not expire it before the first look.
    await broker.presence_set("room", "x", b"1", 1.0)
    assert await probe.keys() == {"presence:{room}:expiry", "presence:{room}:values"}

    async def no_keys_left() -> bool:
        return await probe.keys() == set()

    await expiry.after(1.05, no_keys_left)


async def test_presence_remove(broker, probe):
    await broker.presence_set("agents", "ana", b"1", 30)
    await broker.presence_set("agents", "bo", b"2", 30)
    await broker.presence_remove("agents", "ana")
    await broker.presence_remove("agents", "ana")  # absent: no error
    await broker.presence_remove("nobody-here", "ana")
    assert await broker.presence_members("agents") == {"bo": b"2"}
    await broker.presence_remove("agents", "bo")
    assert await broker.presence_members("agents") == {}
    assert await probe.keys() == set()


async def test_presence_set_many_stores_every_value_with_the_ttl(broker, probe):
    await broker.presence_set("visitors", "old", b"0", 30)
    await broker.presence_set_many("visitors", {"a": b"1", "b": b"\x00two", "old": b"3"}, 60)
    assert await broker.presence_members("visitors") == {"a": b"1", "b": b"\x00two", "old": b"3"}
    assert 59_000 < await probe.pttl("presence:{visitors}:expiry") <= 60_000
    assert 59_000 < await probe.pttl("presence:{visitors}:values") <= 60_000


async def test_presence_set_many_members_expire_individually(broker, expiry, probe):
    await broker.presence_set("visitors", "long", b"L", 30)
    await broker.presence_set_many("visitors", {"a": b"1", "b": b"2"}, 0.2)
    assert await broker.presence_members("visitors") == {"long": b"L", "a": b"1", "b": b"2"}

    async def only_long_left() -> bool:
        return await broker.presence_members("visitors") == {"long": b"L"}

    await expiry.after(0.25, only_long_left)
    await broker.presence_remove("visitors", "long")
    assert await probe.keys() == set()


async def test_presence_set_many_refreshes_and_its_keys_vanish_with_the_last_member(
    broker, expiry, probe
):
    await broker.presence_set("visitors", "a", b"1", 0.2)
    await broker.presence_set_many("visitors", {"a": b"2", "b": b"3"}, 0.4)

    async def both_still_there() -> bool:
        return await broker.presence_members("visitors") == {"a": b"2", "b": b"3"}

    await expiry.after(0.25, both_still_there)  # a's first TTL is over, its refresh not

    async def no_keys_left() -> bool:
        return await probe.keys() == set()

    await expiry.after(0.2, no_keys_left)


async def test_presence_set_many_takes_more_members_than_one_unpack(broker):
    members = {f"vi_{i}": str(i).encode() for i in range(1200)}
    await broker.presence_set_many("visitors", members, 30)
    assert await broker.presence_members("visitors") == members


async def test_presence_set_many_of_nobody_writes_nothing(broker, probe):
    await broker.presence_set_many("visitors", {}, 30)
    assert await probe.keys() == set()


async def test_presence_set_many_checks_everything_before_writing(broker, probe):
    with pytest.raises(ValueError, match=r"^member must not be empty$"):
        await broker.presence_set_many("g", {"m": b"v", "": b"v"}, 1)
    with pytest.raises(TypeError, match=r"^value must be bytes, not str$"):
        await broker.presence_set_many("g", {"m": b"v", "n": "v"}, 1)
    with pytest.raises(ValueError, match=r"^group must not be empty$"):
        await broker.presence_set_many("", {"m": b"v"}, 1)
    with pytest.raises(ValueError, match=r"^ttl_s must be a finite number of seconds > 0, got 0$"):
        await broker.presence_set_many("g", {"m": b"v"}, 0)
    assert await probe.keys() == set()


@pytest.mark.parametrize(
    ("ttl_s", "error", "message"),
    [
        (0, ValueError, "ttl_s must be a finite number of seconds > 0, got 0"),
        (-1.5, ValueError, "ttl_s must be a finite number of seconds > 0, got -1.5"),
        (math.inf, ValueError, "ttl_s must be a finite number of seconds > 0, got inf"),
        ("10", TypeError, "ttl_s must be a number of seconds, not str"),
        (True, TypeError, "ttl_s must be a number of seconds, not bool"),
    ],
)
async def test_ttls_are_validated(broker, ttl_s, error, message):
    with pytest.raises(error, match=rf"^{message}$"):
        await broker.presence_set("g", "m", b"v", ttl_s)
    with pytest.raises(error, match=rf"^{message}$"):
        await broker.state_set("k", b"v", ttl_s)


async def test_presence_rejects_bad_names_and_values(broker):
    with pytest.raises(ValueError, match=r"^group must not be empty$"):
        await broker.presence_set("", "m", b"v", 1)
    with pytest.raises(ValueError, match=r"^member must not be empty$"):
        await broker.presence_set("g", "", b"v", 1)
    with pytest.raises(TypeError, match=r"^value must be bytes, not str$"):
        await broker.presence_set("g", "m", "v", 1)


async def test_state_set_get_delete(broker, probe):
    assert await broker.state_get("visitor:1") is None
    await broker.state_set("visitor:1", b"\x00\xffcart=42", 60)
    assert await broker.state_get("visitor:1") == b"\x00\xffcart=42"
    await broker.state_set("visitor:1", b"cart=50", 60)
    assert await broker.state_get("visitor:1") == b"cart=50"
    assert await probe.keys() == {"visitor:1"}  # stored under the broker's prefix
    await broker.state_delete("visitor:1")
    await broker.state_delete("visitor:1")  # absent: no error
    assert await broker.state_get("visitor:1") is None


async def test_state_set_nowait_is_in_order_with_every_later_command(broker, probe):
    """Not awaited, the write still comes before anything asked after it: a burst of
    events reads each one's state without waiting for its write."""
    for i in range(50):
        stored = broker.state_set_nowait("visitor:1", b"cart=%d" % i, 60)
        assert await broker.state_get("visitor:1") == b"cart=%d" % i
        await stored  # stored (what it settles with is the driver's reply)
    broker.state_set_nowait("visitor:2", b"x", 60)
    assert await broker.state_get_many(["visitor:2", "visitor:1"]) == [b"x", b"cart=49"]
    assert 59_000 < await probe.pttl("visitor:1") <= 60_000
    with pytest.raises(TypeError, match=r"^value must be bytes, not str$"):
        broker.state_set_nowait("k", "v", 10)


async def test_state_get_many_reads_in_order_with_none_for_missing(broker, probe):
    assert await broker.state_get_many([]) == []
    await broker.state_set("visitor:1", b"one", 60)
    await broker.state_set("visitor:3", b"\x00three", 60)
    got = await broker.state_get_many(["visitor:3", "visitor:2", "visitor:1", "visitor:3"])
    assert got == [b"\x00three", None, b"one", b"\x00three"]
    with pytest.raises(ValueError, match=r"^key must not be empty$"):
        await broker.state_get_many(["visitor:1", ""])


async def test_state_expires(broker, expiry, probe):
    await broker.state_set("visitor:1", b"v", 2.0)
    # Expired already (-2) is a pass too on a loaded machine; never a key without a TTL.
    assert await probe.pttl("visitor:1") in (-2, *range(1, 2001))

    async def gone() -> bool:
        return await broker.state_get("visitor:1") is None

    await expiry.after(2.05, gone)


async def test_state_set_replaces_the_ttl(broker, probe):
    await broker.state_set("k", b"1", 0.5)
    await broker.state_set("k", b"2", 60)
    assert 59_000 < await probe.pttl("k") <= 60_000


async def test_state_rejects_non_bytes_values(broker):
    with pytest.raises(TypeError, match=r"^value must be bytes, not dict$"):
        await broker.state_set("k", {"a": 1}, 10)
