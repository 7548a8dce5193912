"""The widget against a scripted socket server: FakeBeckon sends exactly the
frames a state needs — invitations, queue positions, a chat, a survey — so invitation
display, behaviour tracking and consent, the JS API queue, the pre-chat form by keyboard,
idle/active (on Playwright's clock) and the README screenshots are checked frame by frame.
The widget is built from `widget/` and served by the host site itself, as a CDN would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.conftest import artifact
from tests.browser.widget.hosting import FakeBeckon, HostSite, fake_beckon, page
from tests.browser.widget.parties import VIEWPORTS, Tab, keep_screenshot, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
WIDGET_DIR = Path(__file__).resolve().parents[3] / "widget"


@dataclass
class Host:
    site: HostSite
    script: str  # the widget's URL on it


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[Host]:
    site = HostSite()
    script = site.serve_widget(WIDGET_DIR)
    site.start()
    try:
        yield Host(site, script)
    finally:
        site.stop()


async def open_page(browser: Browser, host: Host, html: str, path: str, **context: Any) -> Tab:
    host.site.pages[path] = html
    return await open_tab(browser, host.site.origin + path, **context)


# -- invitations, tracking and the JS API (a scripted socket server) ----------------------
async def test_invitation_tracking_and_api_queue(browser: Browser, host: Host) -> None:
    fake = FakeBeckon(
        {
            "type": "welcome",
            "visitor_id": "vi_1",
            "visitor_token": "tok",
            "online": True,
            "widget": {"lang": "hr", "color": "#0f766e", "position": "left"},
        }
    )
    await fake.start()
    stub = (
        "<script>window.Beckon = window.Beckon || function () {"
        "(Beckon.q = Beckon.q || []).push(arguments) };"
        "Beckon('setCart', {value: 120.5, currency: 'eur', items: 2});"
        "Beckon('track', 'viewed_product', {sku: 'B-42'});"
        "Beckon('on', 'invitation', function (i) { window.invited = i.text; });</script>"
    )
    html = page(host.script, "sk_fake", head=stub, server=fake.url)
    try:
        visitor = await open_page(browser, host, html, "/shop")
        await fake.expect(lambda f: f.get("type") == "page_view")
        cart = await fake.expect(lambda f: f.get("type") == "cart")
        assert (cart["value"], cart["currency"], cart["items"]) == (120.5, "EUR", 2)
        await fake.expect(lambda f: f.get("event") == "viewed_product")

        await visitor.page.evaluate("history.pushState({}, '', '/shop/checkout')")
        view = await fake.expect(lambda f: f.get("type") == "page_view" and "checkout" in f["url"])
        assert view["referrer"] == host.site.origin + "/shop"
        await visitor.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        scroll = await fake.expect(lambda f: f.get("event") == "scroll")
        assert 0 < scroll["props"]["depth"] <= 100
        await visitor.page.mouse.move(300, 200)
        await visitor.page.evaluate(
            "document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -2}))"
        )
        await fake.expect(lambda f: f.get("event") == "exit_intent")

        evil = "<img src=x onerror=alert(1)> Trebate pomoć oko narudžbe?"
        await fake.push(
            {
                "type": "invitation",
                "invitation_id": "in_1",
                "rule_id": "ru_1",
                "variant": "a",
                "text": evil,
                "agent": {"name": "<b>Ana</b>"},
            }
        )
        card = visitor.shadow(".inv")
        await expect(card).to_be_visible()
        await expect(card.locator("p")).to_have_text(evil)
        await expect(card.locator(".top span")).to_have_text("<b>Ana</b>")
        await fake.expect(lambda f: f.get("type") == "invitation_shown")
        assert await visitor.page.evaluate("window.invited") == evil
        await expect(visitor.shadow("button.l")).to_have_attribute("aria-label", "Otvori chat")
        await visitor.page.screenshot(path=str(artifact("widget-invitation.png")))
        await card.get_by_role("button", name="Odgovori").click()
        accept = await fake.expect(lambda f: f.get("type") == "invitation_accept")
        assert accept["invitation_id"] == "in_1"
        await expect(visitor.shadow("[role=dialog]")).to_be_visible()
        await fake.push(
            {
                "type": "conversation",
                "id": "cv_1",
                "status": "queued",
                "queue_position": 2,
                "estimated_wait_s": 130,
            }
        )
        await expect(visitor.shadow(".bn")).to_have_text("Vi ste 2. u redu · čekanje oko 2 min")
        await visitor.page.screenshot(path=str(artifact("widget-queue.png")))
        await fake.push({"type": "conversation", "id": "cv_1", "status": "closed"})

        await visitor.page.keyboard.press("Escape")
        await fake.push(
            {
                "type": "invitation",
                "invitation_id": "in_2",
                "rule_id": "ru_1",
                "variant": "b",
                "text": "Still there?",
            }
        )
        await expect(card).to_have_text(re.compile("Still there"))
        await fake.push({"type": "invitation_withdrawn", "invitation_id": "in_2"})
        await expect(card).to_have_count(0)
        assert visitor.dialogs == [] and visitor.errors == []
        await visitor.context.close()
    finally:
        await fake.stop()


async def test_prechat_keyboard_only_and_ack(browser: Browser, host: Host) -> None:
    fake = FakeBeckon(
        {
            "type": "welcome",
            "visitor_id": "vi_2",
            "visitor_token": "tok",
            "online": True,
            "widget": {
                "lang": "de",
                "prechat": True,
                "prechat_fields": ["name", "email", "department"],
                "departments": ["sales", "support"],
            },
        }
    )
    await fake.start()
    html = page(host.script, "sk_fake", server=fake.url)
    try:
        visitor = await open_page(browser, host, html, "/prechat")
        await fake.expect(lambda f: f.get("type") == "hello")
        keys = visitor.page.keyboard
        launcher = visitor.shadow("button.l")
        await expect(launcher).to_have_attribute("aria-label", "Chat öffnen")
        await launcher.focus()
        await keys.press("Enter")  # the launcher is a real button
        form = visitor.shadow("form.f")
        await expect(form.locator("h3")).to_have_text("Bevor wir beginnen")
        await keys.type("Iva")  # focus went into the form's first field
        await keys.press("Tab")
        await keys.type("iva@example.com")
        await keys.press("Tab")
        await keys.press("ArrowDown")  # department select
        await keys.press("Tab")
        await keys.type("Wo ist mein Paket?")
        await visitor.page.screenshot(path=str(artifact("widget-prechat.png")))
        await keys.press("Tab")
        await keys.press("Enter")  # submit
        start = await fake.expect(lambda f: f.get("type") == "chat_start")
        assert start["prechat"] == {
            "name": "Iva",
            "email": "iva@example.com",
            "department": "sales",
        }
        # The first line goes with the start (agents never get an empty chat).
        assert start["text"] == "Wo ist mein Paket?" and start["client_msg_id"]
        await expect(visitor.shadow(".pending")).to_have_count(1)
        await fake.push({"type": "conversation", "id": "cv_9", "status": "queued", "ref": "start"})
        sent = start
        await fake.push(
            {
                "type": "message",
                "conversation_id": "cv_9",
                "id": "ms_1",
                "seq": 1,
                "author": {"kind": "visitor"},
                "text": sent["text"],
                "ts": 1700000000000,
                "client_msg_id": sent["client_msg_id"],
            }
        )
        await expect(visitor.shadow(".pending")).to_have_count(0)
        await expect(visitor.shadow(".m.v")).to_have_text(["Wo ist mein Paket?"])
        await keys.press("Escape")
        await expect(visitor.shadow("[role=dialog]")).to_be_hidden()
        await expect(launcher).to_be_focused()  # focus returns to the launcher
        assert visitor.errors == []
        await visitor.context.close()
    finally:
        await fake.stop()


# Contrast of text against the first opaque background behind it (WCAG 2 formula).
CONTRAST_JS = """(selector) => {
  const root = document.querySelector('beckon-chat').shadowRoot;
  const node = root.querySelector(selector);
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = node;
  while (back && back.nodeType === 1) {
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length < 4 || c[3] === 1) break;
    back = back.parentNode instanceof ShadowRoot ? back.parentNode.host : back.parentNode;
  }
  const opaque = back && back.nodeType === 1;
  const bg = opaque ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(node).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""
