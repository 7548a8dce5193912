"""Canned replies reach open consoles live: an admin adds a shared
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


async def test_the_agent_keeps_her_own_replies_in_her_profile(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    ana = await sign_in(browser, node.url)
    page = ana.page
    await set_status(page, "online")
    await page.locator("#profile-button").click()
    mine = page.get_by_role("region", name="My replies")
    # Bad input is said in a sentence, and nothing is stored.
    await mine.get_by_label("Shortcut").fill("two words")
    await mine.get_by_label("Reply text").fill("x")
    await mine.get_by_role("button", name="Add reply").click()
    await expect(mine.get_by_role("alert")).to_have_text(
        "A shortcut is one word: letters, digits, - or _."
    )
    await mine.get_by_label("Shortcut").fill("/sizes")
    await mine.get_by_label("Reply text").fill("Our sizes run small: take one up, {visitor.name}.")
    await mine.get_by_role("button", name="Add reply").click()
    await expect(mine.get_by_role("list", name="My replies")).to_contain_text("/sizes")
    await shot(page, "my-replies")
    await page.keyboard.press("Escape")

    # In a chat, "/" offers it (as hers) and inserts it.
    visitor, cid = await start_chat(chat, "Do the boots run small?", name="Mia")
    await page.locator(f'#chat-list [data-conversation="{cid}"]').click()
    await expect(page.locator(".chat-title")).to_have_text("Mia")
    composer = page.get_by_role("textbox", name="Message")
    await composer.press_sequentially("/sizes")
    option = page.locator("#canned-popup").get_by_role("option")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("mine")
    await composer.press("Enter")
    await expect(composer).to_have_value("Our sizes run small: take one up, Mia.")

    # Deleted from the profile: the picker no longer has it.
    await composer.fill("")
    await page.locator("#profile-button").click()
    await mine.get_by_role("button", name="Delete /sizes").click()
    await expect(mine.get_by_role("list", name="My replies")).not_to_contain_text("/sizes")
    await page.keyboard.press("Escape")
    await composer.press_sequentially("/sizes")
    await expect(page.locator("#canned-popup")).to_have_text("No canned reply matches.")
    assert ana.errors == [], ana.errors
    await visitor.close()
    await ana.close()
