"""The visitor's page trail in the console's context, live: a visitor
browses the demo shop with the real widget and starts a chat; the agent's context lists
the pages of the visit in order with the time on each, and a page the visitor opens
next appears without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import UI_TIMEOUT_MS, set_status, shot, sign_in
from tests.browser.widget.parties import allow_origin, open_tab
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_the_trail_lists_the_visit_in_order_and_grows_live(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    await allow_origin(chat, node.url)
    console = await sign_in(browser, node.url)
    agent = console.page
    await set_status(agent, "online")  # routing gives the chat to this agent

    shop = await open_tab(browser, f"{node.url}/demo/?site={chat.site['key']}")
    visitor = shop.page
    await visitor.get_by_role("link", name="Oak desk lamp").click()
    await expect(visitor.locator("h1")).to_have_text("Oak desk lamp")
    await expect(shop.shadow("button.l")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await visitor.locator("nav.crumbs").get_by_role("link", name="Shop").click()
    await visitor.get_by_role("link", name="Wool throw").click()
    await expect(visitor.locator("h1")).to_have_text("Wool throw")
    await shop.shadow("button.l").click()
    composer = shop.shadow("textarea")
    await composer.fill("Is the throw machine washable?")
    await composer.press("Enter")

    trail = agent.locator("#context-pane .page-trail li")
    await expect(agent.locator(".chat .transcript")).to_contain_text(
        "machine washable", timeout=UI_TIMEOUT_MS
    )
    await expect(trail).to_have_count(4, timeout=UI_TIMEOUT_MS)
    titles = trail.locator(".trail-title")
    await expect(titles.nth(0)).to_contain_text("Juniper")  # the shop's front page
    await expect(titles.nth(1)).to_contain_text("Oak desk lamp")
    await expect(titles.nth(2)).to_contain_text("Juniper")
    await expect(titles.nth(3)).to_contain_text("Wool throw")
    # Paths and times: closed pages a fixed m:ss, the open one ticking and marked "now".
    await expect(trail.nth(1)).to_contain_text(re.compile(r"/demo/products/lamp · \d+:\d\d"))
    await expect(trail.nth(3)).to_have_class(re.compile(r"\btrail-now\b"))
    await expect(trail.nth(3)).to_contain_text(re.compile(r"/demo/products/throw · \d+:\d\d · now"))
    assert await trail.nth(3).locator(".js-since").count() == 1
    assert await trail.nth(1).locator(".js-since").count() == 0

    # The visitor opens another page: it joins the trail without a reload of the console.
    await agent.evaluate("window.__sameDocument = true")
    await visitor.goto(f"{node.url}/demo/cart")  # the open chat covers the shop's header
    await expect(trail).to_have_count(5, timeout=UI_TIMEOUT_MS)
    await expect(trail.nth(4).locator(".trail-title")).to_contain_text("Cart")
    await expect(trail.nth(4)).to_have_class(re.compile(r"\btrail-now\b"))
    await expect(trail.nth(3)).not_to_have_class(re.compile(r"\btrail-now\b"))
    assert await agent.evaluate("window.__sameDocument") is True
    await shot(agent, "page-trail")
    assert console.errors == [] and shop.errors == []
    await shop.context.close()
    await console.close()
