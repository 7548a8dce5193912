"""Two nodes on a Sentinel-managed Redis (`redis+sentinel://`): the primary is killed
mid-stream, Sentinel promotes the replica, and the nodes follow it — no acknowledged
message lost, duplicated or reordered; presence and queues work again afterwards."""

from __future__ import annotations

import asyncio

import pytest

from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.integration.test_cluster import (
    TRAFFIC_BEFORE_FAULT_S,
    _assert_nothing_lost,
    _connect_pairs,
    _open_conversations,
    _talk,
)
from tests.sentinel import SentinelSet
from tests.waiting import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
FOLLOW_TIMEOUT_S = 30


async def test_nodes_follow_a_sentinel_promotion_mid_stream(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sentinels = SentinelSet(tmp_path)
    try:
        await sentinels.start()
        async with cluster(tmp_path, redis_url=sentinels.url) as (one, two):
            chat = await make_chat_site(one, capacity=50)
            opened = await _open_conversations(chat, one.url, 20)
            fault = asyncio.Event()

            async def kill_primary() -> None:
                await asyncio.sleep(TRAFFIC_BEFORE_FAULT_S)
                await sentinels.kill_primary()
                fault.set()  # the second half is sent while Sentinel elects a new primary

            # Visitors on node one, agents on node two: every message crosses Redis.
            pairs = await _connect_pairs(chat, [one.url], [two.url], opened)
            console, _ = await chat.agent_socket(two.url)
            assert (await console.request({"type": "status", "status": "online"}))["type"] == (
                "status"
            )
            assert await _agent_seen_online(chat, one.url)
            killer = asyncio.create_task(kill_primary())
            await _talk(pairs, fault)
            await killer
            assert await sentinels.wait_promoted() == sentinels.replica_port
            figures = await _assert_nothing_lost(chat, one, pairs)
            print("sentinel failover:", figures)
            assert figures["lost"] == figures["duplicated"] == figures["out_of_order"] == 0

            for node in (one, two):
                async with node.client() as client:
                    await wait_until(
                        lambda client=client: client.get("/readyz"),
                        lambda response: response.status_code == 200,
                        FOLLOW_TIMEOUT_S,
                        f"{node.url} ready on the promoted primary",
                    )
            # Presence: re-derived by the console's node, without the agent doing anything.
            await wait_until(
                lambda: _agent_seen_online(chat, one.url),
                bool,
                FOLLOW_TIMEOUT_S,
                "the agent seen online again",
            )
            await _queue_works(chat, one.url)
            await console.close()
    finally:
        await sentinels.stop()


async def _agent_seen_online(chat: ChatSite, visitor_node: str) -> bool:
    visitor, welcome = await chat.visitor(visitor_node)
    await visitor.close()
    return welcome["online"]


async def _queue_works(chat: ChatSite, visitor_node: str) -> None:
    """A chat started on `visitor_node` is queued and routed to the online agent (queue,
    loads and presence on the new primary; the agent's consoles are on the other node)."""
    visitor, _ = await chat.visitor(visitor_node)
    conv = await visitor.request({"type": "chat_start", "text": "after the failover"})
    assert conv["status"] == "queued", conv
    routed = await visitor.expect(
        lambda f: f.get("type") == "conversation" and f["status"] == "active", 20
    )
    assert (routed["id"], routed["agent"]["id"]) == (conv["id"], chat.agent["id"])
    await visitor.close()
