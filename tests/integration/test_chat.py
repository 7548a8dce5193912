"""A chat end to end on one node: visitor and agent sockets, durability, resume, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.ws_client import WsClient, ws_url

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("chat")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _queued_chat(chat: ChatSite, text: str = "Hello?") -> tuple[WsClient, dict, str]:
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": text})
    assert conv["type"] == "conversation" and conv["status"] == "queued"
    first = await visitor.expect("message")
    assert (first["seq"], first["text"], first["author"]) == (1, text, {"kind": "visitor"})
    return visitor, welcome, conv["id"]


async def _stored(chat: ChatSite, conversation_id: str) -> list[tuple[int, str]]:
    """(seq, text) of the conversation's stored messages, as an agent reads them."""
    async with httpx.AsyncClient(base_url=chat.server_url) as client:
        response = await client.get(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
    return [(m["seq"], m["text"]) for m in response.json()["items"]]


async def test_a_whole_chat(chat: ChatSite) -> None:
    visitor, welcome, cid = await _queued_chat(chat)
    assert welcome["visitor_token"].startswith("v1.")
    agent, agent_welcome = await chat.agent_socket()
    assert cid in [c["id"] for c in agent_welcome["queue"]]
    accepted = await agent.request({"type": "accept", "conversation_id": cid})
    assert accepted["status"] == "active" and accepted["agent"]["name"] == "Ana"
    joined = await visitor.expect(lambda f: f["type"] == "conversation" and f["status"] == "active")
    assert joined["agent"]["name"] == "Ana"
    # The agent got the history on accept.
    history = await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
    assert history["text"] == "Hello?"

    ack = await agent.request(
        {
            "type": "message",
            "conversation_id": cid,
            "client_msg_id": "a1",
            "text": "Hi! How can I help?",
        }
    )
    assert (ack["seq"], ack["client_msg_id"], ack["author"]["kind"]) == (2, "a1", "agent")
    got = await visitor.expect("message")
    assert (got["seq"], got["text"], got["author"]["name"]) == (2, "Hi! How can I help?", "Ana")

    await visitor.send({"type": "typing", "conversation_id": cid, "on": True})
    typing = await agent.expect("typing")
    assert typing == {
        "type": "typing",
        "conversation_id": cid,
        "on": True,
        "author": {"kind": "visitor"},
    }
    await agent.send({"type": "typing", "conversation_id": cid, "on": True})
    assert (await visitor.expect("typing"))["author"]["kind"] == "agent"
    await visitor.send({"type": "read", "conversation_id": cid, "seq": 2})
    assert await agent.expect("read") == {"type": "read", "conversation_id": cid, "seq": 2}

    note = await agent.request(
        {
            "type": "message",
            "conversation_id": cid,
            "client_msg_id": "a2",
            "text": "VIP customer",
            "internal": True,
        }
    )
    assert note["internal"] is True and note["seq"] == 3
    reply = await visitor.request(
        {
            "type": "message",
            "conversation_id": cid,
            "client_msg_id": "v2",
            "text": "Where is my order?",
        }
    )
    assert reply["seq"] == 4
    assert all(f.get("text") != "VIP customer" for f in visitor.frames)

    await agent.send({"type": "close", "conversation_id": cid})
    closed = await visitor.expect("closed")
    assert closed == {
        "type": "closed",
        "conversation_id": cid,
        "by": "agent",
        "survey": ["csat", "nps"],
    }
    assert (await agent.expect("closed"))["by"] == "agent"
    late = await visitor.request(
        {"type": "message", "conversation_id": cid, "client_msg_id": "v3", "text": "one more"}
    )
    assert (late["type"], late["code"]) == ("error", "conflict")
    again = await agent.request({"type": "close", "conversation_id": cid})
    assert again["code"] == "conflict"
    assert again["message"] == "cannot close a closed conversation"
    await visitor.close()
    await agent.close()


async def test_retry_is_stored_once(chat: ChatSite) -> None:
    visitor, _, cid = await _queued_chat(chat)
    frame = {"type": "message", "conversation_id": cid, "client_msg_id": "m-1", "text": "once"}
    first = await visitor.request(frame)
    second = await visitor.request(frame)
    assert first["seq"] == second["seq"] == 2 and first["id"] == second["id"]
    assert await _stored(chat, cid) == [(1, "Hello?"), (2, "once")]
    await visitor.close()


async def test_a_retried_start_stores_its_first_line_once(chat: ChatSite) -> None:
    """The widget sends its first line with `chat_start` (so agents never see an empty
    chat): a start sent again, as after a lost reply, gives the same stored line back."""
    visitor, _ = await chat.visitor()
    start = {"type": "chat_start", "text": "Size 38?", "client_msg_id": "first-1"}
    conv = await visitor.request(start)
    ack = await visitor.expect("message")
    again = await visitor.request(start)
    assert again["id"] == conv["id"]
    second = await visitor.expect("message")
    assert (ack["seq"], ack["client_msg_id"]) == (second["seq"], second["client_msg_id"])
    assert (ack["seq"], ack["client_msg_id"]) == (1, "first-1")
    assert await _stored(chat, conv["id"]) == [(1, "Size 38?")]
    bad = await visitor.request({"type": "chat_start", "text": "x", "client_msg_id": ""})
    assert bad["type"] == "error" and bad["code"] == "invalid_frame"
    await visitor.close()


async def test_reconnect_resumes_exactly_what_was_missed(chat: ChatSite) -> None:
    visitor, welcome, cid = await _queued_chat(chat)
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": cid})
    await visitor.close()
    for i in range(5):
        await agent.request(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": f"x{i}",
                "text": f"while away {i}",
            }
        )
    back, again = await chat.visitor(
        visitor_token=welcome["visitor_token"], conversation={"id": cid, "after_seq": 1}
    )
    assert again["visitor_id"] == welcome["visitor_id"]
    assert again["conversation"]["id"] == cid
    seqs = [(await back.expect("message"))["seq"] for _ in range(5)]
    assert seqs == [2, 3, 4, 5, 6]
    # Nothing more: a ping round trip proves no further message was queued before it.
    assert (await back.request({"type": "ping"}))["type"] == "pong"
    assert not [f for f in back.frames if f["type"] == "message"]
    await back.close()
    await agent.close()


