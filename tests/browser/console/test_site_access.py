"""The console follows changes to the agent's sites while it is open:
a site taken away drops its queue from the console; the last one taken away stops it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import UI_TIMEOUT_MS, admin_api, set_status, sign_in, start_chat
from tests.chat_setup import ChatSite
from tests.ws_client import ORIGIN

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_a_site_taken_away_leaves_the_open_console(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    other = (
        await admin_api(
            chat, "POST", "/api/v1/sites", json={"name": "B", "allowed_origins": [ORIGIN]}
        )
    ).json()
    agent_path = f"/api/v1/agents/{chat.agent['id']}"
    both = {"site_ids": [chat.site["id"], other["id"]]}
    assert (await admin_api(chat, "PATCH", agent_path, json=both)).status_code == 200
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "away")  # routing leaves the chat in the queue
    visitor, cid = await start_chat(chat, "Anyone there?")
    card = page.locator(f'#queue-list li[data-conversation="{cid}"]')
    await expect(card).to_be_visible()

    only_b = {"site_ids": [other["id"]]}
    assert (await admin_api(chat, "PATCH", agent_path, json=only_b)).status_code == 200
    await expect(card).to_be_hidden(timeout=UI_TIMEOUT_MS)  # live, no reload
    await expect(page.locator("body")).to_have_attribute("data-connection", "ready")

    none = {"site_ids": []}
    assert (await admin_api(chat, "PATCH", agent_path, json=none)).status_code == 200
    await expect(page.locator("body")).to_have_attribute(
        "data-connection", "forbidden", timeout=UI_TIMEOUT_MS
    )
    assert console.errors == [], console.errors
    await visitor.close()
    await console.close()
