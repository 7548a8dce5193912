"""Several chats at once in the console: three visitors, unread counts per tab,
drafts kept per chat, the visitor brief on each tab — and offers beside the queue.

Visitors are WebSocket clients driven from the test, so what each one receives (and
does not receive) is asserted on the wire."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.beckon_process import BeckonProcess
from tests.browser.conftest import artifact
from tests.browser.console.conftest import (
    agent_message,
    identity,
    set_status,
    shot,
    sign_in,
    start_chat,
    visitor_says,
)
from tests.chat_setup import ChatSite
from tests.routing_setup import add_agents, online_agent, set_site
from tests.ws_client import WsClient

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

JACKET = {"url": "https://shop.example.com/p/rain-jacket?colour=blue", "title": "Rain jacket"}
ORDERS = {"url": "https://shop.example.com/account/orders", "title": "My orders"}
SHIPPING = {"url": "https://shop.example.com/help/shipping", "title": "Shipping & returns"}


def tab(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'#chat-list [data-conversation="{conversation_id}"]')


def texts_received(visitor: WsClient) -> list[str]:
    return [f["text"] for f in visitor.frames if f.get("type") == "message"]


async def test_three_chats_unread_counts_drafts_and_briefs(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")  # routing assigns each new chat to Ana (capacity 3)
    zoe, cid1 = await start_chat(
        chat, "Is the blue one in stock?", name="Zoë Martin", page=JACKET, lang="fr"
    )
    await expect(tab(page, cid1)).to_have_attribute("aria-selected", "true")  # opens itself
    ann, cid2 = await start_chat(
        chat,
        "Can I change my delivery address?",
        page=ORDERS,
        identity=identity(chat, "u-1001", "Ann Lee"),
        cart={"value": 240, "currency": "EUR", "items": 2},
    )
    max_, cid3 = await start_chat(chat, "Do you ship to Norway?", page=SHIPPING)
    tab1, tab2, tab3 = tab(page, cid1), tab(page, cid2), tab(page, cid3)

    # The visitor brief names each tab and says where the visitor is (as text).
    await expect(tab1.locator(".chat-item-name")).to_have_text("Zoë Martin")
    await expect(tab1.locator(".chat-item-facts")).to_have_text("Rain jacket · fr")
    await expect(tab2.locator(".chat-item-name")).to_have_text("Ann Lee")
    await expect(tab2.locator(".verified")).to_be_visible()  # verified identity
    await expect(tab2.locator(".chat-item-facts")).to_have_text("My orders · Cart €240.00")
    await expect(tab3.locator(".chat-item-name")).to_have_text(re.compile(r"^Visitor \S{4}$"))
    await expect(tab3.locator(".chat-item-facts")).to_have_text("Shipping & returns")
    await expect(tab1).to_have_attribute("aria-selected", "true")  # new chats did not steal it

    # A draft in the open chat; messages arrive in the other two.
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Let me check the stock for you")
    await visitor_says(ann, cid2, "It is order 5521.")
    await visitor_says(ann, cid2, "The new address is in Ghent.")
    await visitor_says(max_, cid3, "Oslo, to be precise.")
    await visitor_says(zoe, cid1, "Size M, please.")
    await expect(page.locator(".chat .transcript")).to_contain_text("Size M, please.")
    await expect(tab1.locator(".unread-badge")).to_have_count(0)  # open and seen
    await expect(tab2.locator(".unread-badge")).to_have_text("3")  # with its first message
    await expect(tab3.locator(".unread-badge")).to_have_text("2")
    await expect(page.locator("#nav-unread")).to_have_text("5")
    assert await tab2.get_attribute("aria-label") == "Ann Lee, 3 unread"
    await shot(page, "chats-unread")
    await page.set_viewport_size({"width": 1024, "height": 720})  # tablet width
    await page.screenshot(path=str(artifact("console-chats-1024.png")))
    await page.set_viewport_size({"width": 1280, "height": 720})

    # Opening a chat reads it (the visitor gets the receipt) and shows its own draft.
    await tab2.click()
    await expect(tab2.locator(".unread-badge")).to_have_count(0)
    read = await ann.expect("read")
    assert read == {"type": "read", "conversation_id": cid2, "seq": 3}
    await expect(composer).to_have_value("")
    await expect(page.locator("#nav-unread")).to_have_text("2")
    await composer.fill("Ghent it is. Which street")
    await tab3.click()
    await expect(composer).to_have_value("")
    await expect(page.locator("#nav-unread")).to_be_hidden()
    await composer.fill("We ship to Norway in 3 to 5 days.")
    await composer.press("Enter")
    await agent_message(max_, "We ship to Norway in 3 to 5 days.")

    # Back and forth: each chat keeps its own draft; a message to a chat in the
    # background counts as unread there.
    await tab1.click()
    await expect(composer).to_have_value("Let me check the stock for you")
    await visitor_says(zoe, cid1, "Thanks!")
    await expect(tab1.locator(".unread-badge")).to_have_count(0)
    await tab2.click()
    await expect(composer).to_have_value("Ghent it is. Which street")
    await visitor_says(zoe, cid1, "Are you still there?")
    await expect(tab1.locator(".unread-badge")).to_have_text("1")

    # Drafts and unread state outlive a reload (nothing typed is lost).
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-connection", "ready")
    await expect(tab1.locator(".unread-badge")).to_have_text("1")
    await tab2.click()
    await expect(composer).to_have_value("Ghent it is. Which street")
    await page.keyboard.press("Alt+KeyN")  # next chat
    await expect(tab3).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("Alt+KeyN")
    await expect(tab1).to_have_attribute("aria-selected", "true")
    await expect(composer).to_have_value("Let me check the stock for you")
    await expect(tab1.locator(".unread-badge")).to_have_count(0)

    # Each reply reached its own visitor only.
    assert "We ship to Norway in 3 to 5 days." not in texts_received(zoe) + texts_received(ann)
    for client, cid in ((zoe, cid1), (ann, cid2), (max_, cid3)):
        await client.send({"type": "close", "conversation_id": cid})
        await client.expect("closed")
        await client.close()
    for item in (tab1, tab2, tab3):
        await expect(item).to_have_class(re.compile("ended"))
    assert console.errors == [], console.errors
    await console.close()


async def test_offers_countdown_decline_and_accept(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    await set_site(chat, settings={"routing": "offer"})
    console = await sign_in(browser, node.url)
    page = console.page
    try:
        await set_status(page, "online")
        noah, cid1 = await start_chat(
            chat,
            "Does the 312 € total include VAT?",
            name="Noah Berg",
            page={"url": "https://shop.example.com/checkout/payment", "title": "Payment"},
            lang="de",
            cart={"value": 312.4, "currency": "EUR", "items": 4},
        )
        offer1 = page.locator(f'#offer-list li[data-conversation="{cid1}"]')
        await expect(offer1).to_be_visible()
        await expect(offer1.locator(".card-name")).to_have_text("Noah Berg")
        await expect(offer1.locator(".card-facts")).to_have_text("Payment · Cart €312.40 · de")
        await expect(offer1.locator(".js-until")).to_have_text(re.compile(r"^0:[0-2]\d$"))
        # Offered to Ana, so shown once: as her offer, not again in the queue.
        queued1 = page.locator(f'#queue-list li[data-conversation="{cid1}"]')
        await expect(queued1).to_have_count(0)
        await expect(page.locator("#queue-empty")).to_have_text("No one else is waiting.")
        priya, cid2 = await start_chat(
            chat,
            "Hi, a question about gift cards",
            page={"url": "https://shop.example.com/gift-cards", "title": "Gift cards"},
            identity=identity(chat, "u-2002", "Priya Shah"),
        )
        offer2 = page.locator(f'#offer-list li[data-conversation="{cid2}"]')
        await expect(offer2.locator(".card-name")).to_have_text("Priya Shah")
        await expect(page.locator("#queue-count")).to_have_text("0")

        # Declined: the offer moves on to the next agent (Bo, coming online now); the
        # chat stays in Ana's queue until someone takes it.
        bo = await online_agent(chat, node.url, (await add_agents(chat, 1, capacity=2))[0]["token"])
        await offer1.get_by_role("button", name="Decline chat with Noah Berg").click()
        await expect(offer1).to_have_count(0)
        moved = await bo.expect(lambda f: f["type"] == "offer" and f["conversation_id"] == cid1)
        assert moved["visitor"]["name"] == "Noah Berg"
        # Now it is Bo's offer, not Ana's: it shows in Ana's queue, with its wait.
        await expect(queued1.locator(".js-since")).to_have_text(re.compile(r"^\d+:\d\d$"))
        await expect(page.locator("#queue-count")).to_have_text("1")
        await shot(page, "queue-offers")
        taken = await bo.request({"type": "accept", "conversation_id": cid1})
        assert taken["status"] == "active"
        await expect(queued1).to_have_count(0)
        # Accepted from the offer: the chat opens and the visitor hears so.
        await offer2.get_by_role("button", name="Accept chat with Priya Shah").click()
        await expect(tab(page, cid2)).to_have_attribute("aria-selected", "true")
        joined = await priya.expect(lambda f: f["type"] == "conversation" and "agent" in f)
        assert joined["status"] == "active" and joined["agent"]["name"] == "Ana"
        await expect(page.locator("#queue-empty")).to_be_visible()
        await expect(page.locator("#offers")).to_be_hidden()
        await expect(page.locator(".chat .transcript .msg-visitor")).to_have_text(
            re.compile("gift cards")
        )
        await bo.close()
        for client, cid in ((noah, cid1), (priya, cid2)):
            await client.send({"type": "close", "conversation_id": cid})
            await client.expect("closed")
            await client.close()
        assert console.errors == [], console.errors
    finally:
        await set_site(chat, settings={"routing": "least_busy"})
        await console.close()