async def test_html_is_stored_and_delivered_byte_identical(chat: ChatSite) -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script> &amp; \u202e 😀'
    visitor, _, cid = await _queued_chat(chat, text=payload)
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": cid})
    delivered = await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
    assert delivered["text"] == payload
    await visitor.close()
    await agent.close()


async def test_a_visitor_cannot_touch_another_visitors_conversation(chat: ChatSite) -> None:
    owner, owner_welcome, cid = await _queued_chat(chat)
    intruder, _ = await chat.visitor()
    for frame in (
        {"type": "message", "conversation_id": cid, "client_msg_id": "z", "text": "hi"},
        {"type": "resume", "conversation_id": cid, "after_seq": 0},
        {"type": "close", "conversation_id": cid},
        {"type": "typing", "conversation_id": cid, "on": True},
    ):
        for conversation_id in (cid, "cv_doesnotexist"):
            error = await intruder.request({**frame, "conversation_id": conversation_id})
            assert (error["code"], error["message"]) == ("not_found", "no such conversation")
    # A token of this site is useless on another site.
    async with httpx.AsyncClient(base_url=chat.server_url) as admin:
        other = (
            await admin.post(
                "/api/v1/sites",
                json={"name": "Other", "allowed_origins": ["https://shop.example.com"]},
                headers={"Authorization": f"Bearer {chat.admin_token}"},
            )
        ).json()
    client = await WsClient.connect(ws_url(chat.server_url, f"/ws/visitor?site={other['key']}"))
    await client.send(
        {
            "type": "hello",
            "page": {"url": "https://shop.example.com/"},
            "visitor_token": owner_welcome["visitor_token"],
        }
    )
    error = await client.expect("error")
    assert error["code"] == "unauthorized"
    welcome = await client.expect("welcome")
    assert welcome["visitor_id"] != owner_welcome["visitor_id"]
    for c in (owner, intruder, client):
        await c.close()


async def test_two_agents_accepting_at_once(chat: ChatSite) -> None:
    visitor, _, cid = await _queued_chat(chat)
    one, _ = await chat.agent_socket()
    two, _ = await chat.agent_socket()
    answers = await asyncio.gather(
        one.request({"type": "accept", "conversation_id": cid}),
        two.request({"type": "accept", "conversation_id": cid}),
    )
    kinds = sorted(a["type"] for a in answers)
    assert kinds == ["conversation", "error"]
    assert [a["code"] for a in answers if a["type"] == "error"] == ["conflict"]
    for c in (visitor, one, two):
        await c.close()


