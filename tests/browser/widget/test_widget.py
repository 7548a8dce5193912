"""The visitor widget in real Chromium against a real `beckon serve` (issue 8).

Host pages come from a loopback "customer site" with its own origin, allowed on the
Beckon site; the agent side is a Python WebSocket client with an API token.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.beckon_process import BeckonProcess
from tests.browser.conftest import artifact
from tests.browser.widget.hosting import HOSTILE_CSS, FakeBeckon, HostSite, page
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.tcp_proxy import TcpProxy
from tests.ws_client import WsClient

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

BUDGET_GZIP_BYTES = 15 * 1024
BUBBLE_BUDGET_MS = 50.0
WAIT_MS = 10_000


@dataclass
class World:
    node: BeckonProcess
    host: HostSite
    chat: ChatSite  # agents go online here
    quiet: ChatSite  # no agent ever online: the offline form
    proxy: TcpProxy  # a cuttable path from the widget's socket to the node


async def allow(site: ChatSite, origin: str) -> None:
    async with httpx.AsyncClient(base_url=site.server_url, timeout=10) as client:
        response = await client.patch(
            f"/api/v1/sites/{site.site['id']}",
            headers={"Authorization": f"Bearer {site.admin_token}"},
            json={"allowed_origins": [*site.site["allowed_origins"], origin]},
        )
    assert response.status_code == 200, response.text


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("widget")
    node = BeckonProcess(subprocess_env(tmp), tmp)
    await node.create_admin()
    await node.start()
    host = HostSite()
    host.start()
    proxy = TcpProxy(node.port)
    await proxy.start()
    try:
        chat = await make_chat_site(node)
        quiet = await make_chat_site(node, agent_email="quiet@example.com")
        for site in (chat, quiet):
            await allow(site, host.origin)
        yield World(node, host, chat, quiet, proxy)
    finally:
        await proxy.cut()
        host.stop()
        await node.stop()


@dataclass
class Visitor:
    """A browser tab with the widget, recording every frame its socket sends."""

    context: BrowserContext
    page: Page
    sent: list[dict[str, Any]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def shadow(self, selector: str) -> Any:
        return self.page.locator("beckon-chat").locator(selector)

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.sent if f.get("type") == kind]

    async def sent_frame(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while not self.frames(kind):
                self.arrived.clear()
                await self.arrived.wait()
        return self.frames(kind)[-1]


async def open_visitor(
    browser: Browser, world: World, html: str, path: str = "/", **context: Any
) -> Visitor:
    world.host.pages[path] = html
    # Reduced motion: screenshots and boxes without mid-animation frames (and it is honoured).
    ctx = await browser.new_context(**{"reduced_motion": "reduce", **context})
    tab = await ctx.new_page()
    visitor = Visitor(ctx, tab)
    tab.on(
        "dialog", lambda d: (visitor.dialogs.append(d.message), asyncio.ensure_future(d.dismiss()))
    )
    tab.on("pageerror", lambda e: visitor.errors.append(str(e)))

    def on_frame(payload: str | bytes) -> None:
        visitor.sent.append(orjson.loads(payload))
        visitor.arrived.set()

    def on_socket(ws: Any) -> None:
        ws.on("framesent", on_frame)

    tab.on("websocket", on_socket)
    await tab.goto(world.host.origin + path)
    await expect(visitor.shadow("button.l")).to_be_visible(timeout=WAIT_MS)
    return visitor


async def agent_online(site: ChatSite) -> WsClient:
    agent, _welcome = await site.agent_socket()
    assert (await agent.request({"type": "status", "status": "online"}))["status"] == "online"
    return agent


async def agent_take(agent: WsClient) -> str:
    """Wait for the visitor's chat to reach this agent and accept it (unless routing
    already assigned it); returns the conversation id."""

    def arrived(frame: dict[str, Any]) -> bool:
        return (
            (frame.get("type") == "queue" and bool(frame.get("items")))
            or frame.get("type") == "offer"
            or (frame.get("type") == "conversation" and frame.get("status") == "active")
        )

    frame = await agent.expect(arrived)
    if frame["type"] == "conversation":
        return frame["id"]
    conv_id = frame["conversation_id"] if frame["type"] == "offer" else frame["items"][0]["id"]
    reply = await agent.request({"type": "accept", "conversation_id": conv_id})
    assert reply.get("type") == "conversation" or reply.get("code") == "conflict", reply
    return conv_id


async def stored_texts(world: World, conv_id: str) -> list[str]:
    async with httpx.AsyncClient(base_url=world.node.url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"after_seq": 0, "limit": 200},
            headers={"Authorization": f"Bearer {world.chat.agent_token}"},
        )
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["items"] if m["author"]["kind"] == "visitor"]


# -- the asset ---------------------------------------------------------------------------
async def test_size_budget_etag_and_versioned_url(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.node.url, timeout=10) as client:
        async with client.stream(
            "GET", "/widget.js", headers={"Accept-Encoding": "gzip"}
        ) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=300"
        plain = await client.get("/widget.js", headers={"Accept-Encoding": "identity"})
        print(f"\nwidget.js: {len(raw)} bytes gzipped, {len(plain.content)} bytes plain")
        assert len(raw) <= BUDGET_GZIP_BYTES
        assert "content-encoding" not in plain.headers

        etag = response.headers["etag"]
        again = await client.get(
            "/widget.js", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"}
        )
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag

        digest = etag.strip('"').split("-")[0]
        pinned = await client.get(f"/widget.{digest}.js")
        assert pinned.status_code == 200
        assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert pinned.content == plain.content
        assert (await client.get("/widget.0000000000000000.js")).status_code == 404

        lang = await client.get("/widget/i18n/hr.json")
        assert lang.headers["access-control-allow-origin"] == "*"
        assert lang.json()["send"] == "Pošalji"
        assert (await client.get("/widget/i18n/xx.json")).status_code == 404


# -- hostile host page, time to bubble, mobile --------------------------------------------
async def test_bubble_on_hostile_page_and_time_to_bubble(browser: Browser, world: World) -> None:
    html = page(
        world.node.url + "/widget.js",
        world.chat.site["key"],
        css=HOSTILE_CSS,
        body='<div class="overlay">overlay with the biggest z-index</div><h1>Hostile</h1>',
    )
    visitor = await open_visitor(browser, world, html, "/hostile")
    launcher = visitor.shadow("button.l")
    box = await launcher.bounding_box()
    assert box is not None and box["width"] >= 50 and box["height"] >= 50
    # Script start → the task after the frame that painted the bubble; three loads, the
    # median is the figure (one load can be slowed by the machine, not the widget).
    times = []
    for _ in range(3):
        await visitor.page.reload()
        times.append(
            await visitor.page.evaluate(
                "new Promise(done => (function poll() {"
                " const [m] = performance.getEntriesByName('beckon:bubble');"
                " m ? done(m.duration) : setTimeout(poll, 5) })())"
            )
        )
    median = sorted(times)[1]
    print(f"\ntime to bubble: {median:.1f} ms median of {[round(t, 1) for t in times]}")
    assert median <= BUBBLE_BUDGET_MS
    await visitor.page.screenshot(path=str(artifact("widget-hostile-bubble.png")))
    await launcher.click()  # the overlay does not get the click: the widget is on top
    await expect(visitor.shadow("[role=dialog]")).to_be_visible()
    await visitor.page.screenshot(path=str(artifact("widget-hostile-open.png")))
    await visitor.page.keyboard.press("Escape")
    await expect(visitor.shadow("[role=dialog]")).to_be_hidden()
    assert visitor.errors == []
    await visitor.context.close()


async def test_mobile_full_screen(browser: Browser, world: World) -> None:
    html = page(world.node.url + "/widget.js", world.chat.site["key"])
    visitor = await open_visitor(
        browser,
        world,
        html,
        "/mobile",
        viewport={"width": 390, "height": 780},
        is_mobile=True,
    )
    await visitor.page.screenshot(path=str(artifact("widget-mobile-bubble.png")))
    await visitor.shadow("button.l").click()
    window = visitor.shadow("[role=dialog]")
    await expect(window).to_be_visible()
    box = await window.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 780}
    await visitor.page.screenshot(path=str(artifact("widget-mobile-open.png")))
    await visitor.context.close()


# -- a whole chat with an agent -----------------------------------------------------------
async def test_chat_typing_read_xss_and_survey(browser: Browser, world: World) -> None:
    agent = await agent_online(world.chat)
    html = page(world.node.url + "/widget.js", world.chat.site["key"])
    visitor = await open_visitor(browser, world, html, "/chat")
    shadow = visitor.shadow
    await shadow("button.l").click()
    await visitor.page.screenshot(path=str(artifact("widget-open.png")))
    composer = shadow("textarea")
    await composer.fill("Hello, do you ship to Zagreb?")
    await composer.press("Enter")
    conv_id = await agent_take(agent)
    await expect(shadow(".m.v").filter(has_text="ship to Zagreb")).to_be_visible()
    await expect(shadow(".pending")).to_have_count(0)
    assert (await stored_texts(world, conv_id)) == ["Hello, do you ship to Zagreb?"]

    # Typing both ways, read receipts both ways.
    await composer.press_sequentially("Also", delay=20)
    typing = await agent.expect(lambda f: f.get("type") == "typing" and f.get("on") is True)
    assert typing["author"]["kind"] == "visitor"
    await agent.send({"type": "typing", "conversation_id": conv_id, "on": True})
    await expect(shadow(".ty")).to_have_text("Ana is typing…")
    await agent.send(
        {
            "type": "message",
            "conversation_id": conv_id,
            "client_msg_id": "a1",
            "text": "Yes! 2 days.",
        }
    )
    await expect(shadow(".m.a").filter(has_text="Yes! 2 days.")).to_be_visible()
    await expect(shadow(".ty")).to_be_hidden()
    await agent.expect(lambda f: f.get("type") == "read" and f.get("seq", 0) >= 2)
    await agent.send({"type": "read", "conversation_id": conv_id, "seq": 1})
    await expect(shadow(".meta").filter(has_text="Seen")).to_be_visible()

    # Hostile agent text renders as text; links are real, safe <a> elements.
    evil = (
        "<img src=x onerror=alert(1)> <script>alert(2)</script> javascript:alert(3) "
        "\u202eevil\u202c see https://example.com/track?a=1&b=<x>."
    )
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_msg_id": "a2", "text": evil}
    )
    bubble = shadow(".m.a").filter(has_text="onerror")
    await expect(bubble).to_be_visible()
    assert await bubble.text_content() == evil
    assert await bubble.locator("img, script").count() == 0
    link = bubble.locator("a")
    assert await link.count() == 1
    assert await link.get_attribute("href") == "https://example.com/track?a=1&b="
    assert await link.get_attribute("rel") == "noopener nofollow ugc"
    assert await link.get_attribute("target") == "_blank"
    await composer.fill("Great, thanks")
    await shadow("button[aria-label=Send]").click()
    await expect(shadow(".m.v").filter(has_text="Great, thanks")).to_be_visible()
    await visitor.page.screenshot(path=str(artifact("widget-chat.png")))

    # The agent closes: survey (csat + nps, as the site is configured) and submit.
    await agent.send({"type": "close", "conversation_id": conv_id})
    await expect(shadow(".sys").filter(has_text="The chat has ended.")).to_be_visible()
    await shadow("[data-kind=csat] button").nth(4).click()  # 1..5
    await shadow("[data-kind=nps] button").nth(9).click()  # 0..10
    await shadow("textarea[name=comment]").fill("Quick and helpful")
    await visitor.page.screenshot(path=str(artifact("widget-survey.png")))
    await shadow("button[type=submit]").click()
    await expect(shadow(".sys").filter(has_text="Thank you for your feedback!")).to_be_visible()
    surveys = visitor.frames("survey")
    assert [(f["kind"], f["score"]) for f in surveys] == [("csat", 5), ("nps", 9)]
    assert surveys[0]["comment"] == "Quick and helpful" and surveys[0]["conversation_id"] == conv_id
    assert visitor.dialogs == [] and visitor.errors == []
    # (The server does not store surveys yet: it answers `unavailable`.)
    await visitor.context.close()
    await agent.send({"type": "status", "status": "offline"})
    await agent.ws.close()


# -- never lose a message -----------------------------------------------------------------
async def test_outage_and_reload_deliver_every_message_exactly_once(
    browser: Browser, world: World
) -> None:
    agent = await agent_online(world.chat)
    proxied = f"http://127.0.0.1:{world.proxy.port}"
    html = page(world.node.url + "/widget.js", world.chat.site["key"], server=proxied)
    visitor = await open_visitor(browser, world, html, "/flaky")
    shadow = visitor.shadow
    await shadow("button.l").click()
    composer = shadow("textarea")
    await composer.fill("first")
    await composer.press("Enter")
    conv_id = await agent_take(agent)
    await expect(shadow(".pending")).to_have_count(0)

    # Ten messages, and the network dies while some are still in flight (their acks,
    # maybe the messages themselves, are lost); ten more typed during the outage.
    for n in range(1, 11):
        await composer.fill(f"m{n:02}")
        await composer.press("Enter")
    await world.proxy.cut()
    for n in range(11, 21):
        await composer.fill(f"m{n:02}")
        await composer.press("Enter")
    await expect(shadow(".bn")).to_have_text("Reconnecting…")
    pending = await shadow(".pending").count()
    assert pending >= 10
    await visitor.page.screenshot(path=str(artifact("widget-pending.png")))

    # A reload during the outage keeps the outbox (sessionStorage) and shows it pending.
    await visitor.page.reload()
    await expect(shadow(".pending")).to_have_count(pending, timeout=WAIT_MS)

    await world.proxy.start()
    await expect(shadow(".pending")).to_have_count(0, timeout=WAIT_MS)
    await expect(shadow(".m.v").filter(has_text="m20")).to_be_visible()
    texts = await stored_texts(world, conv_id)
    assert texts == ["first"] + [f"m{n:02}" for n in range(1, 21)]
    shown = [t.strip() for t in await shadow(".m.v").all_text_contents()]
    assert shown == texts
    await visitor.context.close()
    await agent.send({"type": "close", "conversation_id": conv_id})
    await agent.send({"type": "status", "status": "offline"})
    await agent.ws.close()


# -- no agent online ----------------------------------------------------------------------
async def test_offline_form_sends_offline_message(browser: Browser, world: World) -> None:
    html = page(world.node.url + "/widget.js", world.quiet.site["key"])
    visitor = await open_visitor(browser, world, html, "/offline")
    await visitor.shadow("button.l").click()
    form = visitor.shadow("form.f")
    await expect(form.locator("h3")).to_have_text("Leave us a message")
    await form.locator("input[name=name]").fill("Iva")
    await form.locator("input[name=email]").fill("iva@example.com")
    await form.locator("textarea[name=text]").fill("Do you have size 42?")
    await visitor.page.screenshot(path=str(artifact("widget-offline.png")))
    await form.locator("button[type=submit]").click()
    frame = await visitor.sent_frame("offline_message")
    assert {k: frame[k] for k in ("name", "email", "text")} == {
        "name": "Iva",
        "email": "iva@example.com",
        "text": "Do you have size 42?",
    }
    # (The server answers `unavailable` until it stores offline messages.)
    await visitor.context.close()


# -- invitations, tracking and the JS API (a scripted socket server) ----------------------
async def test_invitation_tracking_and_api_queue(browser: Browser, world: World) -> None:
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
    html = page(world.node.url + "/widget.js", "sk_fake", head=stub, server=fake.url)
    try:
        visitor = await open_visitor(browser, world, html, "/shop")
        await fake.expect(lambda f: f.get("type") == "page_view")
        cart = await fake.expect(lambda f: f.get("type") == "cart")
        assert (cart["value"], cart["currency"], cart["items"]) == (120.5, "EUR", 2)
        await fake.expect(lambda f: f.get("event") == "viewed_product")

        await visitor.page.evaluate("history.pushState({}, '', '/shop/checkout')")
        view = await fake.expect(lambda f: f.get("type") == "page_view" and "checkout" in f["url"])
        assert view["referrer"] == world.host.origin + "/shop"
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


async def test_prechat_keyboard_only_and_ack(browser: Browser, world: World) -> None:
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
    html = page(world.node.url + "/widget.js", "sk_fake", server=fake.url)
    try:
        visitor = await open_visitor(browser, world, html, "/prechat")
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
        await expect(visitor.shadow(".pending")).to_have_count(1)
        await fake.push({"type": "conversation", "id": "cv_9", "status": "queued", "ref": "start"})
        sent = await fake.expect(lambda f: f.get("type") == "message")
        assert (sent["conversation_id"], sent["text"]) == ("cv_9", "Wo ist mein Paket?")
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
