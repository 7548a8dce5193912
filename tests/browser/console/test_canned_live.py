"""Canned replies reach open consoles live (issue 23 item 9): an admin adds a shared
reply in the admin's Team page, and the agent's console — picker open, no reload —
shows it; deleted, it goes; the agent's own reply added elsewhere (another tab, the
API) appears too. The server announces each change on the site channel
(`canned_changed`)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.browser.admin.conftest import signed_in as admin_signed_in
from tests.browser.console.conftest import set_status, shot, sign_in, start_chat
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_a_reply_added_in_the_admin_reaches_the_open_console(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    ana = await sign_in(browser, node.url)
    page = ana.page
    await set_status(page, "online")
    visitor, cid = await start_chat(chat, "When does it ship?", name="Ola")
    await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_be_visible()
    composer = page.get_by_role("textbox", name="Message")
    await composer.press_sequentially("/ship")
    picker = page.locator("#canned-popup")
    await expect(picker).to_have_text("No canned reply matches.")

    admin = await admin_signed_in(browser, node.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    await admin.page.locator("#nav-team").click()
    await admin.page.get_by_label("Site", exact=True).select_option(label="Shop")
    await expect(admin.page.get_by_text("Canned replies — Shop")).to_be_visible()
    await admin.page.get_by_label("Shortcut").fill("shipping")
    await admin.page.get_by_label("Text", exact=True).fill(
        "It ships within 2 days, {visitor.name}."
    )
    await admin.page.get_by_role("button", name="Add reply").click()
    await expect(admin.page.get_by_text("/shipping")).to_be_visible()

    # No reload, the picker still open: the new reply is there.
    option = picker.get_by_role("option")
    await expect(option).to_have_count(1)
    await expect(option.locator(".canned-shortcut")).to_have_text("/shipping")
    await shot(page, "canned-live")
    await composer.press("Enter")
    await expect(composer).to_have_value("It ships within 2 days, Ola.")

    # Deleted in the admin: gone from the open picker.
    await composer.fill("")
    await composer.press_sequentially("/ship")
    await expect(option).to_have_count(1)
    await (
        admin.page.get_by_role("row", name="/shipping").get_by_role("button", name="Delete").click()
    )
    await expect(picker).to_have_text("No canned reply matches.")

    # The agent's own reply, added elsewhere with her token: it appears as hers.
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        mine = await client.post(
            f"/api/v1/sites/{chat.site['id']}/canned-replies",
            headers={"Authorization": f"Bearer {chat.agent_token}"},
            json={"shortcut": "shipfast", "text": "Express is next day.", "scope": "agent"},
        )
    assert mine.status_code == 201, mine.text
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("mine")
    assert ana.errors == [], ana.errors
    assert admin.errors == [], admin.errors
    await visitor.close()
    await admin.context.close()
    await ana.close()
