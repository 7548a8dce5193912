"""The agent console on a phone: at 390 × 844 with touch, one column
with a pane bar (list, conversation, visitor), status, notifications and sign-out in a
menu, touch targets of at least 44 px, nothing wider than the screen, and a reply sent
with the on-screen keyboard open. An agent accepts a chat, replies, transfers one and
closes another — all at that size. The visitors are WebSocket clients."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    SCREENSHOTS,
    UI_TIMEOUT_MS,
    ConsolePage,
    add_agent,
    agent_message,
    open_console,
    set_status,
    sign_in,
    visitor_says,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
KEYBOARD_OPEN = {"width": 390, "height": 500}  # 844 less an on-screen keyboard
TOUCH_PX = 44
PAGE = {"url": "https://shop.example.com/p/rain-jacket", "title": "Rain jacket"}


async def phone_console(browser: Browser, url: str) -> ConsolePage:
    """A console signed in on a phone-sized touch screen."""
    console = await open_console(browser, url, **PHONE, reduced_motion="reduce")
    page = console.page
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Sign in").tap()
    await expect(page.locator("body")).to_have_attribute(
        "data-connection", "ready", timeout=UI_TIMEOUT_MS
    )
    return console


async def fits_the_screen(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"


async def touch_sized(*controls: Locator) -> None:
    for control in controls:
        # bounding_box() does not wait for the control to be drawn (None until it is).
        await expect(control).to_be_visible(timeout=UI_TIMEOUT_MS)
        box = await control.bounding_box()
        assert box is not None, f"{control} is not on screen"
        assert box["height"] >= TOUCH_PX and box["width"] >= TOUCH_PX, (control, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (control, box)


async def phone_shot(page: Page, name: str) -> None:
    await page.evaluate("document.getElementById('toasts').replaceChildren()")
    if name != "keyboard-open":  # the composer keeps its focus there
        await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.screenshot(
        path=str(SCREENSHOTS / f"console-phone-{name}.png"), animations="disabled", caret="hide"
    )


def pane(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Chat panes").get_by_role("button", name=name)


async def open_menu(page: Page) -> Locator:
    await page.get_by_role("button", name="Menu").tap()
    menu = page.locator("#topbar-menu")
    await expect(menu).to_be_visible()
    return menu


async def test_accept_reply_with_the_keyboard_open_and_close_on_a_phone(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await phone_console(browser, node.url)
    page = console.page
    await fits_the_screen(page)
    sections = page.get_by_role("navigation", name="Console sections")
    await touch_sized(
        page.get_by_role("button", name="Menu"),
        *[sections.get_by_role("link", name=n) for n in ("Chats", "Inbox", "Visitors", "History")],
        *[pane(page, n) for n in ("List", "Conversation", "Visitor")],
    )
    # Status, notifications and sign-out are in the menu, on screen and touch-sized.
    await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    menu = await open_menu(page)
    await touch_sized(
        menu.get_by_label("Your status"),
        menu.get_by_role("button", name="Settings"),
        menu.get_by_role("button", name="your profile"),
        menu.get_by_role("button", name="Sign out"),
    )
    await menu.get_by_role("button", name="Settings").tap()
    await expect(menu.get_by_label("Desktop notifications")).to_be_visible()
    await touch_sized(menu.locator(".menu-row").first)
    await fits_the_screen(page)
    await phone_shot(page, "menu")
    await set_status(page, "away")  # the chat waits in the queue, to be accepted
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()

    # Accept from the queue: the conversation opens in its own pane.
    visitor, _ = await chat.visitor(page=PAGE)
    conv = await visitor.request(
        {"type": "chat_start", "text": "Is the rain jacket waterproof?", "prechat": {"name": "Mia"}}
    )
    cid = conv["id"]
    card = page.locator(f'#queue-list li[data-conversation="{cid}"]')
    accept = card.get_by_role("button", name="Accept chat with Mia")
    await touch_sized(accept)
    await fits_the_screen(page)
    await phone_shot(page, "list")
    await accept.tap()
    await expect(pane(page, "Conversation")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".chat-title")).to_have_text("Mia")
    await expect(page.locator("#chat-list")).to_be_hidden()  # one column
    transcript = page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-visitor .msg-text")).to_have_text(
        ["Is the rain jacket waterproof?"]
    )
    composer = page.get_by_role("textbox", name="Message")
    send = page.get_by_role("button", name="Send", exact=True)
    await touch_sized(
        send,
        page.get_by_role("button", name="Emoji"),
        page.get_by_role("button", name="Transfer"),
        page.get_by_role("button", name="Close chat"),
    )
    await fits_the_screen(page)

    # The on-screen keyboard takes the lower part of the screen: the composer and Send
    # stay in what is visible, and sending works.
    await composer.tap()
    await page.set_viewport_size(KEYBOARD_OPEN)
    await expect(composer).to_be_in_viewport()
    await expect(send).to_be_in_viewport()
    box = await send.bounding_box()
    assert box is not None and box["y"] + box["height"] <= KEYBOARD_OPEN["height"]
    await composer.fill("Yes, fully taped seams.")
    await send.tap()
    await agent_message(visitor, "Yes, fully taped seams.")
    await expect(transcript.locator(".msg-agent .msg-text")).to_have_text(
        ["Yes, fully taped seams."]
    )
    await visitor_says(visitor, cid, "Great, thanks!")
    await expect(transcript.locator(".msg-visitor .msg-text").last).to_have_text("Great, thanks!")
    await fits_the_screen(page)
    await phone_shot(page, "keyboard-open")
    await page.set_viewport_size(PHONE["viewport"])
    await phone_shot(page, "chat")

    # The visitor's context, then back to the list and to the chat.
    await pane(page, "Visitor").tap()
    await expect(page.locator("#context-pane .context-name")).to_have_text("Mia")
    await expect(page.locator("#context-pane")).to_contain_text("Rain jacket")
    await expect(page.locator(".chat")).to_be_hidden()
    await fits_the_screen(page)
    await phone_shot(page, "context")
    await pane(page, "List").tap()
    item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await touch_sized(item)
    await item.tap()
    await expect(pane(page, "Conversation")).to_have_attribute("aria-pressed", "true")

    # Close (a second tap confirms).
    await page.get_by_role("button", name="Close chat").tap()
    await page.get_by_role("button", name="Click again to close").tap()
    closed = await visitor.expect("closed")
    assert closed["by"] == "agent"
    await expect(page.locator(".endbar")).to_contain_text("You closed this chat.")
    await fits_the_screen(page)
    await visitor.close()
    assert console.errors == []
    await console.close()


async def test_transfer_on_a_phone(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    bo_agent = await add_agent(chat, "bo.phone@example.com", "second agent pw", "Bo Phone")
    console = await phone_console(browser, node.url)
    page = console.page
    await open_menu(page)
    await set_status(page, "online")  # routing gives Ana the chat
    await page.keyboard.press("Escape")
    visitor, _ = await chat.visitor(page=PAGE)
    conv = await visitor.request({"type": "chat_start", "text": "Do you have it in XL?"})
    cid = conv["id"]
    item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(item).to_have_attribute("aria-selected", "true", timeout=UI_TIMEOUT_MS)
    bo = await sign_in(browser, node.url, "bo.phone@example.com", "second agent pw")
    await set_status(bo.page, "online")
    await item.tap()
    await expect(pane(page, "Conversation")).to_have_attribute("aria-pressed", "true")
    await page.get_by_role("button", name="Transfer").tap()
    dialog = page.get_by_role("dialog", name="Transfer chat")
    choice = dialog.get_by_label("Agent", exact=True)
    await expect(choice.locator("option")).to_contain_text(["Bo Phone (online)"])
    await choice.select_option(bo_agent["id"])
    await touch_sized(choice, dialog.get_by_role("button", name="Transfer"))
    box = await dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    await phone_shot(page, "transfer")
    await dialog.get_by_role("button", name="Transfer").tap()
    await expect(dialog).to_be_hidden()
    await expect(page.locator(".endbar")).to_contain_text("Transferred to Bo Phone.")
    moved = await visitor.expect(
        lambda f: (
            f.get("type") == "conversation" and (f.get("agent") or {}).get("name") == "Bo Phone"
        )
    )
    assert moved["status"] == "active"
    await fits_the_screen(page)
    await visitor.close()
    assert console.errors == [] and bo.errors == []
    await bo.close()
    await console.close()
