"""Struggle signals over the real socket and REST: validated like
every behaviour frame, counted in the visitor's context, and capped per visit — past
the cap an `error` frame (socket) or a 429 (REST) with code `rate_limited`."""

from __future__ import annotations

import asyncio

import httpx

from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import deployment

CAP = 50


def api(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        timeout=30,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
    )


async def test_signals_count_in_the_context_and_a_flood_is_capped(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        visitor, welcome = await chat.visitor()
        vid = welcome["visitor_id"]

        bad = await visitor.request(
            {"type": "track", "event": "search_no_results", "props": {"q": "red sofa"}}
        )
        assert (bad["type"], bad["code"]) == ("error", "invalid_frame")
        assert bad["message"] == (
            "field 'props.q' is not a prop of search_no_results (allowed: none)"
        )

        # Paced under the socket's frame rate (20/s, burst 40), so only the cap can refuse.
        for _ in range(CAP // 10):
            for _ in range(10):
                await visitor.send({"type": "track", "event": "dead_click"})
            assert (await visitor.request({"type": "ping"}))["type"] == "pong"
            await asyncio.sleep(0.6)
        refused = await visitor.request({"type": "track", "event": "dead_click"})
        assert refused == {
            "type": "error",
            "code": "rate_limited",
            "message": f"at most {CAP} dead_click signals are counted per visit",
            "ref": refused["ref"],
        }
        await visitor.send({"type": "track", "event": "error_page", "props": {"status": 500}})
        assert (await visitor.request({"type": "ping"}))["type"] == "pong"

        async with api(chat) as client:
            context = await client.get(f"/api/v1/sites/{chat.site['id']}/visitors/{vid}")
            assert context.status_code == 200, context.text
            signals = context.json()["signals"]
            assert set(signals) == {"dead_click", "error_page"}
            assert signals["dead_click"]["count"] == CAP
            assert signals["error_page"]["count"] == 1
            assert 0 <= signals["error_page"]["ago_s"] <= 5

            # The site's backend hits the same cap (checked before the event is logged).
            posted = await client.post(
                f"/api/v1/sites/{chat.site['id']}/events",
                json={"visitor_id": vid, "event": {"type": "track", "event": "dead_click"}},
            )
            assert posted.status_code == 429, posted.text
            assert posted.json()["error"] == {
                "code": "rate_limited",
                "message": f"at most {CAP} dead_click signals are counted per visit",
            }
            declared = await client.post(
                f"/api/v1/sites/{chat.site['id']}/events",
                json={"visitor_id": vid, "event": {"type": "track", "event": "search_no_results"}},
            )
            assert declared.status_code == 202, declared.text
        await visitor.close()
