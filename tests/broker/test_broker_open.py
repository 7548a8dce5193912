"""open_broker: the URL scheme -> backend table, and start-up failures."""

from __future__ import annotations

import time

import pytest

from server.broker import Broker, BrokerUnavailable, open_broker
from server.broker.memory_broker import MemoryBroker
from server.broker.redis_broker import RedisBroker
from tests.ports import free_port


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("memory://", MemoryBroker),
        ("redis://127.0.0.1:6379/0", RedisBroker),
        ("REDIS://127.0.0.1:6379/0", RedisBroker),
        ("rediss://:secret@cache.example:6380/2", RedisBroker),
    ],
)
def test_scheme_selects_the_backend_without_io(url, backend):
    broker = open_broker(url, prefix="site-7:")
    assert type(broker) is backend
    assert isinstance(broker, Broker)
    assert broker.prefix == "site-7:"


def test_default_prefix():
    assert open_broker("memory://").prefix == "beckon:"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("foo://x", "foo"),
        ("postgresql+asyncpg://db/beckon", "postgresql+asyncpg"),
        ("127.0.0.1:6379", "127.0.0.1:6379"),
        ("", ""),
    ],
)
def test_unknown_scheme_is_a_clear_value_error(url, shown):
    with pytest.raises(ValueError) as caught:
        open_broker(url)
    assert str(caught.value) == (
        f"unknown broker URL scheme {shown!r} in BECKON_BROKER_URL; "
        "expected memory://, redis://, rediss://, redis+sentinel:// or redis+cluster://"
    )


def test_malformed_redis_url_is_a_value_error():
    with pytest.raises(ValueError):
        open_broker("redis://127.0.0.1:notaport/0")


def test_redis_address_hides_credentials():
    broker = open_broker("redis://user:secret@cache.example:6380/1")
    assert broker.address == "cache.example:6380"


async def test_unreachable_redis_fails_start_quickly_with_host_and_port():
    port = free_port()
    broker = open_broker(f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=rf"^cannot reach Redis at 127.0.0.1:{port}: "):
        await broker.start()
    assert time.monotonic() - started < 3.0
    with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
        await broker.publish("c", b"x")
    await broker.close()