UNLABELLED_JS = """() => {
  const root = document.querySelector('beckon-chat').shadowRoot;
  return [...root.querySelectorAll('button,textarea,input,select,[role=log]')]
    .filter((n) => n.getClientRects().length)
    .filter((n) => !(n.getAttribute('aria-label') || (n.labels && n.labels.length)
                     || n.textContent.trim() || n.getAttribute('placeholder')))
    .map((n) => n.outerHTML.slice(0, 80));
}"""
# The header's title and status line, the greeting bubble and the composer.
CONTRASTED = (".hd h2", ".hd p", ".m.a", "textarea")
FOCUS_INSIDE_JS = """() => {
  const host = document.querySelector('beckon-chat');
  const active = host.shadowRoot.activeElement;
  return document.activeElement === host && !!active
    && host.shadowRoot.querySelector('[role=dialog]').contains(active);
}"""


async def test_focus_trap_labels_contrast_and_composer_keys(browser: Browser, host: Host) -> None:
    """The open window keeps focus inside it, every control has a name, the default
    theme's text has contrast ≥ 4.5:1, Shift+Enter is a newline, Enter sends, and the
    4000-character limit is shown as it nears."""
    async with fake_beckon(greeting="Hi! How can we help?") as fake:
        html = page(host.script, "sk_fake", server=fake.url)
        visitor = await open_page(browser, host, html, "/a11y")
        run = visitor.page.evaluate
        keys = visitor.page.keyboard
        await fake.expect(lambda f: f.get("type") == "hello")
        launcher = visitor.shadow("button.l")
        assert await run(CONTRAST_JS, "button.l") >= 4.5
        await launcher.focus()
        await keys.press("Enter")
        await expect(visitor.shadow("[role=dialog]")).to_be_visible()
        await expect(visitor.shadow("textarea")).to_be_focused()
        for _ in range(12):  # round the window's controls, both ways
            await keys.press("Tab")
            assert await run(FOCUS_INSIDE_JS)
        for _ in range(12):
            await keys.press("Shift+Tab")
            assert await run(FOCUS_INSIDE_JS)
        assert await run(UNLABELLED_JS) == []
        await expect(visitor.shadow("[role=log]")).to_have_attribute("aria-live", "polite")
        for selector in CONTRASTED:
            await expect(visitor.shadow(selector).first).to_be_visible()
            ratio = await run(CONTRAST_JS, selector)
            assert ratio >= 4.5, (selector, ratio)

        composer = visitor.shadow("textarea")
        await composer.focus()
        await keys.type("line one")
        await keys.press("Shift+Enter")
        await keys.type("line two")
        assert await composer.input_value() == "line one\nline two"
        await keys.press("Enter")
        sent = await fake.expect(lambda f: f.get("type") in ("chat_start", "message"))
        start = await fake.expect(lambda f: f.get("type") == "chat_start")
        assert sent is start  # the first line of a chat goes with the start
        assert start["text"] == "line one\nline two"
        await fake.push({"type": "conversation", "id": "cv_k", "status": "queued", "ref": "start"})

        await composer.fill("x" * 3600)
        await composer.press("End")
        await keys.type("y")
        await expect(visitor.shadow(".cnt")).to_have_text("3601 / 4000")
        # Not cut at 4000 by the browser: the counter says so (test_widget_composer.py).
        assert await composer.get_attribute("maxlength") is None
        assert visitor.errors == []
        await visitor.context.close()