async def test_history_rest_is_for_the_sites_agents_only(
    chat: ChatSite, node: BeckonProcess
) -> None:
    visitor, _, cid = await _queued_chat(chat)
    admin, csrf = await node.login()
    async with admin:
        outsider = (
            await admin.post(
                "/api/v1/agents",
                headers={"X-CSRF-Token": csrf},
                json={
                    "email": "outsider@example.com",
                    "password": "agent password 1",
                    "display_name": "Out",
                },
            )
        ).json()
        marketer = (
            await admin.post(
                "/api/v1/agents",
                headers={"X-CSRF-Token": csrf},
                json={
                    "email": "mk2@example.com",
                    "password": "agent password 1",
                    "role": "marketer",
                    "display_name": "Mk",
                    "site_ids": [chat.site["id"]],
                },
            )
        ).json()
    assert outsider["id"] and marketer["id"]
    auth = {"Authorization": f"Bearer {chat.agent_token}"}
    async with httpx.AsyncClient(base_url=chat.server_url) as client:
        listed = (
            await client.get(
                f"/api/v1/sites/{chat.site['id']}/conversations",
                params={"status": "queued"},
                headers=auth,
            )
        ).json()
        assert cid in [c["id"] for c in listed["items"]]
        assert (await client.get(f"/api/v1/conversations/{cid}", headers=auth)).status_code == 200
        bad = await client.get(
            f"/api/v1/conversations/{cid}/messages", params={"after_seq": "x"}, headers=auth
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["path"] == "after_seq"
    for email in ("outsider@example.com", "mk2@example.com"):
        other, _ = await node.login(email, "agent password 1")
        async with other:
            response = await other.get(f"/api/v1/conversations/{cid}/messages")
            assert response.status_code in (403, 404)
    await visitor.close()


async def test_agent_revocation_closes_sockets_with_4401(
    chat: ChatSite, node: BeckonProcess
) -> None:
    admin, csrf = await node.login()
    async with admin:
        temp = (
            await admin.post(
                "/api/v1/agents",
                headers={"X-CSRF-Token": csrf},
                json={
                    "email": "temp@example.com",
                    "password": "agent password 1",
                    "display_name": "Temp",
                    "site_ids": [chat.site["id"]],
                },
            )
        ).json()
    login_client, _ = await node.login("temp@example.com", "agent password 1")
    async with login_client:
        cookie = login_client.cookies.get("beckon_session")
    socket = await WsClient.connect(
        ws_url(node.url, "/ws/agent"),
        origin=node.url,
        headers={"Cookie": f"beckon_session={cookie}"},
    )
    await socket.expect("welcome")
    admin2, csrf2 = await node.login()
    async with admin2:
        await admin2.delete(f"/api/v1/agents/{temp['id']}", headers={"X-CSRF-Token": csrf2})
    code, reason = await socket.closed()
    assert (code, reason) == (4401, "session revoked")


async def test_a_retry_of_a_stored_but_unpublished_message_is_published(
    chat: ChatSite, node: BeckonProcess
) -> None:
    # A node that dies between its commit and its publish leaves a stored message no one
    # was told about. The client's retry is a duplicate, and must still reach the agent.
    from server.chat import messages
    from server.store.database import open_database

    chat = await make_chat_site(node, agent_email="retry@example.com")  # an agent with room
    visitor, welcome, cid = await _queued_chat(chat)
    agent, _ = await chat.agent_socket()
    accepted = await agent.request({"type": "accept", "conversation_id": cid})
    assert accepted["status"] == "active", accepted
    await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
    db = open_database(node.env["BECKON_DATABASE_URL"])
    try:
        stored, _ = await messages.append(  # committed, never published
            db,
            conversation_id=cid,
            sender=f"v:{welcome['visitor_id']}",
            author_kind="visitor",
            author_id=None,
            author_name=None,
            client_msg_id="lost-1",
            text="did you get this?",
        )
    finally:
        await db.close()
    retry = {"conversation_id": cid, "client_msg_id": "lost-1", "text": "did you get this?"}
    ack = await visitor.request({"type": "message", **retry})
    assert ack["seq"] == stored["seq"] == 2
    got = await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 2, timeout=5)
    assert got["text"] == "did you get this?"
    await visitor.close()
    await agent.close()


async def test_visitor_leaving_a_queued_chat_closes_it_as_missed(chat: ChatSite) -> None:
    visitor, _, cid = await _queued_chat(chat)
    closed = await visitor.request({"type": "close", "conversation_id": cid})
    assert (closed["type"], closed["by"], closed["survey"]) == ("closed", "visitor", [])
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/conversations/{cid}",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["missed_reason"]) == ("closed", "visitor_left")
    await visitor.close()
