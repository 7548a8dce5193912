"""The console's desktop notifications and sound (switchable, plain text), and the history
filters by status, agent and date, against a real `beckon serve`.

The page's `Notification` and `AudioContext` are wrapped by an init script so the test can
count what the console asked the browser for; the browser is told the tab is in the
background, as notifications are only for an agent who is not looking."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import (
    UI_TIMEOUT_MS,
    set_status,
    sign_in,
    start_chat,
    visitor_says,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

XSS_NAME = "<img src=x onerror=window.__xss=1>"
RECORDER = """
window.__notes = [];
window.__beeps = 0;
class RecordedNotification {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push({title, body: options && options.body}); }
  close() {}
}
window.Notification = RecordedNotification;
const Audio = window.AudioContext;
window.AudioContext = class extends Audio {
  createOscillator() {
    const osc = super.createOscillator();
    const start = osc.start.bind(osc);
    osc.start = (...args) => { window.__beeps++; return start(...args); };
    return osc;
  }
};
// The agent is looking at another window.
Object.defineProperty(document, 'hidden', {get: () => true});
document.hasFocus = () => false;
"""


async def notes(page: Page) -> list[dict[str, str]]:
    return await page.evaluate("window.__notes")


async def beeps(page: Page) -> int:
    return await page.evaluate("window.__beeps")


async def settings(page: Page, *, desktop: bool, sound: bool) -> None:
    await page.get_by_role("button", name="Settings").click()
    await page.get_by_label("Desktop notifications").set_checked(desktop)
    await page.get_by_label("Sound").set_checked(sound)
    await expect(page.get_by_label("Desktop notifications")).to_be_checked(checked=desktop)
    await page.keyboard.press("Escape")


async def test_notifications_and_sound_for_new_chats_switchable(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await page.add_init_script(RECORDER)
    await page.reload()
    await expect(page.locator("body")).to_have_attribute(
        "data-connection", "ready", timeout=UI_TIMEOUT_MS
    )
    await set_status(page, "away")  # chats wait in the queue
    await settings(page, desktop=True, sound=True)

    visitor, cid = await start_chat(chat, "Is the shop open on Sunday?", name=XSS_NAME)
    await expect(page.locator(f'#queue-list li[data-conversation="{cid}"]')).to_be_visible()
    await page.wait_for_function("window.__notes.length >= 1")
    (note,) = await notes(page)
    assert note["title"] == "New chat waiting"
    assert XSS_NAME in note["body"]  # plain text: the API does not render markup
    chimes = await beeps(page)
    assert chimes >= 1

    # Both off: a second chat waits with neither a notification nor a sound.
    await settings(page, desktop=False, sound=False)
    second, second_id = await start_chat(chat, "And on Monday?", name="Ivo")
    await expect(page.locator(f'#queue-list li[data-conversation="{second_id}"]')).to_be_visible()
    assert len(await notes(page)) == 1
    assert await beeps(page) == chimes
    # The switches are remembered across a reload.
    await page.reload()
    await page.get_by_role("button", name="Settings").click()
    await expect(page.get_by_label("Sound")).not_to_be_checked()
    await expect(page.get_by_label("Desktop notifications")).not_to_be_checked()
    await page.keyboard.press("Escape")
    assert await page.evaluate("window.__xss") is None
    assert console.errors == [], console.errors
    await visitor.close()
    await second.close()
    await console.close()


async def test_history_filters_by_status_agent_and_date(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "away")
    taken, taken_id = await start_chat(chat, "Where is parcel 42?", name="Taken Visitor")
    waiting, waiting_id = await start_chat(chat, "Hello? Parcel 43?", name="Waiting Visitor")
    card = page.locator(f'#queue-list li[data-conversation="{taken_id}"]')
    await card.get_by_role("button", name=re.compile("Accept")).click()
    await expect(page.locator(f'#chat-list [data-conversation="{taken_id}"]')).to_be_visible()
    await visitor_says(taken, taken_id, "Thanks")
    await page.get_by_role("button", name="Close chat").click()
    await page.get_by_role("button", name="Click again to close").click()
    await taken.expect("closed")

    await page.locator("#nav-history").click()
    view = page.locator("#view-history")
    rows = view.locator("tbody tr[data-conversation]")
    search = view.get_by_role("button", name="Search")

    async def shows(*conversation_ids: str) -> None:
        await search.click()
        if conversation_ids:
            await expect(rows).to_have_count(len(conversation_ids))
            for cid in conversation_ids:
                await expect(view.locator(f'tr[data-conversation="{cid}"]')).to_be_visible()
        else:
            await expect(view.locator("tbody")).to_contain_text("No conversations match.")

    # (The other test's chats share this node: the word "parcel" keeps to this test's.)
    await view.get_by_label("Search transcripts").fill("parcel")
    await shows(taken_id, waiting_id)
    await view.get_by_label("Status").select_option("closed")
    await shows(taken_id)
    await view.get_by_label("Status").select_option("queued")
    await shows(waiting_id)
    await view.get_by_label("Status").select_option("")
    await view.get_by_label("Agent").select_option("me")
    await shows(taken_id)
    await view.get_by_label("Agent").select_option("")
    today = date.today()
    await view.get_by_label("From date").fill((today + timedelta(days=1)).isoformat())
    await shows()
    await view.get_by_label("From date").fill((today - timedelta(days=1)).isoformat())
    await view.get_by_label("To date").fill((today + timedelta(days=1)).isoformat())
    await shows(taken_id, waiting_id)
    assert console.errors == [], console.errors
    await taken.close()
    await waiting.close()
    await console.close()
