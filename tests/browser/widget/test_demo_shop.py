"""The demo shop in real Chromium against a first-run `beckon serve`: a visitor
shops, waits on the checkout, gets the demo rule's invitation, accepts it and chats with an
agent; the conversation remembers the rule, and the order is credited to it. Screenshots of
the shop (desktop and mobile) are kept as demo-*.png (tests/screenshots.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

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
from tests.chat_setup import ChatSite
from tests.conftest import subprocess_env
from tests.routing_setup import add_agents
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

RULE_WAIT_S = 2  # the test's rule time on the checkout (the first-run rule says 5)
INVITATION_TEXT = DEMO_RULE["variants"][0]["text"]["en"]
INVITATION_MS = 15_000


@dataclass
class Shop:
    node: BeckonProcess
    chat: ChatSite  # the first-run "Demo site", an agent on it, an admin token
    rule: dict[str, Any]  # the first-run demo rule, its time shortened to RULE_WAIT_S

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.node.url,
            timeout=10,
            headers={"Authorization": f"Bearer {self.chat.admin_token}"},
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    tmp = tmp_path_factory.mktemp("demo-shop")
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
        (agent,) = await add_agents(bare, 1, capacity=3)
        chat = ChatSite(node.url, site, agent, agent["token"], token)
        when = rule["when"]["all"]
        assert when[2] == {"fact": "page.time_s", "op": "gte", "value": 5}
        faster = {**rule, "when": {"all": [*when[:2], {**when[2], "value": RULE_WAIT_S}]}}
        shop = Shop(node, chat, rule)
        async with shop.api() as api:
            saved = await api.put(f"/api/v1/sites/{site['id']}/rules/{rule['id']}", json=faster)
        assert saved.status_code == 200, saved.text
        yield shop
    finally:
        await node.stop()


async def add_to_cart(page: Page, product: str, more: int = 0) -> None:
    """From the product list: open the product, raise the quantity, add it to the cart."""
    await page.get_by_role("link", name=product).click()
    await expect(page.locator("h1")).to_have_text(product)
    for _ in range(more):
        await page.get_by_role("button", name="One more").click()
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.locator(".toast")).to_contain_text(f"{more + 1} × {product} added")


async def place_order(page: Page, name: str) -> None:
    form = page.locator("form.checkout")
    await form.get_by_label("Full name").fill(name)
    await form.get_by_label("Email").fill("iva@example.com")
    await form.get_by_label("Address").fill("Ilica 1")
    await form.get_by_label("City").fill("Zagreb")
    await form.get_by_role("button", name="Place order").click()
    await expect(page.locator("h1")).to_have_text(f"Thank you, {name}!")


async def test_checkout_invitation_starts_a_chat_linked_to_the_rule_and_the_order_converts(
    browser: Browser, shop: Shop
) -> None:
    agent = await agent_online(shop.chat)
    tab = await open_tab(browser, shop.node.url + "/demo/", **VIEWPORTS["desktop"])
    page = tab.page
    await add_to_cart(page, "Oak desk lamp", more=1)
    added = await tab.sent_matching(lambda f: f.get("event") == "add_to_cart")
    assert added["props"] == {"sku": "lamp", "qty": 2, "price": 89}
    cart = await tab.sent_matching(lambda f: f.get("type") == "cart" and f["value"] > 0)
    assert (cart["value"], cart["currency"], cart["items"]) == (178, "EUR", 2)

    await page.locator("a.cart-link").click()
    await expect(page.locator("[data-line=lamp] .total")).to_have_text("€178.00")
    await expect(page.locator("[data-cart-count]")).to_have_text("2")
    await page.get_by_role("link", name="Go to checkout").click()
    await expect(page.locator("h1")).to_have_text("Checkout")
    await tab.sent_matching(
        lambda f: f.get("type") == "page_view" and f["url"].endswith("/demo/checkout")
    )

    # The rule's time on the checkout passes with no further event from the page.
    card = tab.shadow(".inv")
    await expect(card).to_be_visible(timeout=INVITATION_MS)
    await expect(card.locator("p")).to_have_text(INVITATION_TEXT)
    await expect(card.locator(".top span")).to_have_text("Chat with us")
    shown = await tab.sent_frame("invitation_shown")
    await card.get_by_role("button", name="Reply").click()
    accepted = await tab.sent_frame("invitation_accept")
    assert accepted["invitation_id"] == shown["invitation_id"]
    await expect(tab.shadow("[role=dialog]")).to_be_visible()
    # The invitation's words open the transcript (once).
    await expect(tab.shadow(".sys").filter(has_text=INVITATION_TEXT)).to_have_count(1)

    conv_id = await agent_take(agent)
    async with shop.api() as api:
        conversation = (await api.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (conversation["rule_id"], conversation["variant_id"]) == (shop.rule["id"], "a")
    stored = await page.evaluate("k => JSON.parse(localStorage.getItem(k))", widget_key(shop))
    assert conversation["visitor_id"] == stored["vid"]

    await agent.send(
        {
            "type": "message",
            "conversation_id": conv_id,
            "client_msg_id": "a1",
            "text": "Hi! The lamp ships tomorrow.",
        }
    )
    await expect(tab.shadow(".m.a").filter(has_text="ships tomorrow")).to_be_visible()
    composer = tab.shadow("textarea")
    await composer.fill("Great, ordering now")
    await composer.press("Enter")
    got = await agent.expect(
        lambda f: f.get("type") == "message" and f.get("text") == "Great, ordering now"
    )
    assert got["conversation_id"] == conv_id

    # The order: the confirmation page reports the conversion, credited to the rule.
    await tab.shadow("button[aria-label='Close chat']").first.click()
    await place_order(page, "Iva Horvat")
    conversion = await tab.sent_matching(lambda f: f.get("event") == "conversion")
    assert conversion["props"]["value"] == 178 and conversion["props"]["currency"] == "EUR"
    assert re.fullmatch(r"JC-\d{6}", conversion["props"]["order_id"])
    await tab.sent_matching(lambda f: f.get("type") == "cart" and f["value"] == 0)

    async def stats() -> dict[str, Any]:
        site_id = shop.chat.site["id"]
        async with shop.api() as api:
            response = await api.get(f"/api/v1/sites/{site_id}/rules/{shop.rule['id']}/stats")
        assert response.status_code == 200, response.text
        (variant,) = response.json()["variants"]
        return variant

    variant = await wait_until(stats, lambda v: v["conversions"] == 1, 10, "the conversion")
    funnel = ("triggered", "shown", "accepted", "chats", "conversions")
    assert tuple(variant[k] for k in funnel) == (1, 1, 1, 1, 1)
    assert variant["revenue"] == {"EUR": 178}
    assert tab.dialogs == [] and tab.errors == []
    await tab.context.close()
    await agent_offline(agent)


SPA_RULE = {
    "name": "Read the whole list, then about to leave",
    "enabled": True,
    "priority": 20,
    "when": {
        "all": [
            {"fact": "visit.page_views", "op": "gte", "value": 4},
            {"fact": "page.scroll_pct", "op": "gte", "value": 50},
            {"fact": "event.exit_intent", "op": "gte", "value": 1},
        ]
    },
    "gates": {"max_per_visit": 1},
    "variants": [{"id": "a", "weight": 1, "text": {"en": "Leaving already? Ask us anything."}}],
}


async def test_spa_navigation_scroll_and_exit_intent_reach_the_engine(
    browser: Browser, shop: Shop
) -> None:
    """Page views from history navigation, scroll depth and exit intent are counted by the
    server: its visitor context shows the views, and a rule needing all three fires."""
    site_id = shop.chat.site["id"]
    async with shop.api() as api:
        created = await api.post(f"/api/v1/sites/{site_id}/rules", json=SPA_RULE)
    assert created.status_code == 201, created.text
    rule = created.json()
    agent = await agent_online(shop.chat)
    tab = await open_tab(browser, shop.node.url + "/demo/", viewport={"width": 1280, "height": 400})
    try:
        page = tab.page
        # The load's own page view goes out once the socket is welcomed; navigate after it.
        await tab.sent_matching(lambda f: f.get("type") == "page_view")
        await page.evaluate("history.pushState({}, '', '/demo/spa/one')")
        await page.evaluate("history.replaceState({}, '', '/demo/spa/two')")
        await page.evaluate("history.back()")  # popstate back to /demo/

        def page_views() -> list[str]:
            sent = [f["url"] for f in tab.sent if f.get("type") == "page_view"]
            return [url.removeprefix(shop.node.url) for url in sent]

        await tab.sent_matching(lambda f: f.get("type") == "page_view" and len(page_views()) >= 4)
        views = page_views()
        assert views == ["/demo/", "/demo/spa/one", "/demo/spa/two", "/demo/"]
        stored = await page.evaluate("k => JSON.parse(localStorage.getItem(k))", widget_key(shop))

        async def context() -> dict[str, Any]:
            async with shop.api() as api:
                response = await api.get(f"/api/v1/sites/{site_id}/visitors/{stored['vid']}")
            assert response.status_code == 200, response.text
            return response.json()

        seen = await wait_until(
            context, lambda c: c["visit"]["page_views"] == 4, 10, "four page views counted"
        )
        assert seen["page"]["url"].endswith("/demo/")
        await expect(tab.shadow(".inv")).to_have_count(0)

        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        scroll = await tab.sent_matching(lambda f: f.get("event") == "scroll")
        assert scroll["props"]["depth"] >= 50
        await expect(tab.shadow(".inv")).to_have_count(0)  # no exit intent yet
        await page.mouse.move(400, 200)
        await page.evaluate(
            "document.dispatchEvent(new MouseEvent('mouseout', {clientX: 400, clientY: -2}))"
        )
        await tab.sent_matching(lambda f: f.get("event") == "exit_intent")
        card = tab.shadow(".inv")
        await expect(card).to_be_visible(timeout=INVITATION_MS)
        await expect(card.locator("p")).to_have_text("Leaving already? Ask us anything.")
        shown = await tab.sent_frame("invitation_shown")
        assert shown["invitation_id"]
        assert tab.dialogs == [] and tab.errors == []
    finally:
        await tab.context.close()
        await agent_offline(agent)
        async with shop.api() as api:
            await api.delete(f"/api/v1/sites/{site_id}/rules/{rule['id']}")


def widget_key(shop: Shop) -> str:
    """Where the widget keeps its visitor record (token, id) in localStorage."""
    return "beckon:" + shop.chat.site["key"]


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
async def test_demo_shop_screenshots(browser: Browser, shop: Shop, viewport: str) -> None:
    tab = await open_tab(browser, shop.node.url + "/demo/", **VIEWPORTS[viewport])
    page = tab.page
    await expect(page.locator("[data-price-of=lamp]")).to_have_text("€89.00")
    await keep_screenshot(page, f"demo-shop-{viewport}")
    await add_to_cart(page, "Stoneware mug set")
    await keep_screenshot(page, f"demo-product-{viewport}")
    await page.locator("a.cart-link").click()
    await expect(page.locator("[data-line=mugs]")).to_be_visible()
    await keep_screenshot(page, f"demo-cart-{viewport}")
    await page.get_by_role("link", name="Go to checkout").click()
    await expect(tab.shadow(".inv")).to_be_visible(timeout=INVITATION_MS)
    await keep_screenshot(page, f"demo-checkout-invitation-{viewport}")
    await tab.shadow(".inv").get_by_role("button", name="Dismiss").click()
    await tab.sent_frame("invitation_dismiss")
    await place_order(page, "Iva")
    await keep_screenshot(page, f"demo-confirmed-{viewport}")

    missing = await page.goto(shop.node.url + "/demo/products/sofa")
    assert missing is not None and missing.status == 404
    await expect(page.locator("h1")).to_have_text("Not found")
    await expect(page.locator("p").first).to_have_text("There is no such page in the demo shop.")
    assert tab.dialogs == [] and tab.errors == []
    await tab.context.close()
