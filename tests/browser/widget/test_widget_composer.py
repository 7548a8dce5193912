"""The widget's composer: the emoji picker from the second script
(searched by name, used from the keyboard, inserted at the caret), the 4,000-character
limit said in words instead of cutting a paste, and "End chat" asking first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.widget.hosting import HostSite, fake_beckon, page
from tests.browser.widget.parties import keep_screenshot, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
WIDGET_DIR = Path(__file__).resolve().parents[3] / "widget"
ACTIVE = {
    "type": "conversation",
    "id": "cv_1",
    "status": "active",
    "agent": {"id": "us_1", "name": "Ana"},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[tuple[HostSite, str]]:
    site = HostSite()
    script = site.serve_widget(WIDGET_DIR)
    site.start()
    try:
        yield site, script
    finally:
        site.stop()


async def test_emoji_picker_inserts_at_the_caret(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    async with fake_beckon(lang="en") as fake:
        site.pages["/emoji"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/emoji", viewport={"width": 1280, "height": 800}
        )
        await tab.shadow("button.l").click()
        composer = tab.shadow("textarea[aria-label=Message]")
        await composer.fill("See you")
        await composer.evaluate("el => el.setSelectionRange(3, 3)")
        button = tab.shadow("button[aria-label=Emoji]")
        await button.click()
        picker = tab.shadow("[role=dialog][aria-label=Emoji]")
        await expect(picker).to_be_visible()
        await expect(button).to_have_attribute("aria-expanded", "true")
        search = picker.locator("input[type=search]")
        await expect(search).to_be_focused()
        await search.fill("wave")
        await expect(picker.locator(".g button")).to_have_count(2)  # 👋 and 🌊
        await keep_screenshot(tab.page, "widget-emoji-picker")
        await picker.locator(".g button[aria-label='wave hello']").click()
        await expect(picker).to_have_count(0)
        await expect(composer).to_have_value("See👋 you")
        await expect(composer).to_be_focused()

        # Keyboard: categories, arrows in the grid, Enter picks; Esc closes the picker only.
        await button.click()
        await picker.locator("button[aria-label=Hearts]").click()
        first = picker.locator(".g button").first
        await expect(first).to_have_attribute("tabindex", "0")
        await first.focus()
        await tab.page.keyboard.press("ArrowRight")
        await tab.page.keyboard.press("ArrowDown")
        focused = picker.locator(".g button").nth(9)
        await expect(focused).to_be_focused()
        char = await focused.text_content()
        await tab.page.keyboard.press("Enter")
        await expect(composer).to_have_value("See👋" + char + " you")
        await button.click()
        await search.fill("no such thing")
        await expect(picker.get_by_role("status")).to_have_text("No emoji found")
        await tab.page.keyboard.press("Escape")
        await expect(picker).to_have_count(0)
        await expect(tab.shadow("[role=dialog][aria-labelledby=bk-title]")).to_be_visible()
        assert tab.errors == []
        await tab.context.close()


async def test_length_limit_said_and_end_chat_asks(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    async with fake_beckon(lang="en") as fake:
        site.pages["/limit"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/limit", viewport={"width": 1280, "height": 800}
        )
        await tab.shadow("button.l").click()
        await fake.push(ACTIVE)
        composer = tab.shadow("textarea[aria-label=Message]")
        counter = tab.shadow(".cnt")
        # A paste over the limit stays whole; the widget says so and sends nothing.
        await composer.fill("x" * 4200)
        await expect(composer).to_have_value("x" * 4200)
        await expect(counter).to_have_text("4200 / 4000: too long to send, please shorten it")
        await composer.press("Enter")
        await expect(composer).to_have_value("x" * 4200)
        await composer.fill("x" * 3800)
        await expect(counter).to_have_text("3800 / 4000")
        await composer.press("Enter")
        sent = await fake.expect(lambda f: f.get("type") == "message")
        assert sent["text"] == "x" * 3800
        assert not [
            f for f in fake.received if f.get("type") == "message" and len(f["text"]) > 4000
        ]

        # "End chat" is labelled and asks; "Keep chatting" goes back, the second asking ends.
        end = tab.shadow("button[aria-label='End chat']")
        await expect(end).to_have_attribute("title", "End chat")
        await end.click()
        ask = tab.shadow("[role=alertdialog]")
        await expect(ask).to_contain_text("End this chat?")
        await keep_screenshot(tab.page, "widget-end-chat-asks")
        await ask.get_by_role("button", name="Keep chatting").click()
        await expect(ask).to_have_count(0)
        await expect(composer).to_be_visible()
        assert not [f for f in fake.received if f.get("type") == "close"]
        await end.click()
        await ask.get_by_role("button", name="End chat").click()
        closed = await fake.expect(lambda f: f.get("type") == "close")
        assert closed["conversation_id"] == "cv_1"
        assert tab.errors == []
        await tab.context.close()


async def test_the_new_texts_are_translated(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    """The asking, the limit and the emoji button speak the visitor's language (German here),
    not English inside a German widget."""
    site, script = host
    async with fake_beckon(lang="de") as fake:
        site.pages["/de"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(browser, site.origin + "/de", viewport={"width": 1280, "height": 800})
        await tab.shadow("button.l").click()
        await fake.push(ACTIVE)
        await expect(tab.shadow("button[aria-label=Emoji]")).to_have_count(1)
        composer = tab.shadow("textarea[aria-label=Nachricht]")
        await composer.fill("x" * 4100)
        await expect(tab.shadow(".cnt")).to_have_text(
            "4100 / 4000: zu lang zum Senden, bitte kürzen"
        )
        await tab.shadow("button[aria-label='Chat beenden']").click()
        ask = tab.shadow("[role=alertdialog]")
        await expect(ask).to_contain_text("Diesen Chat beenden?")
        await ask.get_by_role("button", name="Weiter chatten").click()
        await expect(ask).to_have_count(0)
        assert tab.errors == []
        await tab.context.close()
