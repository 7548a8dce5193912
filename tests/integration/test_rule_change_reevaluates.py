"""A rule change reaches the visitors already on the site: a new
rule saved enabled, or a disabled one enabled, invites a visitor who matches now —
without another frame from them — on every node, not at their next page view; a
visitor who does not match is not invited; a new rule saved enabled stays enabled."""

from __future__ import annotations

import httpx

from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import deployment

PRICING = "https://shop.example.com/pricing"
ELSEWHERE = "https://shop.example.com/blog"


def rule(**overrides: object) -> dict:
    body = {
        "name": "Reading the prices",
        "enabled": True,
        "when": {"all": [{"fact": "page.path", "op": "eq", "value": "/pricing"}]},
        "gates": {"require_agent_online": False, "max_per_visit": 1},
        "variants": [{"id": "a", "weight": 1, "text": {"en": "Questions about a plan?"}}],
    }
    body.update(overrides)
    return body


def api(chat: ChatSite, url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, timeout=60, headers={"Authorization": f"Bearer {chat.admin_token}"}
    )


async def test_saving_or_enabling_a_rule_invites_who_matches_now(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("cluster", tmp_path, redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        rules = f"/api/v1/sites/{chat.site['id']}/rules"
        # On the site before any rule: one on each node reading the prices, one elsewhere.
        here, _ = await chat.visitor(one.url, page={"url": PRICING})
        there, _ = await chat.visitor(two.url, page={"url": PRICING})
        away, _ = await chat.visitor(two.url, page={"url": ELSEWHERE})
        # The hello was applied once the socket answers a later frame.
        for visitor in (here, there, away):
            assert (await visitor.request({"type": "ping"}))["type"] == "pong"

        async with api(chat, one.url) as client:
            saved = await client.post(rules, json=rule())
        assert saved.status_code == 201, saved.text
        assert saved.json()["enabled"] is True
        for visitor in (here, there):
            invitation = await visitor.expect("invitation", timeout=10)
            assert invitation["text"] == "Questions about a plan?"
            assert invitation["rule_id"] == saved.json()["id"]

        # A disabled rule changes nothing; enabling it (on the other node) invites now.
        async with api(chat, two.url) as client:
            off = await client.post(
                rules,
                json=rule(
                    name="Reading the blog",
                    enabled=False,
                    when={"all": [{"fact": "page.path", "op": "eq", "value": "/blog"}]},
                    variants=[{"id": "a", "weight": 1, "text": {"en": "Enjoying the blog?"}}],
                ),
            )
            assert off.status_code == 201, off.text
            assert off.json()["enabled"] is False
            assert (await away.request({"type": "ping"}))["type"] == "pong"
            assert not [f for f in away.frames if f.get("type") == "invitation"]
            enabled = await client.patch(f"{rules}/{off.json()['id']}", json={"enabled": True})
            assert enabled.status_code == 200, enabled.text
        invitation = await away.expect("invitation", timeout=10)
        assert invitation["text"] == "Enjoying the blog?"
        # No second invitation (`expect` took the first): the budget holds across passes.
        for visitor in (here, there, away):
            assert (await visitor.request({"type": "ping"}))["type"] == "pong"
            assert not [f for f in visitor.frames if f.get("type") == "invitation"]
            await visitor.close()
