"""The console survives a node restart: banner while down, resume after, and a message
typed while the node was down is delivered exactly once (guarantees 1, 3, 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess, running_node
from tests.browser.conftest import artifact
from tests.browser.console.conftest import UI_TIMEOUT_MS, set_status, sign_in
from tests.chat_setup import make_chat_site
from tests.ws_client import WsClient, ws_url

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

TYPED_WHILE_DOWN = "Typed while the server was restarting"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("console-restart")) as process:
        yield process


async def test_restart_resumes_and_sends_pending_once(
    browser: Browser, node: BeckonProcess
) -> None:
    chat = await make_chat_site(node)
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, welcome = await chat.visitor()
    await visitor.send({"type": "chat_start", "text": "Before the restart"})
    cid = (await visitor.expect("conversation"))["id"]
    item = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(item).to_have_attribute("aria-selected", "true")
    transcript = page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-visitor")).to_have_count(1)

    await node.stop()  # SIGTERM: sockets close with 1012, then the port is gone
    await visitor.close()
    banner = page.locator("#conn-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Reconnecting")
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill(TYPED_WHILE_DOWN)
    await composer.press("Enter")
    pending = transcript.locator(".msg-pending")
    await expect(pending).to_have_count(1)
    await expect(pending).to_contain_text("Sending…")
    await page.screenshot(path=str(artifact("console-reconnecting.png")))

    restarted = BeckonProcess(node.env, node.cwd, port=node.port)
    await restarted.start()
    try:
        await expect(banner).to_be_hidden(timeout=UI_TIMEOUT_MS * 2)
        await expect(pending).to_have_count(0)
        sent = transcript.locator(".msg-agent .msg-text")
        await expect(sent).to_have_text([TYPED_WHILE_DOWN])
        await expect(transcript.locator(".msg-visitor")).to_have_count(1)

        # The visitor comes back and receives it (it was stored exactly once).
        back = await WsClient.connect(ws_url(restarted.url, f"/ws/visitor?site={chat.site['key']}"))
        await back.send(
            {
                "type": "hello",
                "visitor_token": welcome["visitor_token"],
                "page": {"url": "https://shop.example.com/checkout"},
                "conversation": {"id": cid, "after_seq": 1},
            }
        )
        got = await back.expect(
            lambda f: f.get("type") == "message" and f["text"] == TYPED_WHILE_DOWN
        )
        assert got["author"]["kind"] == "agent"
        async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as api:
            stored = await api.get(
                f"/api/v1/conversations/{cid}/messages",
                headers={"Authorization": f"Bearer {chat.agent_token}"},
            )
        texts = [m["text"] for m in stored.json()["items"]]
        assert texts.count(TYPED_WHILE_DOWN) == 1, texts

        # The console keeps working on the new process.
        await back.send(
            {
                "type": "message",
                "conversation_id": cid,
                "client_msg_id": "v-after",
                "text": "Got it",
            }
        )
        await expect(transcript.locator(".msg-visitor")).to_have_count(2)
        # Chromium logs each refused connection attempt while the node is down; that is
        # the reconnect loop at work. Anything else is a failure.
        unexpected = [e for e in console.errors if "ERR_CONNECTION_REFUSED" not in e]
        assert unexpected == [], unexpected
        await back.close()
        await console.close()
    finally:
        await restarted.stop()
