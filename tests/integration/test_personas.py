"""Rule personas against a real node (issue 19, item 5): an invitation speaks as a named
agent (name and avatar in the frame) or as the least loaded online agent of a
department, picked when it fires; `display: chat` reaches the widget; accepting gives
the agent the chat whose first line is the invitation; unknown agents and departments
are refused when the rule is saved."""

from __future__ import annotations

import httpx

from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import add_agents, deployment, online_agent

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
