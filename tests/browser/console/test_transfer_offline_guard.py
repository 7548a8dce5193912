"""Two guards in the console: Transfer is disabled, with its title
saying why, while nobody could take the chat (no other agent online with room, no
department) and enabled once someone could; going offline with an open chat asks
first — "Stay online" keeps the status, "Go offline" goes."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import (
    add_agent,
    admin_api,
    set_status,
    shot,
    sign_in,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
NOBODY = (
    "Nobody can take this chat now: no other agent of the site is online with room, "
    "and the site has no departments."
)
# The console reads the team's status again every few seconds (nobody tells it).
TEAM_POLL_MS = 20_000


async def test_transfer_needs_someone_to_take_the_chat(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    patched = await admin_api(
        chat, "PATCH", f"/api/v1/sites/{chat.site['id']}", json={"departments": []}
    )
    assert patched.status_code == 200, patched.text
    await add_agent(chat, "bo@example.com", "second agent pw", "Bo")
    ana = await sign_in(browser, node.url)
    page = ana.page
    await set_status(page, "online")
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Hello?"})
    tab = page.locator(f'#chat-list [data-conversation="{conv["id"]}"]')
    await expect(tab).to_have_attribute("aria-selected", "true")
    transfer = page.locator(".chat-actions").get_by_role("button", name="Transfer")
    await expect(transfer).to_be_disabled()
    await expect(transfer).to_have_attribute("title", NOBODY)
    await shot(page, "transfer-disabled")

    # Bo comes online: now someone can take it.
    bo = await sign_in(browser, node.url, "bo@example.com", "second agent pw")
    await set_status(bo.page, "online")
    await expect(transfer).to_be_enabled(timeout=TEAM_POLL_MS)
    await expect(transfer).not_to_have_attribute("title", NOBODY)
    # And gone again: disabled again.
    await set_status(bo.page, "offline")
    await expect(transfer).to_be_disabled(timeout=TEAM_POLL_MS)
    await bo.close()

    # Going offline with the chat open asks; "Stay online" keeps the status.
    status = page.get_by_label("Your status")
    await status.select_option("offline")
    ask = page.get_by_role("alertdialog", name="Go offline?")
    await expect(ask).to_be_visible()
    await expect(ask).to_contain_text("You have an open chat.")
    await shot(page, "offline-asks")
    await ask.get_by_role("button", name="Stay online").click()
    await expect(ask).to_have_count(0)
    await expect(status).to_have_value("online")
    await expect(page.locator("#status-dot")).to_have_attribute("data-status", "online")
    # "Go offline" goes, and the server hears it (the status comes back to the console).
    await status.select_option("offline")
    await ask.get_by_role("button", name="Go offline").click()
    await expect(ask).to_have_count(0)
    await expect(status).to_have_value("offline")
    await expect(page.locator("#status-dot")).to_have_attribute("data-status", "offline")
    agents = await admin_api(chat, "GET", f"/api/v1/sites/{chat.site['id']}/agents")
    ana_row = next(a for a in agents.json()["items"] if a["display_name"] == "Ana")
    assert ana_row["status"] == "offline"
    # Back online with no question; offline without open chats asks nothing.
    await status.select_option("online")
    await expect(ask).to_have_count(0)
    await visitor.send({"type": "close", "conversation_id": conv["id"]})
    await expect(tab).to_have_count(1)
    await page.get_by_role("button", name="Dismiss").click()
    await status.select_option("offline")
    await expect(page.locator("#status-dot")).to_have_attribute("data-status", "offline")
    await expect(ask).to_have_count(0)
    await visitor.close()
    assert ana.errors == [], ana.errors
    await ana.close()
