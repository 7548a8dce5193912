"""Bans against real nodes: a banned visitor sees nobody online, their
chat starts and messages are refused as when nobody can chat, their offline messages
are answered but dropped; a ban and its lifting reach a visitor on another node at once
(two nodes on PostgreSQL + Redis); bad bans get 422/403/404."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import httpx
import pytest

from server.bans.visitor import NOBODY
from server.ids import now_ms
from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import deployment, online_agent
from tests.waiting import wait_until

API = "/api/v1"
OFFLINE = {"type": "availability", "online": False}
ONLINE = {"type": "availability", "online": True}


def _rest(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=20, headers={"Authorization": f"Bearer {token}"})


async def _ban(client: httpx.AsyncClient, site: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/sites/{site}/bans", json={"reason": "abuse", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def _offline_messages(chat: ChatSite) -> list[dict[str, Any]]:
    async with _rest(chat.server_url, chat.agent_token) as client:
        response = await client.get(f"{API}/sites/{chat.site['id']}/offline-messages")
    return response.json()["items"]


@pytest.mark.parametrize("kind", ["single", "cluster"])
async def test_a_ban_holds_on_every_node_at_once(kind: str, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment(kind, tmp_path, redis_prefix) as nodes:
        first, last = nodes[0], nodes[-1]
        chat = await make_chat_site(first)
        site = chat.site["id"]
        agent_socket = await online_agent(chat, first.url, chat.agent_token)
        # The visitor is on the other node than the agent who bans them.
        visitor, welcome = await chat.visitor(last.url)
        assert welcome["online"] is True
        other, other_welcome = await chat.visitor(last.url)
        conv = await other.request({"type": "chat_start", "text": "hi"})
        assert conv["type"] == "conversation"

        async with aclosing(_rest(first.url, chat.agent_token)) as agent:
            ban = await _ban(agent, site, visitor_id=welcome["visitor_id"])
            assert await visitor.expect(lambda f: f == OFFLINE)
            refused = await visitor.request({"type": "chat_start", "text": "hello?"})
            assert (refused["type"], refused["code"], refused["message"]) == (
                "error", "unavailable", NOBODY,
            )  # fmt: skip
            saved = await visitor.request(
                {"type": "offline_message", "email": "x@example.com", "text": "let me in"}
            )
            assert saved["type"] == "offline_message_saved" and saved["id"].startswith("om_")
            assert await _offline_messages(chat) == []
            # A new socket of the same visitor, on either node, is told nobody is online.
            again, again_welcome = await chat.visitor(
                first.url, visitor_token=welcome["visitor_token"]
            )
            assert again_welcome["online"] is False
            # Not the other visitor: their chat goes on, until they are banned mid-chat.
            sent = await other.request(
                {
                    "type": "message",
                    "conversation_id": conv["id"],
                    "text": "still here",
                    "client_msg_id": "m1",
                }
            )
            assert sent["type"] == "message", sent
            await _ban(agent, site, visitor_id=other_welcome["visitor_id"])
            assert await other.expect(lambda f: f == OFFLINE)
            dropped = await other.request(
                {
                    "type": "message",
                    "conversation_id": conv["id"],
                    "text": "spam",
                    "client_msg_id": "m2",
                }
            )
            assert (dropped["code"], dropped["message"]) == ("unavailable", NOBODY)

        # Lifted from the admin on the other node: back online, chats start again.
        async with aclosing(_rest(last.url, chat.admin_token)) as admin:
            lifted = await admin.delete(f"{API}/sites/{site}/bans/{ban['id']}")
            assert lifted.status_code == 200, lifted.text
            assert lifted.json()["active"] is False
            assert await visitor.expect(lambda f: f == ONLINE)
            assert await again.expect(lambda f: f == ONLINE)
            started = await visitor.request({"type": "chat_start", "text": "sorry"})
            assert started["type"] == "conversation"
            listed = (await admin.get(f"{API}/sites/{site}/bans")).json()["items"]
            assert [b["visitor_id"] for b in listed] == [other_welcome["visitor_id"]]
            every = (await admin.get(f"{API}/sites/{site}/bans?state=all")).json()["items"]
            assert [b["active"] for b in every] == [True, False]

            # By address: every visitor from it, new or connected, on every node.
            address_ban = await _ban(admin, site, address="127.0.0.1", expires_ts=now_ms() + 60_000)
            assert address_ban["network"] == "127.0.0.1/32"
            assert await visitor.expect(lambda f: f == OFFLINE)
            newcomer, newcomer_welcome = await chat.visitor(first.url)
            assert newcomer_welcome["online"] is False
            assert (
                await admin.delete(f"{API}/sites/{site}/bans/{address_ban['id']}")
            ).status_code == 200
            assert await newcomer.expect(lambda f: f == ONLINE)
        for client in (visitor, other, again, newcomer, agent_socket):
            await client.close()


async def test_an_expired_ban_no_longer_holds(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    visitor, welcome = await chat.visitor()
    async with aclosing(_rest(server.url, chat.agent_token)) as agent:
        ban = await _ban(
            agent, chat.site["id"], visitor_id=welcome["visitor_id"], expires_ts=now_ms() + 1500
        )
        refused = await visitor.request({"type": "chat_start", "text": "hi"})
        assert refused["code"] == "unavailable"
        await visitor.expect(lambda f: f == OFFLINE)

        # Past its expiry the ban no longer holds, on the node's cached list too.
        async def active() -> list[dict[str, Any]]:
            listed = await agent.get(f"{API}/sites/{chat.site['id']}/bans")
            return listed.json()["items"]

        assert [b["id"] for b in await active()] == [ban["id"]]
        await wait_until(active, lambda items: items == [], 10, "the ban expired")
        started = await visitor.request({"type": "chat_start", "text": "hi"})
        assert started["type"] == "conversation"
        assert (await agent.get(f"{API}/sites/{chat.site['id']}/bans")).json()["items"] == []
    await visitor.close()


async def test_bad_bans_are_refused(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    site = chat.site["id"]
    async with aclosing(_rest(server.url, chat.agent_token)) as agent:

        async def refused(body: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
            response = await agent.post(f"{API}/sites/{site}/bans", json=body)
            details = response.json()["error"].get("details", [])
            return response.status_code, [(d["path"], d["message"]) for d in details]

        assert await refused({"reason": "x"}) == (
            422, [("(body)", "give exactly one of visitor_id and address")],
        )  # fmt: skip
        assert await refused({"reason": "x", "visitor_id": "vi_1", "address": "10.0.0.1"}) == (
            422, [("(body)", "give exactly one of visitor_id and address")],
        )  # fmt: skip
        assert await refused({"reason": "x", "address": "not an address"}) == (
            422, [("address", "not an IP address or CIDR network")],
        )  # fmt: skip
        assert await refused({"reason": "x", "address": "10.0.0.0/8"}) == (
            422, [("address", "a network wider than /16 would ban too many visitors")],
        )  # fmt: skip
        assert await refused({"reason": "x", "address": "2001:db8::/32"}) == (
            422, [("address", "a network wider than /48 would ban too many visitors")],
        )  # fmt: skip
        assert await refused({"reason": "x", "visitor_id": "vi_1", "expires_ts": 1}) == (
            422, [("expires_ts", "must be in the future")],
        )  # fmt: skip
        status, details = await refused({"visitor_id": "vi_1"})
        assert (status, details[0][0]) == (422, "reason")
        status, details = await refused({"reason": "x", "visitor_id": "vi 1"})
        assert (status, details[0][0]) == (422, "visitor_id")
        # Host bits are cleared: the network is what is stored.
        ban = await _ban(agent, site, address="192.0.2.77/24")
        assert ban["network"] == "192.0.2.0/24"
        missing = await agent.delete(f"{API}/sites/{site}/bans/bn_nothing")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        assert (await agent.delete(f"{API}/sites/{site}/bans/{ban['id']}")).status_code == 200
        twice = await agent.delete(f"{API}/sites/{site}/bans/{ban['id']}")
        assert (twice.status_code, twice.json()["error"]["message"]) == (404, "no such ban")
        elsewhere = await agent.post(
            f"{API}/sites/st_other/bans", json={"reason": "x", "visitor_id": "v"}
        )
        assert elsewhere.status_code == 404
    # Audit: who banned and lifted, from where.
    async with aclosing(_rest(server.url, chat.admin_token)) as admin:
        entries = (await admin.get(f"{API}/audit", params={"action": "ban."})).json()["items"]
    assert [(e["action"], e["actor_role"], e["ip"], e["target"]) for e in entries] == [
        ("ban.lift", "agent", "127.0.0.1", ban["id"]),
        ("ban.create", "agent", "127.0.0.1", ban["id"]),
    ]
    assert entries[0]["before"]["lifted_ts"] is None
    assert entries[0]["after"]["lifted_ts"] is not None
    assert entries[1]["after"]["reason"] == "abuse"
