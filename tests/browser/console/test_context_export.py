"""The console's visitor panel exports the visitor's data as one JSON file: what the agent
downloads is the REST export of that visitor."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import set_status, sign_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_the_visitor_panel_downloads_the_visitors_data(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, welcome = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Please send me my data"})
    item = page.locator(f'#chat-list [data-conversation="{conv["id"]}"]')
    await item.click()
    await expect(item).to_have_attribute("aria-selected", "true")
    section = page.get_by_role("region", name="Visitor data")
    async with page.expect_download() as waiting:
        await section.get_by_role("button", name="Export visitor data").click()
    download = await waiting.value
    assert download.suggested_filename == f"beckon-visitor-{welcome['visitor_id']}.json"
    doc = json.loads((await download.path()).read_bytes())
    assert doc["format"] == "beckon.visitor-export/1"
    assert doc["subject"] == {"visitor_id": welcome["visitor_id"]}
    assert [m["text"] for m in doc["records"]["messages"]] == ["Please send me my data"]
    await expect(section.get_by_role("status")).to_have_text("Downloaded.")
    await visitor.send({"type": "close", "conversation_id": conv["id"]})
    await visitor.expect("closed")
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()
