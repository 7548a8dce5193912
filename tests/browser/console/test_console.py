"""The agent console against a real `beckon serve`, driven in Chromium.

Visitors are WebSocket clients driven from the test, so every claim about what the
visitor receives (or never receives, like internal notes) is asserted on the wire.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.conftest import artifact
from tests.browser.console.conftest import (
    add_agent,
    agent_message,
    open_console,
    set_status,
    shot,
    sign_in,
    start_chat,
    visitor_says,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

XSS = "<img src=x onerror=window.__xss=1>"
LINK = "https://shop.example.com/o/1?x="
CANNED = "Thanks {visitor.name}, {agent.name} here."


async def test_sign_in_shows_errors_then_the_console(browser: Browser, node, chat) -> None:  # type: ignore[no-untyped-def]
    console = await open_console(browser, node.url)
    page = console.page
    await expect(page.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
    await shot(page, "signin")
    await page.get_by_label("Email").fill("agent@example.com")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signin-error")).to_have_text("Wrong email or password.")
    await page.screenshot(path=str(artifact("console-signin-error.png")))
    await page.get_by_label("Password").fill("agent password 1")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#me-name")).to_have_text("Ana")
    await expect(page.locator("#conn-banner")).to_be_hidden()
    # The session survives a reload (cookie), and signing out ends it.
    await page.reload()
    await expect(page.locator("#console")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin")).to_be_visible()
    # The console's page carries a strict Content-Security-Policy.
    csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert csp is not None and "script-src 'self'" in csp and "unsafe" not in csp
    assert console.errors == [], console.errors
    await console.close()


async def test_queue_accept_exchange_note_xss_close_and_history(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    # Away: routing does not assign to this agent, so the chat waits in the queue.
    await set_status(page, "away")
    visitor, cid = await start_chat(chat, "Hello, where is my order?", name="Zoë")

    card = page.locator(f'#queue-list li[data-conversation="{cid}"]')
    await expect(card).to_be_visible()  # live, no reload
    await expect(card.locator(".js-since")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await page.screenshot(path=str(artifact("console-queue.png")))
    await card.get_by_role("button", name=re.compile("Accept")).click()
    await expect(card).to_be_hidden()
    chat_item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(chat_item).to_have_attribute("aria-selected", "true")
    transcript = page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-visitor")).to_have_text(
        re.compile("Hello, where is my order?")
    )
    await visitor.expect(lambda f: f.get("type") == "conversation" and f["status"] == "active")

    # Agent replies with Enter; the visitor receives it.
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Hi! Let me check that for you.")
    await composer.press("Enter")
    await agent_message(visitor, "Hi! Let me check that for you.")
    await expect(transcript.locator(".msg-agent .msg-text")).to_have_text(
        ["Hi! Let me check that for you."]
    )
    await expect(page.locator(".msg-pending")).to_have_count(0)

    # Shift+Enter is a new line, not a send.
    await composer.press("Shift+Enter")
    await expect(composer).to_have_value("\n")
    await composer.fill("")

    # An internal note: shown distinct, never sent to the visitor.
    await page.get_by_label("Internal note").check()
    await expect(page.locator(".composer")).to_have_class(re.compile("composer-note"))
    await composer.fill("VIP customer: offer free shipping")
    await composer.press("Enter")
    note = transcript.locator(".msg-note")
    await expect(note).to_have_count(1)
    await expect(note.locator(".msg-text")).to_have_text("VIP customer: offer free shipping")
    await expect(page.locator(".msg-pending")).to_have_count(0)
    await composer.fill("Checking the warehouse, one moment")  # a draft, still a note
    await shot(page, "internal-note")
    await composer.fill("")
    await page.get_by_label("Internal note").uncheck()

    # Visitor typing shows; hostile text is rendered as text; links are safe anchors.
    await visitor.send({"type": "typing", "conversation_id": cid, "on": True})
    await expect(page.locator(".typing")).to_have_text(re.compile("is typing"))
    await visitor_says(visitor, cid, XSS)
    await visitor_says(visitor, cid, f"See {LINK}<b>, or javascript:alert(1)")
    await expect(transcript.locator(".msg-visitor .msg-text").nth(1)).to_have_text(XSS)
    anchor = transcript.locator(".msg-visitor a")
    await expect(anchor).to_have_count(1)
    assert await anchor.get_attribute("rel") == "noopener nofollow ugc"
    assert await anchor.get_attribute("target") == "_blank"
    assert await anchor.get_attribute("href") == LINK
    assert await page.evaluate("window.__xss") is None
    await expect(transcript.locator("img")).to_have_count(0)

    # The last public message; everything before it (the note included) was delivered
    # to the visitor in seq order, so the note's absence is final.
    await composer.fill("Your parcel leaves today.")
    await composer.press("Enter")
    stored = await agent_message(visitor, "Your parcel leaves today.")
    texts = [f.get("text") for f in visitor.frames]
    assert "VIP customer: offer free shipping" not in texts
    assert not any(f.get("internal") for f in visitor.frames)

    # Read receipt from the visitor.
    await visitor.send({"type": "read", "conversation_id": cid, "seq": stored["seq"]})
    await expect(transcript.locator(".msg-agent .msg-status")).to_have_text("Seen")
    await page.screenshot(path=str(artifact("console-chat-xss.png")))
    await expect(page.locator("#context-pane .context-name")).to_have_text("Zoë")

    # Close (two clicks: the second confirms).
    close = page.get_by_role("button", name="Close chat")
    await close.click()
    await page.get_by_role("button", name="Click again to close").click()
    closed = await visitor.expect("closed")
    assert closed["by"] == "agent"
    await expect(page.locator(".endbar")).to_contain_text("You closed this chat.")
    await expect(page.get_by_role("textbox", name="Message")).to_be_hidden()

    # History lists the closed chat and opens its transcript read-only.
    await page.locator("#nav-history").click()
    row = page.locator(f'#view-history tr[data-conversation="{cid}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("closed")
    await row.click()
    reader = page.locator(".history-reader")
    await expect(reader.locator(".msg-note .msg-text")).to_have_text(
        "VIP customer: offer free shipping"
    )
    await expect(reader.locator(".msg-visitor .msg-text").nth(1)).to_have_text(XSS)
    await expect(reader.get_by_role("textbox", name="Message")).to_have_count(0)
    await expect(reader.locator(".reader-head h2")).to_contain_text("Zoë")

    # Full-text search finds it by a word of the transcript, and not by a missing one.
    await page.get_by_label("Search transcripts").fill("refund")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#view-history tbody")).to_contain_text("No conversations match.")
    await page.get_by_label("Search transcripts").fill("parcel")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#view-history tbody tr[data-conversation]")).to_have_count(1)
    await expect(row).to_contain_text("Zoë")
    await shot(page, "history-search")
    assert await page.evaluate("window.__xss") is None
    assert console.errors == [], console.errors
    await visitor.close()
    await console.close()


async def test_canned_reply_fills_placeholders(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as admin:
        created = await admin.post(
            f"/api/v1/sites/{chat.site['id']}/canned-replies",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={"shortcut": "thanks", "text": CANNED, "scope": "site"},
        )
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, cid = await start_chat(chat, "Hi")
    await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_have_attribute(
        "aria-selected", "true"
    )
    composer = page.get_by_role("textbox", name="Message")
    await composer.press_sequentially("/than")
    popup = page.get_by_role("listbox", name="Canned replies")
    await expect(popup).to_be_visible()
    if created.status_code == 201:
        await expect(popup.get_by_role("option")).to_have_count(1)
        await shot(page, "canned-picker")
        await composer.press("Enter")  # picks the reply, does not send
        await expect(composer).to_have_value("Thanks there, Ana here.")
        await composer.press("Enter")
        await agent_message(visitor, "Thanks there, Ana here.")
    else:  # a server without canned replies: the console says so and keeps working
        await expect(popup).to_contain_text("not available")
    await visitor.send({"type": "close", "conversation_id": cid})
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()


async def test_live_visitors_view(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    shoppers = [
        await chat.visitor(
            page={"url": "https://shop.example.com/p/boots", "title": "Hiking boots"},
            attributes={"name": "Lena"},
        ),
        await chat.visitor(page={"url": "https://shop.example.com/cart", "title": "Your cart"}),
    ]
    (lena, lena_welcome), (carter, carter_welcome) = shoppers
    await carter.send({"type": "cart", "value": 89.9, "currency": "EUR", "items": 2})
    console = await sign_in(browser, node.url)
    page = console.page
    await page.locator("#nav-visitors").click()
    view = page.locator("#view-visitors")
    await expect(view).to_be_visible()
    lena_row = view.locator(f'tr[data-visitor="{lena_welcome["visitor_id"]}"]')
    carter_row = view.locator(f'tr[data-visitor="{carter_welcome["visitor_id"]}"]')
    await expect(lena_row).to_contain_text("Lena")
    await expect(lena_row.get_by_role("link", name="Hiking boots")).to_have_attribute(
        "href", "https://shop.example.com/p/boots"
    )
    await expect(carter_row).to_contain_text("€89.90")
    # Live: a page view moves the row without a reload.
    await lena.send(
        {"type": "page_view", "url": "https://shop.example.com/p/socks", "title": "Wool socks"}
    )
    await expect(lena_row.get_by_role("link", name="Wool socks")).to_be_visible()
    await shot(page, "live-visitors")

    # A manual invitation reaches the visitor with the agent's text.
    await lena_row.get_by_role("button", name="Invite Lena to chat").click()
    text = page.get_by_label("Invitation text")
    await text.fill("Hi Lena, the socks come in three sizes. Need help?")
    await page.get_by_role("button", name="Send invitation").click()
    invitation = await lena.expect("invitation")
    assert invitation["text"] == "Hi Lena, the socks come in three sizes. Need help?"

    # Leaving the site removes the row.
    await carter.close()
    await expect(carter_row).to_have_count(0)
    await lena.close()
    assert console.errors == [], console.errors
    await console.close()


async def test_marketer_cannot_open_chats(browser: Browser, node: BeckonProcess, chat) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as admin:
        response = await admin.post(
            "/api/v1/agents",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "email": "marketer@example.com",
                "password": "marketer password",
                "display_name": "Mia",
                "role": "marketer",
                "site_ids": [chat.site["id"]],
            },
        )
        assert response.status_code == 201, response.text
    console = await open_console(browser, node.url)
    page = console.page
    await page.get_by_label("Email").fill("marketer@example.com")
    await page.get_by_label("Password").fill("marketer password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#noaccess")).to_be_visible()
    await expect(page.locator("#noaccess-text")).to_contain_text("marketer")
    await expect(page.locator("#console")).to_be_hidden()
    # The API says 403 to the chats this account asks for; the console says why.
    status = await page.evaluate(
        "id => fetch(`/api/v1/sites/${id}/conversations`).then((r) => r.status)", chat.site["id"]
    )
    assert status == 403
    await shot(page, "marketer-403")
    assert console.errors == [], console.errors
    await console.close()


async def test_transfer_to_a_department_reaches_a_second_agent_who_closes(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    await add_agent(chat, "bo@example.com", "second agent pw", "Bo")
    ana = await sign_in(browser, node.url)
    await set_status(ana.page, "online")
    visitor, cid = await start_chat(chat, "Can sales help me?")
    ana_item = ana.page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(ana_item).to_have_attribute("aria-selected", "true")

    bo = await sign_in(browser, node.url, "bo@example.com", "second agent pw")
    await set_status(bo.page, "online")
    await set_status(ana.page, "away")  # so routing hands the requeued chat to Bo
    await ana.page.get_by_role("button", name="Transfer").click()
    dialog = ana.page.get_by_role("dialog", name="Transfer chat")
    await expect(dialog).to_be_visible()
    await ana.page.screenshot(path=str(artifact("console-transfer.png")))
    await dialog.get_by_label("To a department queue").check()
    await dialog.get_by_label("Department", exact=True).select_option("sales")
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog).to_be_hidden()
    await expect(ana.page.locator(".endbar")).to_contain_text("Transferred")

    bo_item = bo.page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(bo_item).to_be_visible()
    await bo_item.click()
    transcript = bo.page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-visitor")).to_have_text(re.compile("Can sales help me?"))
    await expect(transcript.locator(".msg-system")).to_contain_text("transferred")
    await bo.page.get_by_role("button", name="Close chat").click()
    await bo.page.get_by_role("button", name="Click again to close").click()
    assert (await visitor.expect("closed"))["by"] == "agent"
    await expect(bo.page.locator(".endbar")).to_contain_text("You closed this chat.")
    assert ana.errors == [] and bo.errors == [], (ana.errors, bo.errors)
    await visitor.close()
    await ana.close()
    await bo.close()
