"""The console's visitor context lists the visitor's struggle signals this visit (issue
19, item 3): kind, count and how long ago the last one was."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import set_status, shot, sign_in
from tests.browser.console.test_context import kv
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_context_panel_lists_struggle_signals(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, _welcome = await chat.visitor(page={"url": "https://shop.example.com/checkout"})
    for _ in range(2):
        await visitor.send({"type": "track", "event": "rage_click", "props": {"clicks": 3}})
    await visitor.send({"type": "track", "event": "form_error", "props": {"fields": 2}})
    conv = await visitor.request({"type": "chat_start", "text": "The pay button does nothing"})
    item = page.locator(f'#chat-list [data-conversation="{conv["id"]}"]')
    await item.click()
    await expect(item).to_have_attribute("aria-selected", "true")
    panel = page.locator("#context-pane")
    signals = panel.locator(".context-section", has_text="Struggle signals")
    await expect(kv(signals, "Rage clicks")).to_have_text(re.compile(r"2 · last \d+ s ago$"))
    await expect(kv(signals, "Form errors")).to_have_text(re.compile(r"1 · last \d+ s ago$"))
    await expect(signals.locator(".kv")).to_have_count(2)
    await signals.scroll_into_view_if_needed()
    await shot(page, "context-signals")
    await visitor.send({"type": "close", "conversation_id": conv["id"]})
    await visitor.expect("closed")
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()
