"""Two nodes sharing PostgreSQL and Redis: chats across nodes, a node killed mid-stream,
Redis restarted mid-stream, and racing chat_starts (guarantees 1-5). The cross-node
chat and the node kill also run on a 3-primary Redis Cluster (`redis+cluster://`)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.chatter import Chatter, agent_connector, visitor_connector
from tests.cluster import RedisServer, cluster
from tests.redis_cluster import RedisCluster
from tests.ws_client import WsClient, ws_url

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
MESSAGES_EACH = 10
# Pacing of the traffic and the faults (these shape the load; nothing waits on them).
HUMAN_PACE_S = 0.1
TRAFFIC_BEFORE_FAULT_S = 1.5
OUTAGE_S = 1.5


@pytest.fixture(params=["redis", "redis-cluster"])
def shared_redis(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """`cluster()` arguments for the nodes' Redis: the shared one (a test prefix), or a
    Redis Cluster of this test's own."""
    if request.param == "redis":
        yield {"prefix": request.getfixturevalue("redis_prefix")}
        return
    with tempfile.TemporaryDirectory(prefix="beckon-redis-cluster-") as directory:
        redis_cluster = RedisCluster(Path(directory))
        try:
            redis_cluster.start()
            yield {"redis_url": redis_cluster.url}
        finally:
            redis_cluster.stop()


async def test_visitor_on_one_node_agent_on_the_other(tmp_path, shared_redis) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, **shared_redis) as (one, two):
        chat = await make_chat_site(one)
        visitor, _ = await chat.visitor(one.url)
        conv = await visitor.request({"type": "chat_start", "text": "from node one"})
        agent, welcome = await chat.agent_socket(two.url)
        assert conv["id"] in [c["id"] for c in welcome["queue"]]
        await agent.request({"type": "accept", "conversation_id": conv["id"]})
        await visitor.expect(lambda f: f.get("type") == "conversation" and f["status"] == "active")
        await agent.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "client_msg_id": "a1",
                "text": "from node two",
            }
        )
        assert (await visitor.expect("message"))["text"] == "from node one"  # own echo
        got = await visitor.expect("message")
        assert (got["seq"], got["text"]) == (2, "from node two")
        await visitor.send({"type": "typing", "conversation_id": conv["id"], "on": True})
        assert (await agent.expect("typing"))["on"] is True
        await visitor.send({"type": "read", "conversation_id": conv["id"], "seq": 2})
        assert (await agent.expect("read"))["seq"] == 2
        await visitor.send({"type": "close", "conversation_id": conv["id"]})
        assert (await agent.expect("closed"))["by"] == "visitor"
        await visitor.close()
        await agent.close()


async def _open_conversations(chat: ChatSite, node_url: str, count: int) -> list[dict]:
    """`count` visitors on `node_url`, each with a queued conversation."""
    opened = []
    for _ in range(count):
        visitor, welcome = await chat.visitor(node_url)
        conv = await visitor.request({"type": "chat_start", "text": "start"})
        await visitor.close()
        opened.append({"token": welcome["visitor_token"], "id": conv["id"]})
    return opened


async def _connect_pairs(
    chat: ChatSite, visitor_nodes: list[str], agent_nodes: list[str], opened: list[dict]
) -> list[tuple[Chatter, Chatter]]:
    """A resilient visitor and an agent (who accepted) for each conversation."""
    pairs = []
    for conv in opened:
        visitor = Chatter(
            "visitor",
            visitor_nodes,
            await visitor_connector(chat.site["key"], conv["token"], conv["id"]),
            conv["id"],
            f"visitor {conv['id']}",
        )
        agent = Chatter(
            "agent",
            agent_nodes,
            await agent_connector(chat.agent_token, conv["id"]),
            conv["id"],
            f"agent {conv['id']}",
        )
        await visitor.connect(visitor_nodes[0])
        await agent.connect(agent_nodes[0])
        accepted = await agent.client.request({"type": "accept", "conversation_id": conv["id"]})
        assert accepted["status"] == "active", accepted
        pairs.append((visitor, agent))
    return pairs


async def _talk(pairs: list[tuple[Chatter, Chatter]], fault: asyncio.Event) -> None:
    """Both sides of every conversation send MESSAGES_EACH messages, half after `fault`."""

    async def talk(chatter: Chatter) -> None:
        for i in range(MESSAGES_EACH):
            if i == MESSAGES_EACH // 2:
                await fault.wait()  # half before the fault, half during and after it
            await chatter.send(f"{chatter.kind}-{i}", f"{chatter.kind} says {i}")
            await asyncio.sleep(HUMAN_PACE_S)

    await asyncio.gather(*(talk(c) for pair in pairs for c in pair))


async def _assert_nothing_lost(chat: ChatSite, node: BeckonProcess, pairs) -> dict:  # type: ignore[no-untyped-def]
    total = 1 + 2 * MESSAGES_EACH
    await asyncio.gather(*(c.drain_until(total) for pair in pairs for c in pair))
    lost = duplicated = out_of_order = 0
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
        for visitor, agent in pairs:
            response = await client.get(
                f"/api/v1/conversations/{visitor.conversation_id}/messages",
                params={"limit": "200"},
                headers={"Authorization": f"Bearer {chat.admin_token}"},
            )
            stored = response.json()["items"]
            seqs = [m["seq"] for m in stored]
            assert seqs == list(range(1, total + 1))
            ids = [m.get("client_msg_id") for m in stored if m.get("client_msg_id")]
            duplicated += len(ids) - len(set(ids))
            by_id = {m.get("client_msg_id"): m["seq"] for m in stored}
            for chatter in (visitor, agent):
                lost += sum(1 for cid, seq in chatter.acked.items() if by_id.get(cid) != seq)
                out_of_order += not chatter.in_order()
    return {
        "conversations": len(pairs),
        "messages": len(pairs) * total,
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
    }


