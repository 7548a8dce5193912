"""A node dies under the console (guarantees 1, 3, 4, 5): two `beckon serve`
nodes on PostgreSQL + Redis behind one URL (a loopback TCP proxy acting as the load
balancer). The agent chats through node A, A is SIGKILLed, the balancer sends new
connections to node B; the console shows the reconnect banner, resumes on B, and sends
what was typed meanwhile exactly once. Nothing is lost or duplicated on either side."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.console.conftest import (
    UI_TIMEOUT_MS,
    agent_message,
    set_status,
    shot,
    sign_in,
    visitor_says,
)
from tests.chat_setup import make_chat_site
from tests.cluster import cluster
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

TYPED_WHILE_DOWN = ["Typed while node A was down", "And a second line, also typed offline"]
DURING_OUTAGE = "Hello? Are you still there?"


async def test_node_kill_reconnects_to_the_other_node_and_loses_nothing(
    browser: Browser, tmp_path, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    async with cluster(tmp_path, prefix=redis_prefix) as (node_a, node_b):
        balancer = TcpProxy(node_a.port)
        await balancer.start()
        console_url = f"http://127.0.0.1:{balancer.port}"
        chat = await make_chat_site(node_b)
        console = await sign_in(browser, console_url)
        page = console.page
        await set_status(page, "online")

        # The visitor talks to node B directly, so only the console loses its node.
        visitor, _ = await chat.visitor(node_b.url)
        conv = await visitor.request({"type": "chat_start", "text": "Hi, a question on sizes"})
        cid = conv["id"]
        await visitor.expect(lambda f: f.get("type") == "message" and f["seq"] == 1)  # own echo
        await expect(page.locator(f'#chat-list [data-conversation="{cid}"]')).to_have_attribute(
            "aria-selected", "true"
        )
        transcript = page.locator(".chat .transcript")
        composer = page.get_by_role("textbox", name="Message")
        await composer.fill("Hi, Ana here. Which size do you wear?")
        await composer.press("Enter")
        await agent_message(visitor, "Hi, Ana here. Which size do you wear?")
        await visitor_says(visitor, cid, "Usually M.")
        await expect(transcript.locator(".msg-visitor")).to_have_count(2)

        # Node A dies; the balancer has no healthy node for a moment (new connections
        # wait), then sends them to node B.
        balancer.hold()
        await node_a.kill()
        banner = page.locator("#conn-banner")
        await expect(banner).to_contain_text("Reconnecting")
        for text in TYPED_WHILE_DOWN:
            await composer.fill(text)
            await composer.press("Enter")
        pending = transcript.locator(".msg-pending")
        await expect(pending).to_have_count(2)
        await expect(pending.locator(".msg-status")).to_have_text(["Sending…", "Sending…"])
        await visitor_says(visitor, cid, DURING_OUTAGE)  # stored by node B meanwhile
        await shot(page, "reconnecting")
        balancer.retarget(node_b.port)
        balancer.release()

        await expect(banner).to_be_hidden(timeout=UI_TIMEOUT_MS * 2)
        await expect(pending).to_have_count(0)
        expected = [
            "Hi, a question on sizes",
            "Hi, Ana here. Which size do you wear?",
            "Usually M.",
            DURING_OUTAGE,
            *TYPED_WHILE_DOWN,
        ]
        await expect(transcript.locator(".msg .msg-text")).to_have_text(expected)

        # The visitor gets each typed line once, in order, then the chat goes on via B.
        got = [await agent_message(visitor, text) for text in TYPED_WHILE_DOWN]
        await composer.fill("Back on node B.")
        await composer.press("Enter")
        last = await agent_message(visitor, "Back on node B.")
        assert [m["seq"] for m in got] + [last["seq"]] == [5, 6, 7]
        dupes = [f for f in visitor.frames if f.get("type") == "message"]
        assert dupes == [], dupes  # everything before seq 7 was consumed exactly once
        await visitor_says(visitor, cid, "Thanks!")
        await expect(transcript.locator(".msg .msg-text")).to_have_text(
            [*expected, "Back on node B.", "Thanks!"]
        )

        # The Store holds each message once, gap-free.
        async with httpx.AsyncClient(base_url=node_b.url, timeout=10) as api:
            stored = (
                await api.get(
                    f"/api/v1/conversations/{cid}/messages",
                    headers={"Authorization": f"Bearer {chat.agent_token}"},
                )
            ).json()["items"]
        assert [m["text"] for m in stored] == [*expected, "Back on node B.", "Thanks!"]
        assert [m["seq"] for m in stored] == list(range(1, 9))

        # Browsers log failed loads while the node is gone; script errors would be bugs.
        unexpected = [e for e in console.errors if "net::ERR_" not in e]
        assert unexpected == [], unexpected
        await visitor.close()
        await console.close()
        await balancer.cut()
