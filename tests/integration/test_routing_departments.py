"""Routing within departments: round-robin alternates among the
department's agents, and a visitor's wait counts only the agents of its department."""

from __future__ import annotations

import pytest

from tests.chat_setup import make_chat_site
from tests.routing_setup import add_agents, deployment, online_agent, set_site
from tests.ws_client import WsClient

KINDS = ["single", "cluster"]


async def _active(visitor: WsClient, conversation_id: str) -> dict:
    """The conversation frame that says the chat was taken."""
    while True:
        frame = await visitor.expect("conversation", timeout=15)
        if frame["id"] == conversation_id and frame["status"] == "active":
            return frame


@pytest.mark.parametrize("kind", KINDS)
async def test_round_robin_alternates_within_a_department(kind, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment(kind, tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        await set_site(chat, departments=["sales", "support"], settings={"routing": "round_robin"})
        sales = sorted(
            await add_agents(chat, 2, capacity=4, departments=["sales"]), key=lambda a: a["id"]
        )
        support = await add_agents(chat, 2, capacity=4, departments=["support"])
        sockets = [
            await online_agent(chat, nodes[i % len(nodes)].url, a["token"])
            for i, a in enumerate(sales + support)
        ]
        takers: dict[str, list[str]] = {"sales": [], "support": []}
        # Chats of both departments interleaved: a turn taken in support must not count
        # as one of sales' turns.
        for i, department in enumerate(["sales", "support", "sales", "sales", "support", "sales"]):
            visitor, _ = await chat.visitor(nodes[i % len(nodes)].url)
            started = await visitor.request(
                {"type": "chat_start", "text": f"chat {i}", "prechat": {"department": department}}
            )
            frame = await _active(visitor, started["id"])
            takers[department].append(frame["agent"]["id"])
            await visitor.close()
        first, second = sales[0]["id"], sales[1]["id"]
        assert takers["sales"] == [first, second, first, second]
        support_ids = sorted(a["id"] for a in support)
        assert takers["support"] == support_ids
        for client in sockets:
            await client.close()


async def test_wait_counts_only_the_departments_agents(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        await set_site(chat, departments=["sales", "support"])
        sales = await add_agents(chat, 2, capacity=1, departments=["sales"])
        support = await add_agents(chat, 1, capacity=2, departments=["support"])
        sockets = [await online_agent(chat, chat.server_url, a["token"]) for a in sales + support]
        visitors = []
        for i in range(2):  # every sales agent is now full
            visitor, _ = await chat.visitor()
            started = await visitor.request(
                {"type": "chat_start", "text": f"buy {i}", "prechat": {"department": "sales"}}
            )
            await _active(visitor, started["id"])
            visitors.append(visitor)
        waiting, _ = await chat.visitor()
        started = await waiting.request(
            {"type": "chat_start", "text": "buy 3", "prechat": {"department": "sales"}}
        )
        while True:
            frame = await waiting.expect("conversation", timeout=15)
            if frame["id"] == started["id"] and frame.get("queue_position") == 1:
                break
        # The support agent's two free slots do not help: one chat ahead of the next
        # free sales slot, 180 s (no closed chats to measure yet) over 2 sales slots.
        assert frame["status"] == "queued"
        assert frame["estimated_wait_s"] == 90
        # A support visitor, with room in support, is told 0 and taken at once.
        helped, _ = await chat.visitor()
        started = await helped.request(
            {"type": "chat_start", "text": "help", "prechat": {"department": "support"}}
        )
        assert (await _active(helped, started["id"]))["agent"]["id"] == support[0]["id"]
        for client in [*visitors, waiting, helped, *sockets]:
            await client.close()
