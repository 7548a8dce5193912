"""A rule's persona in real Chromium: on the demo shop's checkout the
invitation card speaks as the named agent — their name and avatar — and accepting it
gives that chat to the agent with the invitation's words as its first line."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Route, expect

from server.demo import DEMO_RULE
from tests.beckon_process import BeckonProcess
from tests.browser.widget.parties import (
    VIEWPORTS,
    agent_offline,
    agent_online,
    agent_take,
    keep_screenshot,
    open_tab,
)
from tests.browser.widget.test_demo_shop import add_to_cart
from tests.chat_setup import ChatSite
from tests.conftest import subprocess_env
from tests.routing_setup import add_agents

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

INVITATION_TEXT = DEMO_RULE["variants"][0]["text"]["en"]
AVATAR = "https://avatars.example/ana.png"  # served by the test (no network)
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, ...]]:
    tmp = tmp_path_factory.mktemp("persona")
    node = BeckonProcess(subprocess_env(tmp), tmp)
    await node.create_admin()
    await node.start()  # bootstrap on: the demo site and its rule
    try:
        admin, csrf = await node.login()
        async with admin:
            token = (
                await admin.post(
                    "/api/v1/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": csrf}
                )
            ).json()["token"]
            (site,) = (await admin.get("/api/v1/sites")).json()["items"]
            (rule,) = (await admin.get(f"/api/v1/sites/{site['id']}/rules")).json()["items"]
        bare = ChatSite(node.url, site, {}, "", token)
        (agent,) = await add_agents(bare, 1, capacity=3, avatar_url=AVATAR)
        chat = ChatSite(node.url, site, agent, agent["token"], token)
        when = rule["when"]["all"]
        faster = {
            **rule,
            "when": {"all": [*when[:2], {**when[2], "value": 2}]},
            "persona": {"agent_id": agent["id"]},
        }
        async with httpx.AsyncClient(
            base_url=node.url, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            saved = await api.put(f"/api/v1/sites/{site['id']}/rules/{rule['id']}", json=faster)
        assert saved.status_code == 200, saved.text
        yield node, chat, rule
    finally:
        await node.stop()


async def test_the_card_speaks_as_the_agent_and_the_chat_opens_with_the_invitation(
    browser: Browser, shop: tuple[Any, ...]
) -> None:
    node, chat, rule = shop
    agent = await agent_online(chat)
    tab = await open_tab(browser, node.url + "/demo/", **VIEWPORTS["desktop"])
    page = tab.page

    async def avatar(route: Route) -> None:
        await route.fulfill(status=200, content_type="image/png", body=PIXEL)

    await page.route(AVATAR, avatar)
    await add_to_cart(page, "Oak desk lamp")
    await page.locator("a.cart-link").click()
    await page.get_by_role("link", name="Go to checkout").click()
    card = tab.shadow(".inv")
    await expect(card).to_be_visible(timeout=15_000)
    await expect(card.locator(".top span")).to_have_text(chat.agent["display_name"])
    await expect(card.locator(".av img")).to_have_attribute("src", AVATAR)
    await expect(card.locator("p")).to_have_text(INVITATION_TEXT)
    frame = await tab.received_matching(lambda f: f.get("type") == "invitation")
    assert frame["agent"] == {"name": chat.agent["display_name"], "avatar_url": AVATAR}
    assert frame["rule_id"] == rule["id"]
    await keep_screenshot(page, "persona-card")

    await card.get_by_role("button", name="Reply").click()
    await tab.sent_frame("invitation_accept")
    conv_id = await agent_take(agent)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"after_seq": 0, "limit": 10},
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
    first = response.json()["items"][0]
    # The persona says the first line, and (online, with room) has the chat.
    assert first["author"] == {
        "kind": "agent",
        "name": chat.agent["display_name"],
        "id": chat.agent["id"],
    }
    assert first["text"] == INVITATION_TEXT
    await expect(tab.shadow(".row.ra .fa")).to_have_attribute("src", AVATAR)
    assert tab.errors == []
    await agent_offline(agent)
    await tab.context.close()


async def put_display(node: BeckonProcess, chat: ChatSite, rule: dict, display: str) -> None:
    async with httpx.AsyncClient(
        base_url=node.url, timeout=10, headers={"Authorization": f"Bearer {chat.admin_token}"}
    ) as api:
        path = f"/api/v1/sites/{chat.site['id']}/rules/{rule['id']}"
        saved = await api.patch(path, json={"display": display})
    assert saved.status_code == 200, saved.text


async def checkout(page: Any) -> None:
    await add_to_cart(page, "Oak desk lamp")
    await page.locator("a.cart-link").click()
    await page.get_by_role("link", name="Go to checkout").click()


async def test_display_chat_opens_the_widget_and_the_answer_accepts(
    browser: Browser, shop: tuple[Any, ...]
) -> None:
    node, chat, rule = shop
    await put_display(node, chat, rule, "chat")
    agent = await agent_online(chat)
    tab = await open_tab(browser, node.url + "/demo/", **VIEWPORTS["desktop"])
    page = tab.page
    await page.route(AVATAR, lambda route: route.fulfill(status=200, body=PIXEL))
    await checkout(page)
    # No card: the widget opens with the persona's message already in the chat.
    bubble = tab.shadow(".m.a").filter(has_text=INVITATION_TEXT)
    await expect(bubble).to_be_visible(timeout=15_000)
    await expect(tab.shadow(".row.ra .n")).to_have_text(chat.agent["display_name"])
    await expect(tab.shadow(".inv")).to_have_count(0)
    await tab.sent_frame("invitation_shown")
    await keep_screenshot(page, "persona-chat-display")
    composer = tab.shadow("textarea")
    await composer.fill("Is it in stock?")
    await composer.press("Enter")
    accepted = await tab.sent_frame("invitation_accept")
    assert accepted["text"] == "Is it in stock?" and accepted["client_msg_id"]
    assert not [f for f in tab.sent if f.get("type") in ("chat_start", "message")]
    conv_id = await agent_take(agent)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"after_seq": 0, "limit": 10},
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
    items = response.json()["items"]
    assert [(m["author"]["kind"], m["text"]) for m in items[:2]] == [
        ("agent", INVITATION_TEXT),
        ("visitor", "Is it in stock?"),
    ]
    # In the widget the words are said once: the stored first line replaces the draft.
    await expect(tab.shadow(".m.v").filter(has_text="Is it in stock?")).to_be_visible()
    await expect(bubble).to_have_count(1)
    await expect(tab.shadow(".sys").filter(has_text=INVITATION_TEXT)).to_have_count(0)
    await expect(tab.shadow(".m.v").filter(has_text="Is it in stock?")).to_be_visible()
    assert tab.errors == []
    await agent_offline(agent)
    await tab.context.close()


async def test_display_chat_closed_unanswered_is_dismissed(
    browser: Browser, shop: tuple[Any, ...]
) -> None:
    node, chat, rule = shop
    await put_display(node, chat, rule, "chat")
    agent = await agent_online(chat)
    tab = await open_tab(browser, node.url + "/demo/", **VIEWPORTS["desktop"])
    page = tab.page
    await page.route(AVATAR, lambda route: route.fulfill(status=200, body=PIXEL))
    await checkout(page)
    await expect(tab.shadow(".m.a").filter(has_text=INVITATION_TEXT)).to_be_visible(timeout=15_000)
    shown = await tab.sent_frame("invitation_shown")
    await tab.shadow("button.l").click()  # the bubble closes the open widget
    dismissed = await tab.sent_frame("invitation_dismiss")
    assert dismissed["invitation_id"] == shown["invitation_id"]
    assert not [f for f in tab.sent if f.get("type") in ("chat_start", "invitation_accept")]
    assert tab.errors == []
    await agent_offline(agent)
    await tab.context.close()