# -- consent, idle/active -----------------------------------------------------------------
CONSENT_STUB = (
    "<script>window.Beckon = window.Beckon || function () {"
    "(Beckon.q = Beckon.q || []).push(arguments) };"
    "Beckon('track', 'before_load', {sku: 'B-42'});</script>"
)
EXIT_INTENT = "document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -2}))"


async def test_nothing_is_tracked_before_consent_when_the_site_requires_it(
    browser: Browser, host: Host
) -> None:
    async with fake_beckon(consent_required=True) as fake:
        html = page(host.script, "sk_fake", head=CONSENT_STUB, server=fake.url)
        visitor = await open_page(browser, host, html, "/consent")
        run = visitor.page.evaluate
        await fake.expect(lambda f: f.get("type") == "hello")
        await visitor.page.mouse.move(300, 200)

        async def marker(n: int) -> None:
            """A frame consent does not gate, sent after everything before it: frames on
            one socket keep their order, so what was not sent before it was not sent."""
            # (SPA page views go out a task later: let that task run first.)
            await run("new Promise(done => setTimeout(done))")
            await run(f"Beckon('setAttributes', {{marker: {n}}})")
            await fake.expect(lambda f: f.get("type") == "attributes" and f.get("marker") == n)

        def behaviour() -> list[str]:
            kinds = [(f["type"], f.get("event") or f.get("url", "")) for f in fake.received]
            return [f"{t}:{what}" for t, what in kinds if t in ("page_view", "track")]

        await run(EXIT_INTENT)
        await run("Beckon('track', 'clicked')")
        await run("Beckon('conversion', {value: 10, currency: 'EUR', order_id: 'o1'})")
        await run("history.pushState({}, '', '/consent/step2')")
        await marker(1)
        assert behaviour() == []

        # Consent: the page view held back is sent (the current one), then tracking flows.
        await run("Beckon('consent', true)")
        await run(EXIT_INTENT)
        await marker(2)
        assert behaviour() == [
            f"page_view:{host.site.origin}/consent/step2",
            "track:exit_intent",
        ]

        # Consent withdrawn: nothing more.
        await run("Beckon('consent', false)")
        await run("Beckon('track', 'after_withdrawal')")
        await run("history.pushState({}, '', '/consent/step3')")
        await marker(3)
        assert len(behaviour()) == 2
        assert visitor.errors == []
        await visitor.context.close()


