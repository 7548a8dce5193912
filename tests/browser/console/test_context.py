"""The visitor context panel and the visitor brief, and hostile visitor strings:
names, messages, attributes, page titles, URLs and referrers render as text on every
console surface — queue card, chat tab, header, transcript, context panel, live
visitors, history — under a strict Content-Security-Policy, with no dialog and no
console error."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.beckon_process import BeckonProcess
from tests.browser.conftest import artifact
from tests.browser.console.conftest import (
    UI_TIMEOUT_MS,
    admin_api,
    identity,
    set_status,
    shot,
    sign_in,
    visitor_says,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

LANDING = (
    "https://shop.example.com/checkout?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
)
BIG_BASKET = {
    "name": "Help with a big basket",
    "priority": 10,
    "when": {
        "all": [
            {"fact": "page.path", "op": "glob", "value": "/checkout*"},
            {"fact": "cart.value", "op": "gte", "value": 100},
        ]
    },
    "gates": {"max_per_visit": 1},
    "variants": [
        {
            "id": "a",
            "weight": 1,
            "text": {"en": "Need a hand with your order, {visitor.name|there}?"},
        }
    ],
}
PRICING = {
    "name": "Pricing page nudge",
    "priority": 5,
    "when": {"all": [{"fact": "page.path", "op": "glob", "value": "/pricing*"}]},
    "variants": [{"id": "a", "weight": 1, "text": {"en": "Questions about plans?"}}],
}

# Each payload sets window.__xss if it ever runs; none may become an element.
XSS_NAME = '"><img src=x onerror="window.__xss=1">'
XSS_TITLE = "<script>window.__xss=2</script>Checkout"
XSS_URL = 'https://shop.example.com/p?q="><svg/onload=window.__xss=3>'
XSS_REFERRER = "javascript:window.__xss=4"
XSS_KEY = "<b onmouseover=window.__xss=5>plan</b>"
XSS_VALUE = "<iframe src=javascript:window.__xss=6></iframe>"
XSS_MESSAGE = "<img src=x onerror=window.__xss=7> hi"
INJECTED = "#console img, #console svg, #console iframe, #console script, #console b"


def kv(within: Locator, key: str) -> Locator:
    """The key/value row of the context panel whose key is exactly `key`."""
    return within.locator(".kv").filter(
        has=within.page.locator(".kv-key", has_text=re.compile(f"^{re.escape(key)}$"))
    )


async def no_injection(page: Page) -> None:
    assert await page.evaluate("window.__xss") is None
    assert await page.locator(INJECTED).count() == 0


async def test_context_panel_for_a_chat_started_by_an_invitation(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    for rule in (BIG_BASKET, PRICING):
        saved = await admin_api(chat, "POST", f"/api/v1/sites/{chat.site['id']}/rules", json=rule)
        assert saved.status_code == 201, saved.text
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")  # invitations go out only while someone can answer

    visitor, _welcome = await chat.visitor(
        page={"url": LANDING, "title": "Checkout", "referrer": "https://news.example.org/spring"},
        lang="it",
        identity=identity(chat, "u-3003", "Sofia Rossi") | {"email": "sofia@example.com"},
        attributes={"plan": "gold", "orders": 12},
    )
    await visitor.send({"type": "cart", "value": 189, "currency": "EUR", "items": 3})
    invitation = await visitor.expect("invitation")
    assert invitation["text"] == "Need a hand with your order, Sofia Rossi?"
    await visitor.send({"type": "invitation_shown", "invitation_id": invitation["invitation_id"]})
    conv = await visitor.request(
        {
            "type": "invitation_accept",
            "invitation_id": invitation["invitation_id"],
            "text": "Yes please: can it arrive by Friday?",
        }
    )
    cid = conv["id"]
    item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(item).to_have_attribute("aria-selected", "true")
    await expect(item.locator(".chat-item-facts")).to_have_text("Checkout · Cart €189.00")

    panel = page.locator("#context-pane")
    await expect(panel.locator(".context-name")).to_have_text("Sofia Rossi")
    await expect(panel.get_by_text("Identified", exact=True)).to_be_visible()
    await expect(panel.get_by_text("sofia@example.com")).to_be_visible()
    await expect(panel.get_by_role("link", name="Checkout").first).to_have_attribute(
        "href", LANDING
    )
    await expect(kv(panel, "Cart")).to_have_text(re.compile("€189.00 · 3 items"))
    await expect(kv(panel, "Referrer").get_by_role("link")).to_have_attribute(
        "href", "https://news.example.org/spring"
    )
    await expect(kv(panel, "UTM campaign")).to_contain_text("spring")
    await expect(kv(panel, "Language")).to_contain_text("it")
    await expect(kv(panel, "plan")).to_contain_text("gold")
    started = panel.locator(".context-section", has_text="Started by invitation")
    await expect(kv(started, "Rule")).to_contain_text("Help with a big basket")
    await expect(kv(started, "Variant")).to_contain_text("a")
    # "Why": the engine's trace for this visitor, one line per rule.
    why = panel.locator(".why-list li")
    await expect(why).to_have_count(2)
    # Both rules are held back now that the visitor is in a chat, and the panel says so.
    await expect(why.filter(has_text="Pricing page nudge")).to_contain_text("already in a chat")
    await expect(why.locator(".chip")).to_have_text(["blocked", "blocked"])
    # The invitation's words open the transcript, then the visitor's answer.
    await expect(page.locator(".chat .transcript .msg-text")).to_have_text(
        ["Need a hand with your order, Sofia Rossi?", "Yes please: can it arrive by Friday?"]
    )
    await panel.locator(".why-list").scroll_into_view_if_needed()
    await shot(page, "context-why")

    await visitor.send({"type": "close", "conversation_id": cid})
    await visitor.expect("closed")
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()


async def test_hostile_visitor_strings_render_as_text_everywhere(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    # The console page's policy comes as a header too (meta tags cannot set all of it).
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        served = await client.get("/agent/")
    csp = served.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert served.headers["x-content-type-options"] == "nosniff"

    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "away")  # the chat waits in the queue first
    visitor, welcome = await chat.visitor(
        page={"url": XSS_URL, "title": XSS_TITLE, "referrer": XSS_REFERRER},
        identity=identity(chat, "u-666", XSS_NAME),
        attributes={XSS_KEY: XSS_VALUE},
    )
    conv = await visitor.request({"type": "chat_start", "text": XSS_MESSAGE})
    cid = conv["id"]
    card = page.locator(f'#queue-list li[data-conversation="{cid}"]')
    await expect(card.locator(".card-name")).to_have_text(XSS_NAME)
    await expect(card.locator(".card-facts")).to_have_text(XSS_TITLE)
    await no_injection(page)
    await page.screenshot(path=str(artifact("console-xss-queue.png")))

    await card.get_by_role("button", name=f"Accept chat with {XSS_NAME}").click()
    item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(item).to_have_attribute("aria-selected", "true")
    await expect(item.locator(".chat-item-name")).to_have_text(XSS_NAME)
    await expect(item.locator(".chat-item-facts")).to_have_text(XSS_TITLE)
    await expect(page.locator(".chat-title")).to_have_text(XSS_NAME)
    transcript = page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-visitor .msg-text")).to_have_text([XSS_MESSAGE])
    await expect(transcript.locator(".msg-visitor .msg-author")).to_have_text([XSS_NAME])
    await visitor_says(visitor, cid, f"my page: {XSS_URL}")

    panel = page.locator("#context-pane")
    await expect(panel.locator(".context-name")).to_have_text(XSS_NAME)
    page_link = kv(panel, "Page").get_by_role("link")
    await expect(page_link).to_have_text(XSS_TITLE)
    # The href is the URL as a URL (percent-encoded by the parser), never markup.
    href = await page_link.get_attribute("href")
    assert href is not None and href.startswith("https://shop.example.com/p?q=")
    assert "<" not in href and '"' not in href
    referrer = kv(panel, "Referrer")
    await expect(referrer.locator(".kv-value")).to_have_text(XSS_REFERRER)
    await expect(referrer.get_by_role("link")).to_have_count(0)  # not http(s): no link
    attribute = kv(panel, XSS_KEY)
    await expect(attribute.locator(".kv-key")).to_have_text(XSS_KEY)
    await expect(attribute.locator(".kv-value")).to_have_text(XSS_VALUE)
    await expect(transcript.locator(".msg-visitor a")).to_have_count(1)
    await no_injection(page)
    await page.screenshot(path=str(artifact("console-xss-chat.png")))

    # Live visitors: the same strings in the table.
    await page.locator("#nav-visitors").click()
    row = page.locator(f'#view-visitors tr[data-visitor="{welcome["visitor_id"]}"]')
    await expect(row.locator("td").first).to_contain_text(XSS_NAME, timeout=UI_TIMEOUT_MS)
    await expect(row.get_by_role("link")).to_have_text(XSS_TITLE)
    await no_injection(page)

    # History (after the chat ends): the list row and the reader's header.
    await page.locator("#nav-chats").click()
    await page.get_by_role("button", name="Close chat").click()
    await page.get_by_role("button", name="Click again to close").click()
    await visitor.expect("closed")
    await page.locator("#nav-history").click()
    history_row = page.locator(f'#view-history tr[data-conversation="{cid}"]')
    await expect(history_row).to_contain_text(XSS_NAME)
    await history_row.click()
    await expect(page.locator(".history-reader .reader-head h2")).to_contain_text(XSS_NAME)
    await expect(page.locator(".history-reader .msg-visitor .msg-text").first).to_have_text(
        XSS_MESSAGE
    )
    await no_injection(page)
    await visitor.close()
    assert console.errors == [], console.errors  # no CSP report, no script error, no dialog
    await console.close()
