"""The inbox loop in real Chromium: a visitor leaves a message
with nobody online → the agent answers it from the console's inbox → the visitor comes
back to another page of the site and the widget shows the answer (badge, the reply in
the chat, marked read once the window is open)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess, running_node
from tests.browser.console.conftest import AGENT_EMAIL, UI_TIMEOUT_MS, shot, sign_in
from tests.browser.widget.hosting import HostSite, page
from tests.browser.widget.parties import (
    WAIT_MS,
    agent_offline,
    agent_online,
    agent_take,
    allow_origin,
    open_tab,
    visitor_texts,
)
from tests.chat_setup import make_chat_site
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("inbox-loop")) as process:
        yield process


async def test_left_message_answered_in_the_console_is_seen_on_return(
    browser: Browser, node: BeckonProcess
) -> None:
    chat = await make_chat_site(node, agent_email=AGENT_EMAIL)
    host = HostSite()
    host.start()
    try:
        await allow_origin(chat, host.origin)
        html = page(node.url + "/widget.js", chat.site["key"])
        host.pages["/shop"] = html
        host.pages["/other"] = html
        # 1. Nobody online: the visitor leaves a message.
        visitor = await open_tab(browser, host.origin + "/shop")
        await visitor.shadow("button.l").click()
        form = visitor.shadow("form.f")
        await form.locator("input[name=name]").fill("Iva")
        await form.locator("input[name=email]").fill("iva@example.com")
        await form.locator("textarea[name=text]").fill("Do you ship to Ljubljana?")
        await form.locator("button[type=submit]").click()
        await visitor.received_matching(lambda f: f.get("type") == "offline_message_saved")
        await visitor.page.close()  # the visitor leaves (the browser keeps its storage)
        async with httpx.AsyncClient(
            base_url=node.url, headers={"Authorization": f"Bearer {chat.agent_token}"}
        ) as api:

            async def inbox() -> list[dict]:
                return (await api.get(f"/api/v1/sites/{chat.site['id']}/inbox")).json()["items"]

            (item,) = await wait_until(inbox, lambda got: len(got) == 1, 15, "the inbox item")
            # 2. The agent answers from the console's inbox.
            console = await sign_in(browser, node.url)
            cpage = console.page
            await expect(cpage.locator("#nav-inbox-count")).to_have_text("1")
            await cpage.locator("#nav-inbox").click()
            row = cpage.locator("#view-inbox tr", has_text="Do you ship to Ljubljana?")
            await expect(row).to_contain_text("Offline message")
            await expect(row).to_contain_text("Iva")
            await row.click()
            await cpage.locator("#inbox-take").click()
            await expect(row.locator(".chip")).to_have_text("assigned")
            await expect(cpage.locator("#inbox-take")).to_have_count(0)  # the reader redrawn
            await cpage.locator("#inbox-reply-text").fill("Yes — in two days.")
            await cpage.locator("#inbox-reply-send").click()
            reader = cpage.locator("#inbox-reader")
            await expect(reader.locator(".msg-agent")).to_contain_text("Yes — in two days.")
            await expect(row.locator(".chip")).to_have_text("waiting")
            await shot(cpage, "inbox-answered")
            # 3. An agent is online now; the visitor comes back on another page: badge,
            # then the answer, read — and the conversation goes on live.
            agent = await agent_online(chat)
            back = await visitor.context.new_page()
            visitor.page = back
            received: list[dict] = []
            back.on(
                "websocket",
                lambda ws: ws.on("framereceived", lambda p: received.append({"raw": p})),
            )
            await back.goto(host.origin + "/other")
            badge = visitor.shadow(".badge")
            await expect(badge).to_have_text("1", timeout=WAIT_MS)
            await visitor.shadow("button.l").click()
            answer = visitor.shadow(".m.a").filter(has_text="Yes — in two days.")
            await expect(answer).to_be_visible()
            await expect(visitor.shadow(".m.v").filter(has_text="Do you ship")).to_be_visible()
            await expect(badge).to_have_text("")
            assert any('"follow_up"' in str(r["raw"]) for r in received)

            async def seen() -> dict:
                return (await api.get(f"/api/v1/inbox/{item['id']}")).json()

            read = await wait_until(seen, lambda i: i["seen_seq"] == i["reply_seq"], 15, "read")
            assert (read["status"], read["reply_seq"]) == ("waiting", 2)
            composer = visitor.shadow("textarea")
            await composer.fill("Great, I will order now")
            await composer.press("Enter")
            conv_id = await agent_take(agent)
            assert await visitor_texts(node.url, chat.agent_token, conv_id) == [
                "Great, I will order now"
            ]
            await agent.request(
                {
                    "type": "message",
                    "conversation_id": conv_id,
                    "text": "Thanks!",
                    "client_msg_id": "t",
                }
            )
            await expect(visitor.shadow(".m.a").filter(has_text="Thanks!")).to_be_visible()
            await expect(
                visitor.shadow(".m.a").filter(has_text="Yes — in two days.")
            ).to_be_visible()
            await agent_offline(agent)
            # The console shows that the visitor has seen it.
            await cpage.locator("#view-inbox tr", has_text="Do you ship").click()
            await expect(cpage.locator("#inbox-seen")).to_be_visible(timeout=UI_TIMEOUT_MS)
            await cpage.locator("#inbox-done").click()
            await expect(cpage.locator("#nav-inbox-count")).to_be_hidden()
            assert console.errors == []
            assert visitor.errors == []
            await console.close()
            await visitor.context.close()
    finally:
        host.stop()
