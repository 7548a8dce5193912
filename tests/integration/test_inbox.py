"""The inbox end to end on a real `beckon serve`: offline messages, missed chats and chats
left unanswered become items (with their webhooks); agents filter, assign, answer and
close them over REST; the visitor sees the answer when they come back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.routing_setup import add_agents, set_site
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver
from tests.ws_client import WsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAST = {
    "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    "BECKON_WEBHOOK_POLL_S": "0.1",
    "BECKON_PRESENCE_TTL_S": "3",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("inbox")
    process = BeckonProcess({**subprocess_env(tmp), **FAST}, tmp)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def api(chat: ChatSite, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        headers={"Authorization": f"Bearer {token or chat.agent_token}"},
        timeout=10,
    )


async def items(chat: ChatSite, **query: str) -> list[dict[str, Any]]:
    async with api(chat) as client:
        response = await client.get(f"/api/v1/sites/{chat.site['id']}/inbox", params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def wait_items(chat: ChatSite, count: int, **query: str) -> list[dict[str, Any]]:
    return await wait_until(
        lambda: items(chat, **query), lambda got: len(got) >= count, 15, "inbox items"
    )


async def returning(chat: ChatSite, welcome: dict[str, Any]) -> tuple[WsClient, list[dict]]:
    """The same visitor on another page; returns (client, frames before a pong)."""
    client, _ = await chat.visitor(
        visitor_token=welcome["visitor_token"], page={"url": "https://shop.example.com/other"}
    )
    await client.request({"type": "ping"})
    return client, list(client.frames)


async def test_offline_message_answered_from_the_inbox_is_shown_on_return(node) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(node)
    receiver = Receiver()
    await receiver.start()
    try:
        async with api(chat, chat.admin_token) as admin:
            hook = await admin.post(
                f"/api/v1/sites/{chat.site['id']}/webhooks",
                json={"url": receiver.url, "events": ["offline_message.created"]},
            )
            assert hook.status_code == 201, hook.text
        visitor, welcome = await chat.visitor()
        saved = await visitor.request(
            {
                "type": "offline_message",
                "name": "Eva",
                "email": "eva@example.com",
                "text": "Refund?",
            }
        )
        assert saved["type"] == "offline_message_saved"
        got = await receiver.wait_for(lambda rs: len(rs) >= 1)
        assert got[0].headers["x-beckon-event"] == "offline_message.created"
        assert orjson.loads(got[0].body)["data"]["text"] == "Refund?"
    finally:
        await receiver.stop()
    (item,) = await wait_items(chat, 1)
    assert (item["kind"], item["status"], item["name"], item["email"], item["text"]) == (
        "offline_message",
        "new",
        "Eva",
        "eva@example.com",
        "Refund?",
    )
    assert item["visitor_id"] == welcome["visitor_id"] and item["conversation_id"] is None
    async with api(chat) as client:
        counts = (await client.get("/api/v1/inbox/counts")).json()
        assert (counts["open"], counts["new"], counts["mine"]) == (1, 1, 0)
        mine = await client.patch(f"/api/v1/inbox/{item['id']}", json={"agent_id": "me"})
        assert mine.status_code == 200, mine.text
        assert (mine.json()["status"], mine.json()["agent_id"]) == ("assigned", chat.agent["id"])
        assert (await client.get("/api/v1/inbox/counts")).json()["mine"] == 1
        answer = await client.post(
            f"/api/v1/inbox/{item['id']}/reply", json={"text": "Refunded today"}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["item"]["status"] == "waiting" and body["item"]["reply_seq"] == 2
        assert body["message"]["author"] == {"kind": "agent", "name": "Ana", "id": chat.agent["id"]}
        conversation_id = body["item"]["conversation_id"]
        one = (await client.get(f"/api/v1/inbox/{item['id']}")).json()
        assert [(m["author"]["kind"], m["text"]) for m in one["messages"]] == [
            ("visitor", "Refund?"),
            ("agent", "Refunded today"),
        ]
        stored = await client.get(f"/api/v1/conversations/{conversation_id}")
        assert stored.json()["status"] == "closed"
    # Still on the site: the answer arrives live.
    live = await visitor.expect("follow_up")
    assert (live["conversation_id"], live["unread"]) == (conversation_id, 1)
    await visitor.close()
    # Back on another page: the answer, unread, after welcome.
    back, frames = await returning(chat, welcome)
    (shown,) = [f for f in frames if f["type"] == "follow_up"]
    assert [m["text"] for m in shown["messages"]] == ["Refund?", "Refunded today"]
    assert shown["unread"] == 1
    seen = await back.request(
        {"type": "follow_up_read", "conversation_id": conversation_id, "seq": 2}
    )
    assert seen == {
        "type": "follow_up_seen",
        "conversation_id": conversation_id,
        "seq": 2,
        "ref": seen["ref"],
    }
    unknown = await back.request({"type": "follow_up_read", "conversation_id": "cv_x", "seq": 1})
    assert (unknown["type"], unknown["code"], unknown["message"]) == (
        "error",
        "not_found",
        "no such follow-up",
    )
    bad = await back.request({"type": "follow_up_read", "conversation_id": conversation_id})
    assert (bad["type"], bad["code"]) == ("error", "invalid_frame")
    await back.close()
    # Read: not shown again.
    again, frames = await returning(chat, welcome)
    assert [f for f in frames if f["type"] == "follow_up"] == []
    await again.close()
    async with api(chat) as client:
        done = await client.patch(f"/api/v1/inbox/{item['id']}", json={"status": "done"})
        assert done.json()["status"] == "done"
        counts = (await client.get("/api/v1/inbox/counts")).json()
        assert (counts["open"], counts["mine"]) == (0, 0)
        assert counts["sites"][chat.site["id"]]["done"] == 1


async def test_missed_and_unanswered_chats_are_items_an_agent_can_answer(node) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(node, agent_email="ana2@example.com")
    await set_site(chat, settings={"abandon_after_s": 10})
    receiver = Receiver()
    await receiver.start()
    try:
        async with api(chat, chat.admin_token) as admin:
            hook = await admin.post(
                f"/api/v1/sites/{chat.site['id']}/webhooks",
                json={"url": receiver.url, "events": ["conversation.missed"]},
            )
            assert hook.status_code == 201, hook.text
        # Nobody online; the visitor leaves the site while queued: missed.
        gone, gone_welcome = await chat.visitor()
        missed_conv = await gone.request(
            {
                "type": "chat_start",
                "text": "Is this in stock?",
                "prechat": {"name": "Max", "department": "sales"},
            }
        )
        await gone.close()
        got = await receiver.wait_for(lambda rs: len(rs) >= 1, timeout=40)
        data = orjson.loads(got[0].body)["data"]
        assert (data["conversation_id"], data["reason"]) == (missed_conv["id"], "visitor_left")
        assert data["conversation"]["missed_reason"] == "visitor_left"
    finally:
        await receiver.stop()
    (missed,) = await wait_items(chat, 1, kind="missed")
    assert (missed["conversation_id"], missed["department"], missed["text"], missed["name"]) == (
        missed_conv["id"],
        "sales",
        "Is this in stock?",
        "Max",
    )
    # An agent takes a chat; the visitor writes again and leaves before the answer.
    agent, _ = await chat.agent_socket()
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Hello?"})
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    await agent.request(
        {"type": "message", "conversation_id": conv["id"], "text": "Hi!", "client_msg_id": "a1"}
    )
    await visitor.request(
        {
            "type": "message",
            "conversation_id": conv["id"],
            "text": "Size 42?",
            "client_msg_id": "v1",
        }
    )
    await visitor.request({"type": "close", "conversation_id": conv["id"]})
    (unanswered,) = await wait_items(chat, 1, kind="unanswered")
    assert (unanswered["conversation_id"], unanswered["text"]) == (conv["id"], "Hello?\nSize 42?")
    # The console cannot write into the closed chat, the inbox can.
    refused = await agent.request(
        {"type": "message", "conversation_id": conv["id"], "text": "x", "client_msg_id": "a2"}
    )
    assert refused["code"] == "forbidden"
    async with api(chat) as client:
        answer = await client.post(
            f"/api/v1/inbox/{missed['id']}/reply", json={"text": "Yes, in stock"}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["item"]["conversation_id"] == missed_conv["id"]
        assert answer.json()["message"]["seq"] == 2
        # Filters and search.
        by_text = await items(chat, q="SIZE 4")
        assert [i["id"] for i in by_text] == [unanswered["id"]]
        assert [i["id"] for i in await items(chat, status="waiting")] == [missed["id"]]
        assert [i["id"] for i in await items(chat, department="sales")] == [missed["id"]]
        assert [i["id"] for i in await items(chat, agent_id="me")] == [missed["id"]]
        assert await items(chat, q="100%_") == []
    back, frames = await returning(chat, gone_welcome)
    (shown,) = [f for f in frames if f["type"] == "follow_up"]
    assert [m["text"] for m in shown["messages"]] == ["Is this in stock?", "Yes, in stock"]
    # The agent closed last: no item for a chat the agent answered.
    conv2 = await visitor.request({"type": "chat_start", "text": "Again"})
    await agent.request({"type": "accept", "conversation_id": conv2["id"]})
    await agent.request(
        {"type": "message", "conversation_id": conv2["id"], "text": "Done", "client_msg_id": "a3"}
    )
    await visitor.request({"type": "close", "conversation_id": conv2["id"]})
    # The visitor writes last, the agent ends the chat without an answer: unanswered.
    conv3 = await visitor.request({"type": "chat_start", "text": "Hello again"})
    await agent.request({"type": "accept", "conversation_id": conv3["id"]})
    await agent.request({"type": "close", "conversation_id": conv3["id"]})
    (ended,) = await wait_items(chat, 1, q="hello again")
    assert (ended["kind"], ended["conversation_id"]) == ("unanswered", conv3["id"])
    assert len(await items(chat)) == 3
    for client in (agent, visitor, back):
        await client.close()


async def test_bad_inbox_requests_get_exact_errors(node) -> None:  # type: ignore[no-untyped-def]
    chat = await make_chat_site(node, agent_email="ana3@example.com")
    other = await make_chat_site(node, agent_email="ana4@example.com")
    visitor, _ = await chat.visitor()
    await visitor.request({"type": "offline_message", "email": "a@example.com", "text": "Hi"})
    (item,) = await wait_items(chat, 1)
    (outsider,) = await add_agents(other, 1, capacity=1)
    async with api(chat) as client:
        url = f"/api/v1/inbox/{item['id']}"
        cases = [
            (await client.patch(url, json={"status": "bogus"}), 422, "validation_failed"),
            (await client.patch(url, json={"agent_id": outsider["id"]}), 404, "not_found"),
            (await client.patch(url, json={"status": "assigned"}), 409, "conflict"),
            (await client.patch(url, json={"extra": 1}), 422, "validation_failed"),
            (await client.post(f"{url}/reply", json={"text": ""}), 422, "validation_failed"),
            (await client.post(f"{url}/reply", json={}), 422, "validation_failed"),
            (await client.get("/api/v1/inbox/ib_nope"), 404, "not_found"),
            (
                await client.get(f"/api/v1/sites/{chat.site['id']}/inbox?status=open"),
                422,
                "validation_failed",
            ),
            (
                await client.get(f"/api/v1/sites/{chat.site['id']}/inbox?cursor=%%%"),
                422,
                "validation_failed",
            ),
        ]
        for response, status, code in cases:
            assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        messages = [r.json()["error"]["message"] for r, _, _ in cases[1:3]]
        assert messages == [
            "no such agent on this site",
            "an item is assigned to an agent: give agent_id",
        ]
    # Assign to another agent of the site, then to nobody: back to new.
    (teammate,) = await add_agents(chat, 1, capacity=1)
    async with api(chat) as client:
        url = f"/api/v1/inbox/{item['id']}"
        given = (await client.patch(url, json={"agent_id": teammate["id"]})).json()
        assert (given["status"], given["agent_id"]) == ("assigned", teammate["id"])
        assert [i["id"] for i in await items(chat, agent_id=teammate["id"])] == [item["id"]]
        back = (await client.patch(url, json={"agent_id": None})).json()
        assert (back["status"], back["agent_id"]) == ("new", None)
    async with api(chat, teammate["token"]) as client:
        counts = (await client.get("/api/v1/inbox/counts")).json()
        assert (counts["open"], counts["mine"]) == (1, 0)
    # An agent of another site sees neither the item nor the site's inbox.
    async with api(other) as client:
        assert (await client.get(f"/api/v1/inbox/{item['id']}")).status_code == 404
        assert (
            await client.post(f"/api/v1/inbox/{item['id']}/reply", json={"text": "x"})
        ).status_code == 404
        assert (await client.get(f"/api/v1/sites/{chat.site['id']}/inbox")).status_code == 404
        assert chat.site["id"] not in (await client.get("/api/v1/inbox/counts")).json()["sites"]
    async with httpx.AsyncClient(base_url=chat.server_url) as anonymous:
        assert (await anonymous.get("/api/v1/inbox/counts")).status_code == 401
    await visitor.close()


async def test_two_nodes_on_postgres_answer_crosses_nodes(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL + Redis: the visitor is on node A, the agent answers through node B;
    the live follow_up crosses the broker; counts, search and paging run on PostgreSQL."""
    from tests.cluster import cluster

    async with cluster(tmp_path, prefix=redis_prefix) as (a, b):
        chat = await make_chat_site(a)
        visitor, welcome = await chat.visitor(a.url)
        for text in ("first 50%_ off?", "second one"):
            await visitor.request(
                {"type": "offline_message", "email": "e@example.com", "text": text}
            )
        await wait_items(chat, 2)
        async with httpx.AsyncClient(
            base_url=b.url, headers={"Authorization": f"Bearer {chat.agent_token}"}, timeout=10
        ) as client:
            site_inbox = f"/api/v1/sites/{chat.site['id']}/inbox"
            page = (await client.get(site_inbox, params={"limit": 1})).json()
            rest = (
                await client.get(site_inbox, params={"limit": 1, "cursor": page["next_cursor"]})
            ).json()
            assert [i["text"] for i in page["items"] + rest["items"]] == [
                "second one",
                "first 50%_ off?",
            ]
            found = (await client.get(site_inbox, params={"q": "50%_"})).json()["items"]
            assert [i["text"] for i in found] == ["first 50%_ off?"]
            target = found[0]
            await client.patch(f"/api/v1/inbox/{target['id']}", json={"agent_id": "me"})
            counts = (await client.get("/api/v1/inbox/counts")).json()
            assert counts["sites"][chat.site["id"]] == {
                "new": 1,
                "assigned": 1,
                "waiting": 0,
                "done": 0,
                "mine": 1,
            }
            answer = await client.post(f"/api/v1/inbox/{target['id']}/reply", json={"text": "Yes"})
            assert answer.status_code == 201, answer.text
        live = await visitor.expect("follow_up")
        assert [m["text"] for m in live["messages"]] == ["first 50%_ off?", "Yes"]
        await visitor.close()
        back, frames = await returning(chat, welcome)
        assert [f["unread"] for f in frames if f["type"] == "follow_up"] == [1]
        await back.close()