async def test_node_killed_mid_stream_loses_nothing(tmp_path, shared_redis) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, **shared_redis) as (one, two):
        # One agent holds every conversation: the capacity allows it.
        chat = await make_chat_site(one, capacity=50)
        opened = await _open_conversations(chat, two.url, 50)
        fault = asyncio.Event()

        async def kill_node_one() -> None:
            await asyncio.sleep(TRAFFIC_BEFORE_FAULT_S)
            await one.kill()
            fault.set()

        # Visitors on node one (then node two), agents on node two: cross-node traffic.
        pairs = await _connect_pairs(chat, [one.url, two.url], [two.url], opened)
        killer = asyncio.create_task(kill_node_one())
        await _talk(pairs, fault)
        await killer
        figures = await _assert_nothing_lost(chat, two, pairs)
        print("node kill:", figures, "reconnects:", sum(v.reconnects for v, _ in pairs))
        assert figures["lost"] == figures["duplicated"] == figures["out_of_order"] == 0
        assert all(v.reconnects >= 1 for v, _ in pairs)


async def test_redis_restart_mid_stream_loses_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis = RedisServer(tmp_path)
    await redis.start()
    try:
        async with cluster(tmp_path, redis_url=redis.url) as (one, two):
            chat = await make_chat_site(one, capacity=50)
            opened = await _open_conversations(chat, one.url, 20)
            fault = asyncio.Event()

            async def restart_redis() -> None:
                await asyncio.sleep(TRAFFIC_BEFORE_FAULT_S)
                await redis.kill()
                fault.set()
                await asyncio.sleep(OUTAGE_S)  # messages sent now are stored, not fanned out
                await redis.start()

            pairs = await _connect_pairs(chat, [one.url], [two.url], opened)
            restarter = asyncio.create_task(restart_redis())
            await _talk(pairs, fault)
            await restarter
            figures = await _assert_nothing_lost(chat, one, pairs)
            print("redis restart:", figures)
            assert figures["lost"] == figures["duplicated"] == figures["out_of_order"] == 0
            for node in (one, two):
                async with node.client() as client:
                    assert (await client.get("/readyz")).status_code == 200
    finally:
        await redis.kill()


async def test_racing_chat_starts_open_exactly_one(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, prefix=redis_prefix) as (one, two):
        chat = await make_chat_site(one)

        async def race(i: int) -> tuple[str, str]:
            first, welcome = await chat.visitor(one.url)
            second, _ = await chat.visitor(two.url, visitor_token=welcome["visitor_token"])
            a, b = await asyncio.gather(
                first.request({"type": "chat_start", "text": f"race {i}"}),
                second.request({"type": "chat_start"}),
            )
            await first.close()
            await second.close()
            assert a["type"] == b["type"] == "conversation", (a, b)
            return a["id"], b["id"]

        results = []
        for batch in range(10):
            results += await asyncio.gather(*(race(batch * 20 + i) for i in range(20)))
        assert all(a == b for a, b in results)
        assert len({a for a, _ in results}) == 200
        async with httpx.AsyncClient(base_url=one.url) as client:
            listed, cursor = [], None
            while True:
                params = {
                    "status": "queued",
                    "limit": "200",
                    **({"cursor": cursor} if cursor else {}),
                }
                page = (
                    await client.get(
                        f"/api/v1/sites/{chat.site['id']}/conversations",
                        params=params,
                        headers={"Authorization": f"Bearer {chat.admin_token}"},
                    )
                ).json()
                listed += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        assert len(listed) == 200
        assert len({c["visitor_id"] for c in listed}) == 200


async def test_a_site_change_on_one_node_applies_on_the_other_at_once(
    tmp_path, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    # Node two caches the site for its visitor sockets; an origin allowed on node one
    # must be allowed there for the very next connection (the change is announced).
    async with cluster(tmp_path, prefix=redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        visitor, _ = await chat.visitor(node_url=two.url)  # node two now has it cached
        await visitor.close()
        url = ws_url(two.url, f"/ws/visitor?site={chat.site['key']}")
        refused = await WsClient.connect(url, origin="https://new-shop.example.org")
        assert await refused.closed() == (4403, "origin not allowed")
        async with httpx.AsyncClient(base_url=one.url, timeout=10) as client:
            response = await client.patch(
                f"/api/v1/sites/{chat.site['id']}",
                headers={"Authorization": f"Bearer {chat.admin_token}"},
                json={"allowed_origins": ["https://new-shop.example.org"]},
            )
        assert response.status_code == 200, response.text
        allowed = await WsClient.connect(url, origin="https://new-shop.example.org")
        page = {"url": "https://new-shop.example.org/"}
        welcome = await allowed.request({"type": "hello", "page": page})
        assert welcome["type"] == "welcome", welcome
        await allowed.close()
