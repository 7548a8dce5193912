"""Banning from the console's visitor panel: the agent gives a reason
and a length, the visitor's widget hears nobody is online and their messages are
refused; the ban is in the site's list with its expiry."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.bans.visitor import NOBODY
from server.ids import now_ms
from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import UI_TIMEOUT_MS, admin_api, set_status, sign_in, start_chat
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
HOUR_MS = 3_600_000


async def test_ban_from_the_visitor_panel(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    console = await sign_in(browser, node.url)
    page = console.page
    try:
        await set_status(page, "online")
        visitor, cid = await start_chat(chat, "buy my pills", name="Spammer")
        item = page.locator(f'#chat-list [data-conversation="{cid}"]')
        await expect(item).to_have_attribute("aria-selected", "true", timeout=UI_TIMEOUT_MS)
        panel = page.locator("#context-pane")
        ban = panel.get_by_role("region", name="Ban")
        await ban.get_by_role("button", name="Ban visitor").click()
        await expect(ban.locator(".form-error")).to_have_text("Give a reason.")
        await ban.get_by_label("Ban reason").fill("spam links")
        await ban.get_by_label("Ban for").select_option(label="1 hour")
        before = now_ms()
        await ban.get_by_role("button", name="Ban visitor").click()
        await expect(page.locator("#toasts")).to_contain_text(
            "Banned this visitor. They now see nobody online."
        )
        assert await visitor.expect(lambda f: f == {"type": "availability", "online": False})
        refused = await visitor.request(
            {"type": "message", "conversation_id": cid, "text": "hello?", "client_msg_id": "b1"}
        )
        assert (refused["code"], refused["message"]) == ("unavailable", NOBODY)
        listed = await admin_api(chat, "GET", f"/api/v1/sites/{chat.site['id']}/bans")
        [entry] = listed.json()["items"]
        assert (entry["reason"], entry["network"]) == ("spam links", None)
        assert before + HOUR_MS <= entry["expires_ts"] <= now_ms() + HOUR_MS
        lifted = await admin_api(
            chat, "DELETE", f"/api/v1/sites/{chat.site['id']}/bans/{entry['id']}"
        )
        assert lifted.status_code == 200
        await visitor.close()
        assert console.errors == []
    finally:
        await console.close()
