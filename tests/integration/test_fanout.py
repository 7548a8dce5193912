"""Delivery to idle sockets and the node's shared channels (server/hub/connection.py and
hub.py): an idle socket holds no writer, the next burst still arrives whole and in
order; several sockets on one channel share the node's subscription, and one leaving
does not cut the others off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.ws_client import WsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("fanout")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, capacity=10)


async def _active_chat(chat: ChatSite) -> tuple[WsClient, WsClient, dict, str]:
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "hello"})
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    await visitor.expect(lambda f: f["type"] == "conversation" and f["status"] == "active")
    return visitor, agent, welcome, conv["id"]


async def _burst(agent: WsClient, cid: str, count: int) -> None:
    # Sent back to back, without waiting for acks.
    for _ in range(count):
        await agent.send(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": agent.next_id("b"),
                "text": "burst",
            }
        )


async def test_idle_socket_gets_each_burst_whole_and_in_order(chat: ChatSite) -> None:
    visitor, agent, _, cid = await _active_chat(chat)
    first = await visitor.expect("message")
    assert first["seq"] == 1
    # Between bursts the visitor's socket is idle (its writer has ended); each burst
    # starts a writer again and must arrive complete, in seq order.
    expected = 2
    for count in (15, 1, 15):  # 33 frames in all: under the 40-frame burst limit
        await _burst(agent, cid, count)
        for _ in range(count):
            got = await visitor.expect("message", timeout=30)
            assert got["seq"] == expected
            expected += 1
        await agent.request({"type": "ping"})  # the agent's acks are in too
    await visitor.close()
    await agent.close()


async def test_tabs_share_the_visitor_channel_and_one_leaving_cuts_no_one_off(
    chat: ChatSite,
) -> None:
    tab_a, welcome = await chat.visitor()
    token = welcome["visitor_token"]
    tab_b, _ = await chat.visitor(visitor_token=token)
    tab_c, _ = await chat.visitor(visitor_token=token)
    # Tab A starts a chat: the others learn of it on the visitor's channel.
    conv = await tab_a.request({"type": "chat_start", "text": "from tab a"})
    for tab in (tab_b, tab_c):
        seen = await tab.expect(lambda f: f["type"] == "conversation" and f["id"] == conv["id"])
        assert seen["status"] == "queued"
        assert (await tab.expect("message"))["text"] == "from tab a"
    await tab_a.close()
    await tab_a.closed()
    # Tab A's leaving must not drop the node's subscriptions that B and C still use.
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    ack = await agent.request(
        {"type": "message", "conversation_id": conv["id"], "client_msg_id": "t1", "text": "hi"}
    )
    for tab in (tab_b, tab_c):
        got = await tab.expect(lambda f: f["type"] == "message" and f["seq"] == ack["seq"])
        assert got["text"] == "hi"
    await agent.request({"type": "close", "conversation_id": conv["id"]})
    for tab in (tab_b, tab_c):
        await tab.expect("closed")
    await tab_c.close()
    await tab_c.closed()
    # A new tab joins after two have left: the channel is still live for B, and the new
    # tab's own chat reaches B through it.
    tab_d, _ = await chat.visitor(visitor_token=token)
    again = await tab_d.request({"type": "chat_start", "text": "from tab d"})
    seen = await tab_b.expect(lambda f: f["type"] == "conversation" and f["id"] == again["id"])
    assert seen["status"] == "queued"
    first = await tab_b.expect(
        lambda f: f["type"] == "message" and f["conversation_id"] == again["id"]
    )
    assert (first["seq"], first["text"]) == (1, "from tab d")
    await tab_b.close()
    await tab_d.close()
    await agent.close()
