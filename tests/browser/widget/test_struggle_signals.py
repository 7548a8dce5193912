"""Struggle signals on the demo shop in real Chromium: each one is
provoked the way a visitor would, the widget sends it with no text, and a rule that reads
its `signal.*` fact fires (the invitation reaches the tab). Without tracking consent the
widget sends none of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.browser.widget.parties import Tab, agent_offline, agent_online, open_tab
from tests.browser.widget.test_demo_shop import Shop, add_to_cart, shop  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

KINDS = (
    "rage_click",
    "dead_click",
    "form_error",
    "page_loop",
    "search_no_results",
    "error_page",
    "long_wait",
)
INVITATION_S = 15


def signal_rule(kind: str) -> dict[str, Any]:
    return {
        "name": f"Struggle: {kind}",
        "priority": 50,
        "when": {"fact": f"signal.{kind}", "op": "gte", "value": 1},
        "gates": {"max_per_visit": 1},
        "variants": [{"id": "a", "weight": 1, "text": {"en": f"Stuck? ({kind})"}}],
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def signals_shop(shop: Shop) -> AsyncIterator[Shop]:  # noqa: F811
    """The demo shop with its checkout rule off and one rule per struggle signal."""
    site_id = shop.chat.site["id"]
    async with shop.api() as api:
        off = await api.patch(
            f"/api/v1/sites/{site_id}/rules/{shop.rule['id']}", json={"enabled": False}
        )
        assert off.status_code == 200, off.text
        for kind in KINDS:
            saved = await api.post(f"/api/v1/sites/{site_id}/rules", json=signal_rule(kind))
            assert saved.status_code == 201, saved.text
    yield shop


def signals_sent(tab: Tab) -> list[dict[str, Any]]:
    return [f for f in tab.sent if f.get("type") == "track" and f.get("event") in KINDS]


async def fired(tab: Tab, kind: str) -> dict[str, Any]:
    """The invitation of the rule reading signal.<kind>, as the tab received it."""
    text = f"Stuck? ({kind})"
    invitation = await tab.received_matching(
        lambda f: f.get("type") == "invitation" and f.get("text") == text, INVITATION_S
    )
    assert tab.errors == [] and tab.dialogs == []
    return invitation


async def shop_tab(browser: Browser, on: Shop, path: str = "/demo/", **kw: Any) -> Tab:
    tab = await open_tab(browser, on.node.url + path, **kw)
    await tab.sent_matching(lambda f: f.get("type") == "page_view")  # welcomed
    return tab


async def test_rage_click_on_a_dead_heading(browser: Browser, signals_shop: Shop) -> None:
    tab = await shop_tab(browser, signals_shop)
    try:
        await tab.page.locator("h1").click(click_count=3)
        sent = await tab.sent_matching(lambda f: f.get("event") == "rage_click")
        assert sent == {"type": "track", "event": "rage_click", "props": {"clicks": 3}}
        await fired(tab, "rage_click")
        await expect(tab.shadow(".inv p")).to_have_text("Stuck? (rage_click)")
    finally:
        await tab.context.close()


async def test_dead_click_and_a_live_click_that_is_not(
    browser: Browser, signals_shop: Shop
) -> None:
    tab = await shop_tab(browser, signals_shop)
    try:
        page = tab.page
        # A click that changes the page (the search filters the list) is not dead.
        await page.get_by_label("Search products").fill("lamp")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator(".grid .card:visible")).to_have_count(1)
        await page.wait_for_timeout(1500)  # the dead-click watch is one second
        assert [f["event"] for f in signals_sent(tab)] == []
        await page.locator(".hero p").first.click()
        sent = await tab.sent_matching(lambda f: f.get("event") == "dead_click")
        assert sent == {"type": "track", "event": "dead_click"}
        await fired(tab, "dead_click")
    finally:
        await tab.context.close()


async def test_form_error_on_the_checkout(browser: Browser, signals_shop: Shop) -> None:
    tab = await shop_tab(browser, signals_shop)
    try:
        page = tab.page
        await add_to_cart(page, "Wool throw")
        await page.goto(signals_shop.node.url + "/demo/checkout")
        await tab.sent_matching(lambda f: f.get("url", "").endswith("/demo/checkout"))
        form = page.locator("form.checkout")
        await form.get_by_label("Full name").fill("Iva")
        await form.get_by_role("button", name="Place order").click()  # 3 fields empty
        sent = await tab.sent_matching(lambda f: f.get("event") == "form_error")
        assert sent["props"] == {"fields": 3}
        await fired(tab, "form_error")
        # The site reports a submit its server refused the same way.
        await page.evaluate("Beckon('formError')")
        await tab.sent_matching(lambda f: f.get("event") == "form_error" and not f.get("props"))
    finally:
        await tab.context.close()


async def test_page_loop_between_two_pages(browser: Browser, signals_shop: Shop) -> None:
    tab = await shop_tab(browser, signals_shop)
    try:
        page = tab.page
        # list → lamp → list → lamp: the fourth page closes the loop.
        await page.get_by_role("link", name="Oak desk lamp").click()
        await expect(page.locator("h1")).to_have_text("Oak desk lamp")
        await page.get_by_role("link", name="Shop", exact=True).first.click()
        await expect(page.locator("[data-page=list]")).to_be_visible()
        await tab.sent_matching(lambda f: len(tab.frames("page_view")) >= 3)
        assert signals_sent(tab) == []
        await page.get_by_role("link", name="Oak desk lamp").click()
        await expect(page.locator("h1")).to_have_text("Oak desk lamp")
        sent = await tab.sent_matching(lambda f: f.get("event") == "page_loop")
        assert sent == {"type": "track", "event": "page_loop"}
        assert [f["event"] for f in signals_sent(tab)] == ["page_loop"]
        # Only hashes of the paths are kept in the tab, never the paths.
        trail = await page.evaluate(
            "k => sessionStorage.getItem(k)", "beckon:" + signals_shop.chat.site["key"] + ":trail"
        )
        assert "demo" not in trail
        await fired(tab, "page_loop")
    finally:
        await tab.context.close()


async def test_search_without_results_is_declared_by_the_shop(
    browser: Browser, signals_shop: Shop
) -> None:
    tab = await shop_tab(browser, signals_shop)
    try:
        page = tab.page
        await page.get_by_label("Search products").fill("red velvet sofa")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_text("No products match your search.")).to_be_visible()
        sent = await tab.sent_matching(lambda f: f.get("event") == "search_no_results")
        assert sent == {"type": "track", "event": "search_no_results"}  # no search words
        await fired(tab, "search_no_results")
    finally:
        await tab.context.close()


async def test_error_page_is_seen_once(browser: Browser, signals_shop: Shop) -> None:
    tab = await shop_tab(browser, signals_shop, "/demo/products/sofa")
    try:
        await expect(tab.page.locator("h1")).to_have_text("Not found")
        sent = await tab.sent_matching(lambda f: f.get("event") == "error_page")
        assert sent["props"] == {"status": 404}
        await fired(tab, "error_page")
        # The template's Beckon('errorPage', 404) and the widget's own look count once.
        assert len([f for f in signals_sent(tab) if f["event"] == "error_page"]) == 1
    finally:
        await tab.context.close()


async def test_error_page_by_status_alone_and_by_the_js_api_alone(
    browser: Browser, signals_shop: Shop
) -> None:
    # Without the shop's script the 404 template says nothing: the widget reads the status.
    tab = await open_tab(browser, signals_shop.node.url + "/demo/")
    try:
        await tab.page.route("**/demo/assets/shop.js", lambda route: route.abort())
        await tab.page.goto(signals_shop.node.url + "/demo/products/sofa")
        sent = await tab.sent_matching(lambda f: f.get("event") == "error_page")
        assert sent["props"] == {"status": 404}
    finally:
        await tab.context.close()
    # On a page served with 200, a site's error template declares it (e.g. a soft 500).
    tab = await shop_tab(browser, signals_shop)
    try:
        await tab.page.evaluate("Beckon('errorPage', 200)")  # not an error: ignored
        await tab.page.evaluate("Beckon('errorPage', 500)")
        sent = await tab.sent_matching(lambda f: f.get("event") == "error_page")
        assert sent["props"] == {"status": 500}
        assert len([f for f in signals_sent(tab) if f["event"] == "error_page"]) == 1
        await fired(tab, "error_page")
    finally:
        await tab.context.close()


async def test_long_queue_wait_then_the_rule_fires_once_the_chat_ends(
    browser: Browser, signals_shop: Shop
) -> None:
    site_id = signals_shop.chat.site["id"]
    async with signals_shop.api() as api:  # chats ring agents instead of being assigned
        on = await api.patch(f"/api/v1/sites/{site_id}", json={"settings": {"routing": "offer"}})
        assert on.status_code == 200, on.text
    agent = await agent_online(signals_shop.chat)  # online, but never takes the chat
    tab = await shop_tab(browser, signals_shop, clock=True)
    try:
        page = tab.page
        await tab.shadow("button.l").click()
        composer = tab.shadow("textarea")
        await composer.fill("Is the lamp in stock?")
        await composer.press("Enter")
        queued = await tab.received_matching(
            lambda f: f.get("type") == "conversation" and f.get("status") == "queued"
        )
        await page.clock.fast_forward(30_000)
        assert signals_sent(tab) == []
        await page.clock.fast_forward(31_000)
        sent = await tab.sent_matching(lambda f: f.get("event") == "long_wait")
        assert sent["props"] == {"wait_s": 60}
        # In a chat no rule fires; once the visitor gives up, the apology does.
        await tab.shadow("button[aria-label='End chat']").click()
        await tab.shadow("[role=alertdialog] button").get_by_text("End chat").click()
        ended = await tab.sent_frame("close")
        assert ended["conversation_id"] == queued["id"]
        await fired(tab, "long_wait")
    finally:
        await tab.context.close()
        await agent_offline(agent)
        async with signals_shop.api() as api:
            await api.patch(f"/api/v1/sites/{site_id}", json={"settings": {}})


async def test_no_signal_without_tracking_consent(browser: Browser, signals_shop: Shop) -> None:
    site_id = signals_shop.chat.site["id"]
    async with signals_shop.api() as api:
        on = await api.patch(
            f"/api/v1/sites/{site_id}", json={"settings": {"consent_mode": "required"}}
        )
        assert on.status_code == 200, on.text
    tab = await open_tab(browser, signals_shop.node.url + "/demo/")
    try:
        page: Page = tab.page
        await tab.received_matching(lambda f: f.get("type") == "welcome")
        await page.reload()  # the widget now knows the site wants consent from the start
        await expect(tab.shadow("button.l")).to_be_visible()
        await page.locator("h1").click(click_count=3)
        await page.get_by_label("Search products").fill("red velvet sofa")
        await page.get_by_role("button", name="Search").click()
        await page.goto(signals_shop.node.url + "/demo/products/sofa")
        await expect(page.locator("h1")).to_have_text("Not found")
        await page.wait_for_timeout(1500)
        assert signals_sent(tab) == []
        trail = await page.evaluate(
            "k => sessionStorage.getItem(k)", "beckon:" + signals_shop.chat.site["key"] + ":trail"
        )
        assert trail is None
        # Consent given: the next rage click is sent.
        await page.evaluate("Beckon('consent', true)")
        await page.locator("h1").click(click_count=3)
        await tab.sent_matching(lambda f: f.get("event") == "rage_click")
    finally:
        await tab.context.close()
        async with signals_shop.api() as api:
            await api.patch(f"/api/v1/sites/{site_id}", json={"settings": {}})
