"""The widget across a node kill: two `beckon serve` nodes on PostgreSQL + Redis,
the snippet names both (`data-servers`); node one is SIGKILLed while the visitor types, the
widget moves to node two, resumes and re-sends its outbox, and the agent (on node two) gets
every message exactly once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.widget.hosting import HostSite, page
from tests.browser.widget.parties import (
    agent_offline,
    agent_online,
    agent_take,
    allow_origin,
    open_tab,
    visitor_texts,
)
from tests.chat_setup import make_chat_site
from tests.cluster import cluster
from tests.ws_client import ws_url

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.asyncio(loop_scope="module"),
]
BEFORE_KILL = 6  # messages sent before the kill starts; the rest race it or follow it
TOTAL = 20
FAILOVER_MS = 20_000


@pytest_asyncio.fixture(loop_scope="module")
async def host() -> AsyncIterator[HostSite]:
    site = HostSite()
    site.start()
    try:
        yield site
    finally:
        site.stop()


async def test_node_killed_mid_stream_widget_resumes_on_the_other_url(
    browser: Browser, host: HostSite, tmp_path: Path, redis_prefix: str
) -> None:
    async with cluster(tmp_path, prefix=redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        await allow_origin(chat, host.origin)
        agent = await agent_online(chat, two.url)
        # The script from node two (it stays up); the socket tries node one first.
        host.pages["/"] = page(two.url + "/widget.js", chat.site["key"], servers=[one.url, two.url])
        tab = await open_tab(browser, host.origin + "/")
        await tab.shadow("button.l").click()
        composer = tab.shadow("textarea")

        async def say(text: str) -> None:
            await composer.fill(text)
            await composer.press("Enter")

        await say("first")
        conv_id = await agent_take(agent)
        await expect(tab.shadow(".pending")).to_have_count(0)
        assert tab.sockets == [ws_url(one.url, f"/ws/visitor?site={chat.site['key']}")]

        sent = [f"m{n:02}" for n in range(1, TOTAL + 1)]
        for text in sent[:BEFORE_KILL]:
            await say(text)
        killer = asyncio.create_task(one.kill())  # SIGKILL while the visitor keeps typing
        for text in sent[BEFORE_KILL:]:
            await say(text)
        await killer
        await expect(tab.shadow(".pending")).to_have_count(0, timeout=FAILOVER_MS)
        await say("last")  # after the failover: reveals any gap the kill left, to be filled

        def from_visitor(frame: dict[str, Any]) -> bool:
            return (
                frame.get("type") == "message"
                and frame.get("conversation_id") == conv_id
                and frame["author"]["kind"] == "visitor"
            )

        arrived = []
        while not arrived or arrived[-1]["text"] != "last":
            arrived.append(await agent.expect(from_visitor, timeout=FAILOVER_MS / 1000))
        texts = [f["text"] for f in arrived if f["text"] != "first"]
        seqs = [f["seq"] for f in arrived]
        print(f"\nfailover: sockets {len(tab.sockets)}, agent got {len(arrived)} messages")
        assert texts == [*sent, "last"]  # each exactly once, in order
        assert seqs == sorted(set(seqs))
        assert [f["text"] for f in arrived].count("first") <= 1
        assert tab.sockets[-1] == ws_url(two.url, f"/ws/visitor?site={chat.site['key']}")

        expected = ["first", *sent, "last"]
        assert await visitor_texts(two.url, chat.agent_token, conv_id) == expected
        await expect(tab.shadow(".m.v")).to_have_count(len(expected))
        shown = [t.strip() for t in await tab.shadow(".m.v").all_text_contents()]
        assert shown == expected
        assert tab.dialogs == [] and tab.errors == []
        await tab.context.close()
        await agent_offline(agent)
