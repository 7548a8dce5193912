"""Decisions over time against a real node: a visitor goes unmatched → blocked (no agent)
→ fired → shown → accepted → chatted → converted; the REST timeline, "why", "why not"
and the rule's funnel say exactly that; sampling above the site's rate, the per-visit
cap and bad input."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from invitations.decisions import MAX_CHANGES_PER_VISIT
from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.routing_setup import FAST, online_agent
from tests.waiting import wait_until
from tests.ws_client import WsClient

CHECKOUT = "https://shop.example.com/checkout"
RULE = {
    "name": "Big cart, agent online",
    "when": {"fact": "cart.value", "op": "gte", "value": 100},
    "gates": {"require_agent_online": True},
    "variants": [{"id": "a", "text": {"en": "Need a hand?"}}],
}


@contextlib.asynccontextmanager
async def node(tmp: Path, **env: str) -> AsyncIterator[BeckonProcess]:
    process = BeckonProcess({**subprocess_env(tmp), **FAST, **env}, tmp)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def api(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{chat.server_url}/api/v1/sites/{chat.site['id']}",
        timeout=60,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
    )


async def save_rule(chat: ChatSite, body: dict) -> dict:
    async with api(chat) as client:
        response = await client.post("/rules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def cart(visitor: WsClient, value: float) -> None:
    await visitor.send({"type": "cart", "value": value, "currency": "EUR", "items": 1})
    # A round trip: the cart frame before it has been handled.
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"


async def timeline(chat: ChatSite, rule_id: str, visitor_id: str, count: int) -> list[dict]:
    async with api(chat) as client:

        async def read() -> list[dict]:
            response = await client.get(f"/rules/{rule_id}/why-not/{visitor_id}")
            assert response.status_code == 200, response.text
            return response.json()["timeline"]

        return await wait_until(
            read, lambda t: len(t) >= count, timeout=10, what=f"{count} changes recorded"
        )


def outcomes(changes: list[dict]) -> list[tuple[str, str | None]]:
    return [(c["outcome"], c["detail"]) for c in changes]


async def test_a_visitor_s_timeline_and_the_rule_s_funnel(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with node(tmp_path) as server:
        chat = await make_chat_site(server)
        saved = await save_rule(chat, RULE)
        rule_id = saved["id"]
        # One visitor who never matches: nothing recorded at all.
        idle, idle_welcome = await chat.visitor(page={"url": CHECKOUT})
        await cart(idle, 10)
        # One who matches while nobody is online, and leaves.
        gone, gone_welcome = await chat.visitor(page={"url": CHECKOUT})
        await cart(gone, 150)
        (gone_change,) = await timeline(chat, rule_id, gone_welcome["visitor_id"], 1)
        assert outcomes([gone_change]) == [("blocked", "agent_offline")]
        await gone.close()
        # The one who goes all the way.
        visitor, welcome = await chat.visitor(page={"url": CHECKOUT})
        vid = welcome["visitor_id"]
        await cart(visitor, 50)
        await cart(visitor, 150)
        assert outcomes(await timeline(chat, rule_id, vid, 1)) == [("blocked", "agent_offline")]
        agent = await online_agent(chat, server.url, chat.agent_token)
        invitation = await visitor.expect("invitation", timeout=10)
        await visitor.send(
            {"type": "invitation_shown", "invitation_id": invitation["invitation_id"]}
        )
        accepted = await visitor.request(
            {
                "type": "invitation_accept",
                "invitation_id": invitation["invitation_id"],
                "text": "yes please",
            }
        )
        assert accepted["type"] == "conversation"
        async with api(chat) as client:
            response = await client.post(
                "/events",
                json={
                    "visitor_id": vid,
                    "event": {
                        "type": "track",
                        "event": "conversion",
                        "props": {"value": 42, "currency": "EUR", "order_id": "o1"},
                    },
                },
            )
            assert response.status_code == 202, response.text
        changes = await timeline(chat, rule_id, vid, 7)
        assert outcomes(changes) == [
            ("blocked", "agent_offline"),
            ("fired", None),
            ("shown", None),
            ("accepted", None),
            ("blocked", "open_conversation"),
            ("chatted", None),
            ("converted", None),
        ]
        assert [c["ts"] for c in changes] == sorted(c["ts"] for c in changes)
        fired = changes[1]
        assert (fired["variant_id"], fired["invitation_id"]) == ("a", invitation["invitation_id"])
        assert {c["invitation_id"] for c in changes[1:4]} == {invitation["invitation_id"]}
        assert not any(c["sampled"] for c in changes)
        async with api(chat) as client:
            # The idle visitor: no change recorded, so no timeline.
            idle_why = (
                await client.get(f"/rules/{rule_id}/why-not/{idle_welcome['visitor_id']}")
            ).json()
            assert idle_why["timeline"] == []
            assert idle_why["now"] == {"outcome": "false", "reason": "when"}
            # The console's "why": the same changes, with the rule's name.
            why = (await client.get(f"/visitors/{vid}/why")).json()
            assert outcomes(why["timeline"]) == outcomes(changes)
            assert {c["rule_name"] for c in why["timeline"]} == {RULE["name"]}
            why_not = (await client.get(f"/rules/{rule_id}/why-not/{vid}")).json()
            assert why_not["now"]["outcome"] == "blocked"
            assert why_not["now"]["reason"] == "open_conversation"
            funnel = (await client.get(f"/rules/{rule_id}/funnel")).json()
            steps = {s["step"]: s["visitors"] for s in funnel["steps"]}
            assert steps == {
                "matched": 2,
                "gate:open_conversation": 2,
                "gate:agent_offline": 1,
                "gate:no_capacity": 1,
                "fired": 1,
                "shown": 1,
                "accepted": 1,
                "chatted": 1,
                "converted": 1,
            }
            assert [s["step"] for s in funnel["steps"]][-5:] == [
                "fired",
                "shown",
                "accepted",
                "chatted",
                "converted",
            ]
            assert (funnel["held_out"], funnel["sampled_visitors"]) == (0, 0)
            # A window before any of it: nobody.
            early = (
                await client.get(
                    f"/rules/{rule_id}/funnel", params={"from_ts": 1, "to_ts": gone_change["ts"]}
                )
            ).json()
            assert {s["visitors"] for s in early["steps"]} == {0}
        await visitor.close()
        await idle.close()
        await agent.close()


async def test_bad_input_is_refused_with_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with node(tmp_path) as server:
        chat = await make_chat_site(server)
        saved = await save_rule(chat, RULE)
        async with api(chat) as client:
            backwards = await client.get(
                f"/rules/{saved['id']}/funnel", params={"from_ts": 10, "to_ts": 5}
            )
            assert backwards.status_code == 400, backwards.text
            assert "from_ts" in backwards.json()["error"]["message"]
            junk = await client.get(f"/rules/{saved['id']}/funnel", params={"from_ts": "soon"})
            assert junk.status_code == 422
            assert junk.json()["error"]["details"][0]["path"] == "from_ts"
            missing = await client.get("/rules/rl_nope/funnel")
            assert (missing.status_code, missing.json()["error"]["message"]) == (
                404,
                "no such rule",
            )
            stranger = await client.get(f"/rules/{saved['id']}/why-not/vi_nobody")
            assert (stranger.status_code, stranger.json()["error"]["message"]) == (
                404,
                "no such visitor",
            )
        async with httpx.AsyncClient(base_url=chat.server_url) as anonymous:
            response = await anonymous.get(
                f"/api/v1/sites/{chat.site['id']}/rules/{saved['id']}/funnel"
            )
            assert response.status_code == 401


async def test_sampling_past_the_rate_and_the_cap_per_visit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One visitor a minute in full, then a 0 % sample: the next visitor's changes are not
    recorded. A visitor flipping the rule back and forth stops at the per-visit cap."""
    env = {"BECKON_DECISION_LOG_FULL_PER_MIN": "1", "BECKON_DECISION_LOG_SAMPLE_PCT": "0"}
    async with node(tmp_path, **env) as server:
        chat = await make_chat_site(server)
        rule_id = (await save_rule(chat, RULE))["id"]  # nobody online: blocked
        for _attempt in range(3):
            minute = int(time.time() // 60)
            first, first_welcome = await chat.visitor(page={"url": CHECKOUT})
            second, second_welcome = await chat.visitor(page={"url": CHECKOUT})
            await cart(first, 150)
            await cart(second, 150)
            if int(time.time() // 60) == minute:
                break  # both began in the same minute of the node's count
            await first.close()
            await second.close()
        await cart(first, 50)
        # The first visitor's second change was buffered after the second visitor's
        # decision: once it is in the Store, the second's would be too.
        assert len(await timeline(chat, rule_id, first_welcome["visitor_id"], 2)) == 2
        async with api(chat) as client:
            skipped = await client.get(f"/rules/{rule_id}/why-not/{second_welcome['visitor_id']}")
            assert skipped.json()["timeline"] == []
        # 210 more flips, 35 per tab: a socket may send 40 frames in a burst.
        for _tab in range(6):
            tab, _ = await chat.visitor(
                visitor_token=first_welcome["visitor_token"], page={"url": CHECKOUT}
            )
            for i in range(35):
                await tab.send({"type": "cart", "value": 150 if i % 2 else 50, "currency": "EUR"})
            assert (await tab.request({"type": "ping"}))["type"] == "pong"
            assert not [f for f in tab.frames if f["type"] == "error"]
            await tab.close()
        capped = await timeline(chat, rule_id, first_welcome["visitor_id"], MAX_CHANGES_PER_VISIT)
        assert len(capped) == MAX_CHANGES_PER_VISIT
        assert outcomes(capped[:3]) == [
            ("blocked", "agent_offline"),
            ("unmatched", None),
            ("blocked", "agent_offline"),
        ]
        await first.close()
        await second.close()
