"""The Broker: pub/sub fan-out, presence, live state and atomic scripts between nodes.

Pick a backend by URL with `open_broker` (style habit 2): `memory://` for one
node, `redis://` / `rediss://` for many, `redis+sentinel://` for a Sentinel-managed
primary that the nodes follow across failovers, `redis+cluster://` for a Redis Cluster
(sharded pub/sub). See base.py for the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from server.broker.base import (
    Broker,
    BrokerUnavailable,
    Handler,
    ReconnectListener,
    ScriptArg,
    ScriptError,
    Subscription,
)

__all__ = [
    "Broker",
    "BrokerUnavailable",
    "Handler",
    "ReconnectListener",
    "ScriptArg",
    "ScriptError",
    "Subscription",
    "open_broker",
]


def _memory(url: str, prefix: str) -> Broker:
    module = import_module("server.broker.memory_broker")
    return module.MemoryBroker(prefix=prefix)


def _redis(url: str, prefix: str) -> Broker:
    # Imported lazily: a memory:// install never imports redis-py.
    module = import_module("server.broker.redis_broker")
    return module.RedisBroker(url, prefix=prefix)


def _redis_cluster(url: str, prefix: str) -> Broker:
    module = import_module("server.broker.redis_cluster")
    return module.RedisClusterBroker(url, prefix=prefix)


_FACTORIES: dict[str, Callable[[str, str], Broker]] = {
    "memory": _memory,
    "redis": _redis,
    "rediss": _redis,
    "redis+sentinel": _redis,
    "redis+cluster": _redis_cluster,
}


def open_broker(url: str, *, prefix: str = "beckon:") -> Broker:
    """Build (not start) the broker for `url`; every key and channel gets `prefix`.

    Raises ValueError for an unknown scheme or a malformed URL. The caller awaits
    `start()` (which raises BrokerUnavailable if the backend is unreachable) and
    `close()` in the app lifespan.
    """
    scheme, separator, _ = url.partition("://")
    factory = _FACTORIES.get(scheme.lower()) if separator else None
    if factory is None:
        shown = scheme if separator else url
        raise ValueError(
            f"unknown broker URL scheme {shown!r} in BECKON_BROKER_URL; "
            "expected memory://, redis://, rediss://, redis+sentinel:// or redis+cluster://"
        )
    return factory(url, prefix)