HIDDEN_TAB = (
    "window.__visibility = 'hidden';"
    "Object.defineProperty(document, 'visibilityState', {get: () => window.__visibility});"
    "Object.defineProperty(document, 'hidden', {get: () => window.__visibility !== 'visible'});"
    # Counts server frames as the page receives them (before the widget's own handler).
    "window.__frames = 0; const Socket = window.WebSocket;"
    "window.WebSocket = class extends Socket { constructor(...a) { super(...a);"
    " this.addEventListener('message', () => window.__frames++); } };"
)
SHOW_TAB = "window.__visibility = 'visible';document.dispatchEvent(new Event('visibilitychange'))"


async def test_an_invitation_to_a_hidden_tab_is_shown_when_the_tab_is_seen(
    browser: Browser, host: Host
) -> None:
    """`invitation_shown` means a person could see the card: not while the tab is in the
    background; closing the card sends `invitation_dismiss`."""
    async with fake_beckon() as fake:
        stub = "<script>" + HIDDEN_TAB + "</script>"
        html = page(host.script, "sk_fake", head=stub, server=fake.url)
        visitor = await open_page(browser, host, html, "/hidden")
        run = visitor.page.evaluate
        await fake.expect(lambda f: f.get("type") == "hello")
        await fake.push(
            {"type": "invitation", "invitation_id": "in_h", "rule_id": "ru_1", "variant": "a",
             "text": "Found everything?"}
        )  # fmt: skip
        # Welcome and invitation are in; a task later the widget has handled both.
        await visitor.page.wait_for_function("window.__frames >= 2")
        await run("new Promise(done => setTimeout(done))")
        # Frames on one socket keep their order: once this marker is in, a shown is too.
        await run("Beckon('setAttributes', {marker: 1})")
        await fake.expect(lambda f: f.get("type") == "attributes" and f.get("marker") == 1)
        assert [f for f in fake.received if f["type"] == "invitation_shown"] == []
        await expect(visitor.shadow(".inv")).to_have_count(0)

        await run(SHOW_TAB)
        card = visitor.shadow(".inv")
        await expect(card).to_have_text(re.compile("Found everything"))
        shown = await fake.expect(lambda f: f.get("type") == "invitation_shown")
        assert shown["invitation_id"] == "in_h"
        await card.get_by_role("button", name="Dismiss").click()
        dismissed = await fake.expect(lambda f: f.get("type") == "invitation_dismiss")
        assert dismissed["invitation_id"] == "in_h"
        await expect(card).to_have_count(0)
        assert [f["type"] for f in fake.received].count("invitation_shown") == 1
        assert visitor.errors == []
        await visitor.context.close()


async def test_idle_after_a_minute_without_input_then_active(browser: Browser, host: Host) -> None:
    async with fake_beckon() as fake:
        html = page(host.script, "sk_fake", server=fake.url)
        host.site.pages["/idle"] = html
        visitor = await open_tab(browser, host.site.origin + "/idle", clock=True)
        await fake.expect(lambda f: f.get("type") == "page_view")
        assert not [f for f in fake.received if f.get("event") in ("idle", "active")]
        # A minute and more without input, in page time (the socket may be found dead on
        # the way — a ping unanswered for as long — and resumes: the frame still arrives).
        await visitor.page.clock.fast_forward("01:10")
        await fake.expect(lambda f: f.get("event") == "idle")
        assert not [f for f in fake.received if f.get("event") == "active"]
        await visitor.page.mouse.move(200, 200)
        await visitor.page.mouse.move(240, 260)
        await fake.expect(lambda f: f.get("event") == "active")
        events = [f["event"] for f in fake.received if f.get("event") in ("idle", "active")]
        assert events == ["idle", "active"]  # once each: throttled, not per input
        assert visitor.errors == []
        await visitor.context.close()


