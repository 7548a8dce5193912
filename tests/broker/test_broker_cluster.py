"""`redis+cluster://`: the URL form, slot routing, sharded pub/sub and cross-slot scripts.

The conformance suite already runs every broker test on the session's cluster; these
check what only a cluster has.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.crc import key_slot

from server.broker import BrokerUnavailable, open_broker
from server.broker.redis_cluster import ClusterUrl, RedisClusterBroker, parse_cluster_url
from server.chat import presence, queue
from tests.ports import free_port
from tests.redis_cluster import RedisCluster

from .helpers import Collector

FORM = "redis+cluster://[[user]:password@]host[:port][,host[:port]...]"


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        (
            "redis+cluster://10.0.0.1:7000,10.0.0.2",
            ClusterUrl((("10.0.0.1", 7000), ("10.0.0.2", 6379))),
        ),
        (
            "REDIS+CLUSTER://app:p%40ss@[::1]:7001/0",
            ClusterUrl((("::1", 7001),), username="app", password="p@ss"),
        ),
    ],
)
def test_cluster_url_forms(url: str, parsed: ClusterUrl) -> None:
    assert parse_cluster_url(url) == parsed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://", f"a redis+cluster:// URL lists its hosts as host:port,...: {FORM}"),
        (
            "redis+cluster://a:1,,b:2",
            f"a redis+cluster:// URL lists its hosts as host:port,...: {FORM}",
        ),
        ("redis+cluster://a:0", "bad port '0' in a redis+cluster:// URL"),
        (
            "redis+cluster://a:1/2",
            f"a redis+cluster:// URL has no options nor database (always 0): {FORM}",
        ),
        (
            "redis+cluster://a:1?timeout=2",
            f"a redis+cluster:// URL has no options nor database (always 0): {FORM}",
        ),
    ],
)
def test_bad_cluster_urls_are_clear_value_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        open_broker(url)
    assert str(caught.value) == message


def test_a_prefix_with_a_brace_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        open_broker("redis+cluster://a:1", prefix="beckon:{x}:")
    assert str(caught.value) == (
        "the broker prefix 'beckon:{x}:' contains a brace: in Redis Cluster it would "
        "decide every key's slot (BECKON_BROKER_PREFIX)"
    )


def test_node_urls_carry_the_credentials() -> None:
    target = parse_cluster_url("redis+cluster://u:p%2Fw@h:1")
    assert target.node_url("10.0.0.9", 7002) == "redis://u:p%2Fw@10.0.0.9:7002/0"
    assert target.node_url("::1", 7002) == "redis://u:p%2Fw@[::1]:7002/0"


async def test_no_seed_answers_fails_start_naming_the_seeds() -> None:
    port = free_port()
    broker = open_broker(f"redis+cluster://127.0.0.1:{port}")
    with pytest.raises(BrokerUnavailable) as caught:
        await broker.start()
    assert str(caught.value).startswith(
        f"cannot reach Redis at cluster via 127.0.0.1:{port}: 127.0.0.1:{port}: "
    )
    await broker.close()
    with pytest.raises(BrokerUnavailable, match=r"^broker is closed$"):
        await broker.publish("c", b"x")


def test_routing_keys_share_one_slot() -> None:
    # A claim pops a site's queue and counts the agent's load in one script.
    slots = {key_slot(f"beckon:{k}".encode()) for k in (queue.key("st_1", None), presence.LOAD_KEY)}
    slots.add(key_slot(f"beckon:{queue.key('st_2', 'sales')}".encode()))
    assert len(slots) == 1


@pytest.fixture
async def cluster_broker(redis_cluster, cluster_admin, prefix):  # type: ignore[no-untyped-def]
    broker = RedisClusterBroker(redis_cluster.url, prefix=prefix)
    await broker.start()
    yield broker
    await broker.close()


@pytest.mark.redis
async def test_scripts_whose_keys_span_slots_are_refused_before_sending(
    cluster_broker, cluster_admin, prefix
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as caught:
        await cluster_broker.run_script("claim_from_queue", ["q", "load"], ["ana", 1])
    assert str(caught.value) == (
        "script 'claim_from_queue': its KEYS ['q', 'load'] are in different Redis Cluster "
        "slots; give them one hash tag, e.g. {site}"
    )
    assert [key async for key in cluster_admin.scan_iter(match=prefix + "*")] == []


@pytest.mark.redis
async def test_channels_use_sharded_pub_sub_on_the_owning_primary(
    redis_cluster, cluster_broker, prefix
) -> None:  # type: ignore[no-untyped-def]
    # Channels over all three primaries (different slots), each delivered in order.
    names = [f"conv:{i}" for i in range(12)]
    owners = {cluster_broker._node(prefix + name) for name in names}
    assert len(owners) == 3
    collectors = {name: Collector() for name in names}
    for name in names:
        await cluster_broker.subscribe(name, collectors[name])
    for name in names:
        await cluster_broker.publish(name, b"1")
        await cluster_broker.publish(name, b"2")
    for name in names:
        assert await collectors[name].wait_for(2) == [b"1", b"2"]
    name = names[0]
    port = redis_cluster.primary_of(key_slot((prefix + name).encode()))
    async with redis_asyncio.Redis(port=port, protocol=2) as owner:
        shard = await owner.execute_command("PUBSUB", "SHARDNUMSUB", prefix + name)
        classic = await owner.execute_command("PUBSUB", "NUMSUB", prefix + name)
    assert (shard[1], classic[1]) == (1, 0)


@pytest.fixture
def cluster_with_replicas() -> Iterator[RedisCluster]:
    with tempfile.TemporaryDirectory(prefix="beckon-redis-cluster-") as directory:
        cluster = RedisCluster(Path(directory), primaries=3, replicas=1)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


@pytest.mark.redis
async def test_a_shard_follows_its_replica_promoted_after_the_primary_dies(
    cluster_with_replicas,
) -> None:  # type: ignore[no-untyped-def]
    cluster = cluster_with_replicas
    broker = RedisClusterBroker(cluster.url, prefix="failover:", backoff_cap_s=0.5)
    await broker.start()
    try:
        received = Collector()
        # The channel and the queue share a hash tag: one shard, about to lose its primary.
        await broker.subscribe("{room}", received)
        reconnected = asyncio.Event()
        broker.add_reconnect_listener(reconnected.set)
        slot = key_slot(b"room")
        await broker.run_script("queue_push", ["{room}q"], ["a", 1])
        await broker.publish("{room}", b"before")
        assert await received.wait_for(1) == [b"before"]

        dead = cluster.primary_of(slot)
        cluster.kill(dead)
        with pytest.raises(BrokerUnavailable):
            await broker.run_script("queue_push", ["{room}q"], ["lost", 2])
        promoted = await asyncio.to_thread(cluster.wait_failover, slot, dead)
        assert promoted != dead
        await asyncio.wait_for(reconnected.wait(), timeout=30)

        await broker.publish("{room}", b"after")
        assert await received.wait_for(2) == [b"before", b"after"]
        # Scripts run on the promoted primary. (Whether "a" survived depends on Redis'
        # asynchronous replication, which a failover may cut short: queues are re-derived
        # from the Store after a broker reconnect, as after a Redis restart.)
        assert await broker.run_script("queue_push", ["{room}q"], ["b", 2]) in (1, 2)
        await broker.ping()
    finally:
        await broker.close()
