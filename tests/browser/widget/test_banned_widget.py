"""A banned visitor's widget in Chromium: with an agent online, the
widget of a visitor whose address is banned shows the offline state; their offline
message is thanked for as usual but never stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.widget.hosting import HostSite, page
from tests.browser.widget.parties import agent_online, allow_origin, open_tab
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[BeckonProcess, HostSite, ChatSite]]:
    tmp = tmp_path_factory.mktemp("banned-widget")
    node = BeckonProcess(subprocess_env(tmp), tmp)
    await node.create_admin()
    await node.start()
    host = HostSite()
    host.start()
    try:
        chat = await make_chat_site(node)
        await allow_origin(chat, host.origin)
        yield node, host, chat
    finally:
        host.stop()
        await node.stop()


async def test_a_banned_address_sees_the_offline_form(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    node, host, chat = world
    agent = await agent_online(chat)
    api = httpx.AsyncClient(
        base_url=node.url, timeout=10, headers={"Authorization": f"Bearer {chat.agent_token}"}
    )
    base = f"/api/v1/sites/{chat.site['id']}"
    try:
        # The browser reaches the node from loopback: ban that address.
        ban = (
            await api.post(f"{base}/bans", json={"address": "127.0.0.1", "reason": "abuse"})
        ).json()
        host.pages["/banned"] = page(node.url + "/widget.js", chat.site["key"])
        visitor = await open_tab(browser, host.origin + "/banned")
        welcome = await visitor.received_matching(lambda f: f.get("type") == "welcome")
        assert welcome["online"] is False
        await visitor.shadow("button.l").click()
        form = visitor.shadow("form.f")
        await expect(form.locator("h3")).to_have_text("Leave us a message")
        await form.locator("input[name=email]").fill("troll@example.com")
        await form.locator("textarea[name=text]").fill("let me in")
        await form.locator("button[type=submit]").click()
        saved = await visitor.received_matching(lambda f: f.get("type") == "offline_message_saved")
        assert saved["id"].startswith("om_")
        await expect(visitor.shadow("[role=status]").filter(has_text="Thanks!")).to_be_visible()
        stored = (await api.get(f"{base}/offline-messages")).json()["items"]
        assert stored == []
        # Lifted: the same widget hears an agent is online again.
        assert (await api.delete(f"{base}/bans/{ban['id']}")).status_code == 200
        back = await visitor.received_matching(
            lambda f: f.get("type") == "availability" and f["online"] is True
        )
        assert back == {"type": "availability", "online": True}
        assert visitor.errors == [] and visitor.dialogs == []
        await visitor.context.close()
    finally:
        await api.aclose()
        await agent.close()