# -- screenshots for the README -----------------------------------------------------------
@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
async def test_screenshots(browser: Browser, host: Host, viewport: str) -> None:
    """Bubble, invitation, queue, chat, survey and offline form, kept as README pictures."""
    async with fake_beckon(greeting="Hi! How can we help?", survey=["csat", "nps"]) as fake:
        body = (
            "<h1>Host shop</h1><p>Hand-made ceramics from a small studio.</p>"
            "<p>Free shipping on orders over €50.</p>"
        )
        html = page(host.script, "sk_fake", body=body, server=fake.url)
        host.site.pages["/shots"] = html
        visitor = await open_tab(browser, host.site.origin + "/shots", **VIEWPORTS[viewport])
        shadow = visitor.shadow
        await fake.expect(lambda f: f.get("type") == "page_view")
        await keep_screenshot(visitor.page, f"widget-bubble-{viewport}")

        invitation = "Looking for a gift? I can help you choose."
        await fake.push(
            {
                "type": "invitation",
                "invitation_id": "in_s",
                "rule_id": "rl_s",
                "variant": "a",
                "text": invitation,
                "agent": {"name": "Ana"},
            }
        )
        await expect(shadow(".inv")).to_be_visible()
        await keep_screenshot(visitor.page, f"widget-invitation-{viewport}")

        await shadow(".inv").get_by_role("button", name="Reply").click()
        await fake.expect(lambda f: f.get("type") == "invitation_accept")
        conv = {"type": "conversation", "id": "cv_s"}
        await fake.push({**conv, "status": "queued", "queue_position": 2, "estimated_wait_s": 90})
        await expect(shadow(".bn")).to_have_text("You are number 2 in the queue · about 2 min wait")
        await keep_screenshot(visitor.page, f"widget-queue-{viewport}")

        agent = {"id": "ag_1", "name": "Ana"}
        await fake.push({**conv, "status": "active", "agent": agent})
        script = [
            ("system", None, invitation),
            ("visitor", None, "Yes please: a mug for my sister, under €40?"),
            (
                "agent",
                "Ana",
                "The sea-green mug is €32 and ships tomorrow: https://example.com/mug",
            ),
            ("visitor", None, "Perfect, thank you!"),
        ]
        for seq, (kind, name, text) in enumerate(script, 1):
            author = {"kind": kind, **({"name": name} if name else {})}
            await fake.push(
                {
                    "type": "message",
                    "conversation_id": "cv_s",
                    "id": f"ms_{seq}",
                    "seq": seq,
                    "author": author,
                    "text": text,
                    "ts": 1_790_000_000_000 + seq * 60_000,
                }
            )
        await fake.push({"type": "read", "conversation_id": "cv_s", "seq": 4})
        await fake.push(
            {"type": "typing", "conversation_id": "cv_s", "on": True, "author": {"kind": "agent"}}
        )
        await expect(shadow(".ty")).to_have_text("Ana is typing…")
        await expect(shadow(".meta").filter(has_text="Seen")).to_be_visible()
        await keep_screenshot(visitor.page, f"widget-chat-{viewport}")

        closed = {"type": "closed", "conversation_id": "cv_s", "by": "agent"}
        await fake.push({**closed, "survey": ["csat", "nps"]})
        await shadow("[data-kind=csat] button").nth(4).click()
        await shadow("[data-kind=nps] button").nth(9).click()
        await shadow("textarea[name=comment]").fill("Quick and friendly.")
        await keep_screenshot(visitor.page, f"widget-survey-{viewport}")

        await shadow("button").get_by_text("Skip").click()
        await fake.push({"type": "availability", "online": False})
        await shadow("button").get_by_text("Start a new chat").click()
        form = shadow("form.f")
        await expect(form.locator("h3")).to_have_text("Leave us a message")
        await form.locator("input[name=name]").fill("Iva")
        await form.locator("input[name=email]").fill("iva@example.com")
        await form.locator("textarea[name=text]").fill("Do you ship to Split?")
        await keep_screenshot(visitor.page, f"widget-offline-{viewport}")
        assert visitor.dialogs == [] and visitor.errors == []
        await visitor.context.close()
