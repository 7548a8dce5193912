"""Roles on the agent socket against real `beckon serve` processes: a
marketer is refused; a removed agent's open socket loses the site, on every node; a
revoked token, or a session from before a password change, closes its socket."""

from __future__ import annotations

import httpx
import pytest

from server.hub.agent_access import NO_AGENT_ROLE, NO_SITE
from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.ws_client import ORIGIN, WsClient, ws_url

API = "/api/v1"
PASSWORD = "agent password 1"


async def _admin_call(node: BeckonProcess, method: str, path: str, body: object = None) -> dict:
    admin, csrf = await node.login()
    async with admin:
        response = await admin.request(
            method, f"{API}{path}", json=body, headers={"X-CSRF-Token": csrf}
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _user(node: BeckonProcess, email: str, role: str, site_ids: list[str]) -> dict:
    body = {
        "email": email,
        "password": PASSWORD,
        "role": role,
        "display_name": email.split("@")[0],
        "site_ids": site_ids,
    }
    return await _admin_call(node, "POST", "/agents", body)


async def _cookie_socket(node: BeckonProcess, email: str) -> WsClient:
    client, _ = await node.login(email, PASSWORD)
    async with client:
        cookie = client.cookies.get("beckon_session")
    return await WsClient.connect(
        ws_url(node.url, "/ws/agent"),
        origin=node.url,
        headers={"Cookie": f"beckon_session={cookie}"},
    )


async def _token_socket(node_url: str, token: str) -> WsClient:
    socket = await WsClient.connect(ws_url(node_url, "/ws/agent"), origin=None)
    await socket.send({"type": "hello", "token": token})
    return socket


async def _user_token(node: BeckonProcess, email: str) -> str:
    client, csrf = await node.login(email, PASSWORD)
    async with client:
        response = await client.post(
            f"{API}/tokens", json={"name": "t"}, headers={"X-CSRF-Token": csrf}
        )
    return response.json()["token"]


async def test_a_marketer_is_refused_but_keeps_rest_reads(server: BeckonProcess) -> None:
    node, chat = server, await make_chat_site(server)
    await _user(node, "mk@example.com", "marketer", [chat.site["id"]])
    by_cookie = await _cookie_socket(node, "mk@example.com")
    assert await by_cookie.closed() == (4403, NO_AGENT_ROLE)
    token = await _user_token(node, "mk@example.com")
    by_token = await _token_socket(node.url, token)
    assert await by_token.closed() == (4403, NO_AGENT_ROLE)
    assert not [f for f in by_token.frames if f.get("type") == "welcome"]
    async with httpx.AsyncClient(base_url=node.url) as client:
        response = await client.get(
            f"{API}/sites/{chat.site['id']}/reports/summary",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200


async def test_an_agent_of_no_site_is_refused(server: BeckonProcess) -> None:
    node = server
    await _user(node, "lonely@example.com", "agent", [])
    socket = await _cookie_socket(node, "lonely@example.com")
    assert await socket.closed() == (4403, NO_SITE)


async def test_turning_an_agent_into_a_marketer_closes_its_socket(server: BeckonProcess) -> None:
    node, chat = server, await make_chat_site(server)
    agent, welcome = await chat.agent_socket()
    assert [s["id"] for s in welcome["sites"]] == [chat.site["id"]]
    await _admin_call(node, "PATCH", f"/agents/{chat.agent['id']}", {"role": "marketer"})
    assert await agent.closed() == (4403, NO_AGENT_ROLE)


@pytest.mark.redis
@pytest.mark.postgres
async def test_access_changes_reach_open_sockets_on_the_other_node(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, prefix=redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        kept = await _admin_call(
            one, "POST", "/sites", {"name": "Kept", "allowed_origins": [ORIGIN]}
        )
        site_a, site_b = chat.site["id"], kept["id"]
        agent_id = chat.agent["id"]
        await _admin_call(one, "PATCH", f"/agents/{agent_id}", {"site_ids": [site_a, site_b]})

        # An active chat on site A, held by the agent's socket on node two.
        agent, welcome = await chat.agent_socket(two.url)
        assert sorted(s["id"] for s in welcome["sites"]) == sorted([site_a, site_b])
        visitor, visitor_welcome = await chat.visitor(one.url)
        held = await visitor.request({"type": "chat_start", "text": "on site A"})
        accepted = await agent.request({"type": "accept", "conversation_id": held["id"]})
        assert accepted["status"] == "active"
        await agent.expect(lambda f: f.get("type") == "message" and f["seq"] == 1)

        # Removed from site A on node one: the socket on node two loses it.
        await _admin_call(one, "PATCH", f"/agents/{agent_id}", {"site_ids": [site_b]})
        sites = await agent.expect("sites")
        assert [s["id"] for s in sites["sites"]] == [site_b]
        agent.frames.clear()  # what came before the change; from here nothing of A

        # Its chat there no longer reaches it, nor is it replayed.
        await visitor.send(
            {"type": "message", "conversation_id": held["id"], "client_msg_id": "m2", "text": "2"}
        )
        await visitor.expect(lambda f: f.get("type") == "message" and f["seq"] == 2)
        held_id = held["id"]
        for frame in (
            {"type": "resume", "conversation_id": held_id, "after_seq": 0},
            {"type": "message", "conversation_id": held_id, "client_msg_id": "a", "text": "x"},
            {
                "type": "message",
                "conversation_id": held_id,
                "client_msg_id": "n",
                "text": "a note",
                "internal": True,
            },
            {"type": "typing", "conversation_id": held_id, "on": True},
            {"type": "read", "conversation_id": held_id, "seq": 2},
            {"type": "transfer", "conversation_id": held_id, "department": "support"},
            {"type": "close", "conversation_id": held_id},
            {"type": "invite", "visitor_id": visitor_welcome["visitor_id"], "text": "hi"},
            {"type": "watch", "site_id": site_a},
        ):
            refused = await agent.request(frame)
            assert (refused["type"], refused["code"]) == ("error", "not_found"), frame
        # Site A's queue no longer reaches it either; site B's does.
        newcomer, _ = await chat.visitor(one.url)
        queued_a = await newcomer.request({"type": "chat_start", "text": "queued on A"})
        refused = await agent.request({"type": "accept", "conversation_id": queued_a["id"]})
        assert (refused["type"], refused["code"]) == ("error", "not_found")
        other_site = ChatSite(chat.server_url, kept, chat.agent, chat.agent_token, "")
        b_visitor, _ = await other_site.visitor(one.url)
        await b_visitor.request({"type": "chat_start", "text": "queued on B"})
        await agent.expect(lambda f: f.get("type") == "queue" and f["site_id"] == site_b)
        leaked = [
            f
            for f in agent.frames
            if f.get("conversation_id") == held["id"]
            or f.get("id") == queued_a["id"]
            or f.get("site_id") == site_a
        ]
        assert leaked == []

        # Removed from its last site: the socket is closed.
        await _admin_call(one, "PATCH", f"/agents/{agent_id}", {"site_ids": []})
        assert await agent.closed() == (4403, NO_SITE)
        for c in (visitor, newcomer, b_visitor):
            await c.close()


@pytest.mark.redis
@pytest.mark.postgres
async def test_revoked_credentials_close_sockets_on_the_other_node(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, prefix=redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        # A revoked token: 401 on REST, its socket on node two closed with 4401.
        by_token, _ = await chat.agent_socket(two.url)
        bearer = {"Authorization": f"Bearer {chat.agent_token}"}
        async with httpx.AsyncClient(base_url=two.url) as client:
            tokens = (await client.get(f"{API}/tokens", headers=bearer)).json()["items"]
        async with one.client() as client:
            client.headers.update(bearer)
            response = await client.delete(f"{API}/tokens/{tokens[0]['id']}")
            assert response.status_code == 200
            assert (await client.get(f"{API}/me")).status_code == 401
        assert await by_token.closed() == (4401, "token revoked")

        # A session from before a password change: 401, and its socket closes.
        old_session = await _cookie_socket(two, "agent@example.com")
        await old_session.expect("welcome")
        current, csrf = await one.login("agent@example.com", PASSWORD)
        async with current:
            changed = await current.post(
                f"{API}/me/password",
                json={"current_password": PASSWORD, "new_password": "another password"},
                headers={"X-CSRF-Token": csrf},
            )
            assert changed.status_code == 200
        assert await old_session.closed() == (4401, "session revoked")


async def test_a_site_given_to_an_open_socket_is_followed(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    agent, _ = await chat.agent_socket()
    added = await _admin_call(server, "POST", "/sites", {"name": "B", "allowed_origins": [ORIGIN]})
    await _admin_call(
        server, "PATCH", f"/agents/{chat.agent['id']}", {"site_ids": [chat.site["id"], added["id"]]}
    )
    sites = await agent.expect("sites")
    assert sorted(s["id"] for s in sites["sites"]) == sorted([chat.site["id"], added["id"]])
    assert (await agent.expect("queue"))["site_id"] == added["id"]
    other_site = ChatSite(chat.server_url, added, chat.agent, chat.agent_token, "")
    visitor, _ = await other_site.visitor()
    started = await visitor.request({"type": "chat_start", "text": "on B"})
    queue = await agent.expect(lambda f: f.get("type") == "queue" and f["items"])
    assert [item["id"] for item in queue["items"]] == [started["id"]]
    await visitor.close()


async def test_a_change_whose_event_was_lost_is_found_by_the_recheck(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Written straight to the Store, as if the broker had been down when the admin
    # changed it: no envelope is published; the periodic re-check still finds it.
    from server.store import sites as site_queries
    from server.store.database import open_database

    env = {"BECKON_AGENT_ACCESS_RECHECK_S": "1"}
    async with running_node(tmp_path, env=env) as node:
        chat = await make_chat_site(node)
        agent, _ = await chat.agent_socket()
        db = open_database(node.env["BECKON_DATABASE_URL"])
        try:
            async with db.write() as conn:
                await site_queries.set_memberships(conn, chat.agent["id"], [])
        finally:
            await db.close()
        assert await agent.closed() == (4403, NO_SITE)


async def test_an_admins_open_socket_takes_up_a_new_site(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    admin, welcome = await chat.agent_socket(token=chat.admin_token)
    before = {s["id"] for s in welcome["sites"]}  # every site (the demo site too)
    assert chat.site["id"] in before
    body = {"name": "New", "allowed_origins": [ORIGIN]}
    added = await _admin_call(server, "POST", "/sites", body)
    sites = await admin.expect("sites")
    assert {s["id"] for s in sites["sites"]} == before | {added["id"]}
