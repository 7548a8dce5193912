"""`redis+sentinel://`: the URL form, and a broker that follows Sentinel's promotions.

The fault tests run a primary, a replica and three sentinels of their own
(tests/sentinel.py) and kill or demote the primary under a live broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from server.broker import BrokerUnavailable, open_broker
from server.broker.redis_broker import RedisBroker
from server.broker.redis_sentinel import SentinelUrl, parse_sentinel_url
from server.settings import SettingsError, load_settings, redact_url
from tests.sentinel import SERVICE, SentinelSet

from .helpers import Collector

FORM = "redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]"


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        (
            "redis+sentinel://10.0.0.1:26380,10.0.0.2,[::1]:26381/chat",
            SentinelUrl((("10.0.0.1", 26380), ("10.0.0.2", 26379), ("::1", 26381)), "chat"),
        ),
        (
            "REDIS+SENTINEL://:s%40cret@s1:1/chat/3",
            SentinelUrl((("s1", 1),), "chat", db=3, password="s@cret"),
        ),
        (
            "redis+sentinel://app:pw@s1/chat?sentinel_password=spw&sentinel_username=watch",
            SentinelUrl(
                (("s1", 26379),),
                "chat",
                username="app",
                password="pw",
                sentinel_username="watch",
                sentinel_password="spw",
            ),
        ),
    ],
)
def test_sentinel_url_forms(url: str, parsed: SentinelUrl) -> None:
    assert parse_sentinel_url(url) == parsed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "redis+sentinel://s1:26379",
            f"a redis+sentinel:// URL names the Sentinel service: {FORM}",
        ),
        (
            "redis+sentinel://s1/a/0/x",
            f"a redis+sentinel:// URL names the Sentinel service: {FORM}",
        ),
        (
            "redis+sentinel://s1,,s2/chat",
            f"a redis+sentinel:// URL lists its hosts as host:port,...: {FORM}",
        ),
        ("redis+sentinel://s1:http/chat", "bad port 'http' in a redis+sentinel:// URL"),
        ("redis+sentinel://s1:70000/chat", "bad port '70000' in a redis+sentinel:// URL"),
        ("redis+sentinel://[::1/chat", "bad address '[::1' in a redis+sentinel:// URL"),
        (
            "redis+sentinel://s1/chat/one",
            "the database in a redis+sentinel:// URL is a number, not 'one'",
        ),
        (
            "redis+sentinel://s1/chat?timeout=1",
            "unknown option 'timeout' in a redis+sentinel:// URL; "
            "known: sentinel_password, sentinel_username",
        ),
    ],
)
def test_bad_sentinel_urls_are_clear_value_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_sentinel_url(url)
    assert str(caught.value) == message


def test_open_broker_takes_the_scheme_without_io() -> None:
    broker = open_broker("redis+sentinel://u:pw@s1:1,s2:2/chat/1", prefix="p:")
    assert type(broker) is RedisBroker
    assert broker.address == "service 'chat' via sentinels s1:1,s2:2"


def test_a_bad_sentinel_url_is_a_settings_error() -> None:
    secret = {"BECKON_SECRET_KEY": "s" * 32}  # no generated secret file in the checkout
    with pytest.raises(SettingsError) as caught:
        load_settings({**secret, "BECKON_BROKER_URL": "redis+sentinel://s1:26379"})
    assert str(caught.value) == (
        f"BECKON_BROKER_URL: a redis+sentinel:// URL names the Sentinel service: {FORM}"
    )
    url = "redis+sentinel://s1,s2/chat/0"
    assert load_settings({**secret, "BECKON_BROKER_URL": url}).broker_url == url


def test_passwords_are_redacted_in_messages() -> None:
    url = "redis+sentinel://app:pw@s1,s2/chat?sentinel_password=spw"
    assert redact_url(url) == "redis+sentinel://app:***@s1,s2/chat?sentinel_password=***"


async def test_no_sentinel_answers_fails_start_with_the_service() -> None:
    broker = open_broker("redis+sentinel://127.0.0.1:1/chat")
    with pytest.raises(BrokerUnavailable) as caught:
        await broker.start()
    assert str(caught.value).startswith(
        "cannot reach Redis at service 'chat' via sentinels 127.0.0.1:1: No master found for 'chat'"
    )
    await broker.close()


@pytest.fixture
async def sentinels(tmp_path) -> AsyncIterator[SentinelSet]:
    group = SentinelSet(tmp_path)
    try:
        await group.start()
        yield group
    finally:
        await group.stop()


async def _started(url: str) -> RedisBroker:
    broker = RedisBroker(url, prefix="sentinel:", backoff_cap_s=0.5)
    await broker.start()
    return broker


@pytest.mark.redis
async def test_the_broker_follows_a_promotion_after_the_primary_dies(sentinels) -> None:
    broker = await _started(sentinels.url)
    try:
        received = Collector()
        await broker.subscribe("room", received)
        reconnected = asyncio.Event()
        broker.add_reconnect_listener(reconnected.set)
        await broker.publish("room", b"before")
        assert await received.wait_for(1) == [b"before"]
        assert await broker.run_script("queue_push", ["q"], ["a", 1]) == 1

        await sentinels.kill_primary()
        with pytest.raises(BrokerUnavailable, match=r"service 'beckon' via sentinels"):
            await broker.run_script("queue_push", ["q"], ["lost", 2])  # never retried
        new_primary = await sentinels.wait_promoted()
        await asyncio.wait_for(reconnected.wait(), timeout=30)
        assert broker.reconnects == 1

        await broker.ping()
        await broker.publish("room", b"after")
        assert await received.wait_for(2) == [b"before", b"after"]
        # The replica had the queue; the new primary has it and takes writes.
        assert await broker.run_script("queue_position", ["q"], ["a"]) == 1
        assert await broker.run_script("queue_push", ["q"], ["b", 2]) == 2
        async with redis_asyncio.Redis(port=new_primary, protocol=2) as direct:
            assert await direct.zcard("sentinel:q") == 2
    finally:
        await broker.close()


@pytest.mark.redis
async def test_the_broker_follows_a_switch_to_a_live_replica(sentinels) -> None:
    # SENTINEL FAILOVER demotes a primary that is still up: writes there would answer
    # READONLY; Sentinel kills its clients, and the broker re-discovers the primary.
    broker = await _started(sentinels.url)
    try:
        received = Collector()
        await broker.subscribe("room", received)
        reconnected = asyncio.Event()
        broker.add_reconnect_listener(reconnected.set)
        async with redis_asyncio.Redis(port=sentinels.sentinel_ports[0], protocol=2) as sentinel:
            assert await sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
        await sentinels.wait_promoted()
        await asyncio.wait_for(reconnected.wait(), timeout=30)
        await broker.publish("room", b"after")
        assert await received.wait_for(1) == [b"after"]
        assert await broker.run_script("queue_push", ["q"], ["a", 1]) == 1
        async with redis_asyncio.Redis(port=sentinels.primary_port, protocol=2) as old:
            assert (await old.info("replication"))["role"] == "slave"
    finally:
        await broker.close()
