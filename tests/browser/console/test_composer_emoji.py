"""The console composer's emoji picker and 4,000-character limit:
the picker opens from its button, is searched by name and used from the keyboard, and
inserts at the caret; the counter shows near the limit, and over it says so and keeps the
message from being sent (nothing is cut)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import (
    agent_message,
    set_status,
    shot,
    sign_in,
    start_chat,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_emoji_at_the_caret_and_the_length_limit(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, _cid = await start_chat(chat, "Hello?", name="Mila")
    composer = page.get_by_role("textbox", name="Message")
    await expect(composer).to_be_visible()

    # Typed text, the caret between the words: the emoji goes there.
    await composer.fill("Thanks you")
    await composer.evaluate("el => el.setSelectionRange(6, 6)")
    button = page.get_by_role("button", name="Emoji", exact=True)
    await button.click()
    picker = page.get_by_role("dialog", name="Emoji")
    await expect(picker).to_be_visible()
    await expect(button).to_have_attribute("aria-expanded", "true")
    search = picker.get_by_role("searchbox", name="Search emoji")
    await expect(search).to_be_focused()
    await search.fill("thumbs up")
    await expect(picker.locator(".emoji-item")).to_have_count(1)
    await shot(page, "emoji-picker")
    await search.press("Enter")  # the first match
    await expect(picker).to_be_hidden()
    await expect(composer).to_have_value("Thanks👍 you")
    await expect(composer).to_be_focused()

    # Keyboard only: open, Tab past the search and the category tabs into the grid,
    # arrows to move, Enter to pick; Esc closes without inserting.
    await button.focus()
    await page.keyboard.press("Enter")
    await expect(search).to_be_focused()
    await search.fill("zzz no such emoji")
    await expect(picker.get_by_role("status")).to_have_text("No emoji matches.")
    await search.fill("")
    await picker.get_by_role("button", name="Food").click()
    await expect(picker.get_by_role("button", name="Food")).to_have_attribute(
        "aria-pressed", "true"
    )
    first = picker.locator(".emoji-item").first
    await first.focus()
    await page.keyboard.press("ArrowRight")
    second = picker.locator(".emoji-item").nth(1)
    await expect(second).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(picker.locator(".emoji-item").nth(9)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(picker).to_be_hidden()
    await expect(composer).to_be_focused()
    await expect(composer).to_have_value("Thanks👍 you")
    await composer.press("End")
    await composer.press("Enter")
    await agent_message(visitor, "Thanks👍 you")

    # The limit: no counter far from it; near it the count; over it a sentence, the send
    # button disabled, Enter sends nothing, and the text is kept whole.
    counter = page.locator("#composer-count")
    await composer.fill("a" * 100)
    await expect(counter).to_have_text("")
    await composer.fill("a" * 3600)
    await expect(counter).to_have_text("3,600 / 4,000")
    await composer.fill("b" * 4100)
    await expect(counter).to_have_text("4,100 / 4,000: too long, shorten it to send")
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    await expect(composer).to_have_attribute("aria-invalid", "true")
    await composer.press("Enter")
    await expect(composer).to_have_value("b" * 4100)
    await shot(page, "composer-too-long")
    await composer.fill("b" * 4000)
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    await composer.press("Enter")
    await agent_message(visitor, "b" * 4000)
    await expect(counter).to_have_text("")
    assert console.errors == []
    await visitor.close()
    await console.close()
