"""Rule personas against a real node: an invitation speaks as a named
agent (name and avatar in the frame) or as the least loaded online agent of a
department, picked when it fires; `display: chat` reaches the widget; accepting gives
the agent the chat whose first line is the invitation, said by the persona, and routes
the chat to the persona first; unknown agents and departments are refused when the rule
is saved."""

from __future__ import annotations

import httpx

from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import add_agents, deployment, online_agent
from tests.ws_client import WsClient

CHECKOUT = "https://shop.example.com/checkout"


def api(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{chat.server_url}/api/v1/sites/{chat.site['id']}",
        timeout=60,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
    )


def rule(**extra: object) -> dict:
    return {
        "name": "Persona",
        "when": {"fact": "cart.value", "op": "gte", "value": 100},
        "gates": {"max_per_visit": 1},
        "variants": [{"id": "a", "text": {"en": "Can I help with your order?"}}],
        **extra,
    }


async def invited(chat: ChatSite) -> dict:
    visitor, _ = await chat.visitor(page={"url": CHECKOUT})
    await visitor.send({"type": "cart", "value": 150, "currency": "EUR", "items": 1})
    frame = await visitor.expect("invitation", timeout=10)
    frame["socket"] = visitor
    return frame


async def test_named_agent_and_department_personas(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        busy, free = await add_agents(
            chat, 2, capacity=3, departments=["sales"], avatar_url="https://cdn.example/a.png"
        )
        async with api(chat) as client:
            saved = await client.post(
                "/rules", json=rule(persona={"agent_id": chat.agent["id"]}, display="chat")
            )
            assert saved.status_code == 201, saved.text
        frame = await invited(chat)
        assert frame["agent"] == {"name": "Ana", "avatar_url": None}
        assert frame["display"] == "chat"
        visitor = frame.pop("socket")
        # The visitor answers in the chat: the agent's chat starts with the invitation.
        accepted = await visitor.request(
            {
                "type": "invitation_accept",
                "invitation_id": frame["invitation_id"],
                "text": "Yes, about delivery",
            }
        )
        assert accepted["type"] == "conversation"
        async with api(chat) as client:
            transcript = (
                await client.get(
                    f"{chat.server_url}/api/v1/conversations/{accepted['id']}/messages"
                )
            ).json()["items"]
            assert [m["text"] for m in transcript][:2] == [
                "Can I help with your order?",
                "Yes, about delivery",
            ]
            # Now a department persona: the least loaded online sales agent speaks.
            rid = saved.json()["id"]
            patched = await client.patch(
                f"/rules/{rid}", json={"persona": {"department": "sales"}, "display": "card"}
            )
            assert patched.status_code == 200, patched.text
        sockets = [await online_agent(chat, node.url, a["token"]) for a in (busy, free)]
        nobody_else, _ = await chat.visitor(page={"url": CHECKOUT})  # gives `busy` a chat
        started = await nobody_else.request({"type": "chat_start", "text": "hello"})
        assert started["type"] == "conversation"
        taken = await sockets[0].expect(
            lambda f: f.get("type") in ("offer", "assigned", "conversation"), timeout=10
        )
        del taken
        loads = {}
        async with api(chat) as client:
            for item in (await client.get("/agents")).json()["items"]:
                loads[item["id"]] = item["load"]
        least = min((loads[a["id"]], a["id"]) for a in (busy, free))[1]
        frame = await invited(chat)
        expected = next(a for a in (busy, free) if a["id"] == least)
        assert frame["agent"] == {
            "name": expected["display_name"],
            "avatar_url": "https://cdn.example/a.png",
        }
        assert "display" not in frame
        for s in sockets:
            await s.close()
        await frame["socket"].close()
        await nobody_else.close()
        await visitor.close()


async def accept_as(chat: ChatSite, persona: dict, taker: WsClient) -> tuple[WsClient, dict, str]:
    """A visitor invited by the rule speaking as `persona` accepts, and the chat reaches
    the agent socket `taker`: (visitor socket, conversation frame, the assigned agent)."""
    frame = await invited(chat)
    visitor = frame.pop("socket")
    assert frame["agent"]["name"] == persona["display_name"]
    accepted = await visitor.request(
        {"type": "invitation_accept", "invitation_id": frame["invitation_id"]}
    )
    assert accepted["type"] == "conversation", accepted
    assigned = await taker.expect(
        lambda f: f.get("type") == "conversation" and f.get("id") == accepted["id"], timeout=10
    )
    return visitor, accepted, assigned["agent"]["id"]


async def test_the_chat_goes_to_the_agent_the_invitation_spoke_as(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        (bo,) = await add_agents(chat, 1, capacity=3)
        ana = {**chat.agent, "token": chat.agent_token}
        # Both online and idle: least_busy would give the chat to the smaller id, so the
        # persona is the other one.
        persona, other = sorted((ana, bo), key=lambda a: a["id"], reverse=True)
        sockets = {a["id"]: await online_agent(chat, node.url, a["token"]) for a in (ana, bo)}
        async with api(chat) as client:
            saved = await client.post("/rules", json=rule(persona={"agent_id": persona["id"]}))
            assert saved.status_code == 201, saved.text
        visitor, accepted, taker = await accept_as(chat, persona, sockets[persona["id"]])
        assert taker == persona["id"]
        # The visitor's widget learns who has the chat (name and face in its header).
        await visitor.expect(
            lambda f: (
                f.get("type") == "conversation"
                and f.get("id") == accepted["id"]
                and (f.get("agent") or {}).get("id") == persona["id"]
            ),
            timeout=10,
        )
        async with api(chat) as client:
            base = f"{chat.server_url}/api/v1/conversations/{accepted['id']}"
            first = (await client.get(f"{base}/messages")).json()["items"][0]
            assert first["text"] == "Can I help with your order?"
            assert first["author"] == {
                "kind": "agent",
                "name": persona["display_name"],
                "id": persona["id"],
            }
            conv = (await client.get(base)).json()
            assert conv["agent_id"] == persona["id"]
            # The invitation is not an answer: the first response time waits for one.
            assert conv["first_response_ts"] is None
        replied = await sockets[persona["id"]].request(
            {
                "type": "message",
                "conversation_id": accepted["id"],
                "client_msg_id": "hi-1",
                "text": "Hi, I am here",
            }
        )
        assert replied["type"] == "message", replied
        async with api(chat) as client:
            conv = (await client.get(base)).json()
            assert conv["first_response_ts"] == replied["ts"]
        # The persona away → the next visitor's chat is routed as usual (to the other).
        away = await sockets[persona["id"]].request({"type": "status", "status": "away"})
        assert away["status"] == "away", away
        second, _, taker = await accept_as(chat, persona, sockets[other["id"]])
        assert taker == other["id"]
        for s in sockets.values():
            await s.close()
        await visitor.close()
        await second.close()


async def test_unknown_agents_and_departments_are_refused(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        async with api(chat) as client:
            for persona, path, message in (
                (
                    {"agent_id": "us_nobody"},
                    "persona.agent_id",
                    'no agent "us_nobody" on this site (an active member of its team)',
                ),
                ({"department": "legal"}, "persona.department", 'unknown department "legal"'),
                ({"name": "Ana"}, "persona.name", "unknown field"),
            ):
                for method, url in (("POST", "/rules"), ("POST", "/rules/validate")):
                    response = await client.request(method, url, json=rule(persona=persona))
                    assert response.status_code == 422, response.text
                    error = response.json()["error"]
                    assert error["code"] == "validation_failed"
                    assert {"path": path, "message": message} in error["details"]
            response = await client.post("/rules", json=rule(display="banner"))
            assert response.json()["error"]["details"] == [
                {"path": "display", "message": 'expected "card" or "chat"'}
            ]
            # With no persona and an agent gone from the site, invitations speak for it.
            saved = await client.post("/rules", json=rule(persona={"department": "sales"}))
            assert saved.status_code == 201, saved.text
        frame = await invited(chat)  # nobody of sales online: the site speaks
        assert "agent" not in frame
        await frame["socket"].close()
