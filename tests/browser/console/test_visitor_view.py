"""The Visitors view at a busy shop's scale, in Chromium against one node.

3,000 visitors (`BECKON_VIEW_TEST_VISITORS`) are written to Redis as another node
writes them (`bench.live_visitors`: live state, presence, watch events), plus three real
visitor sockets chatting with the agent. Asserted without timing: exact counts, every
filter's result against a predicate computed here, sorting and grouping, the typed
invitation text intact through updates, deep links, no console socket closed and no
chat requeued over the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from bench.live_visitors import LiveVisitors
from server.broker import open_broker
from server.chat.proactive import visitor_summary
from tests.beckon_process import running_node
from tests.browser.console.conftest import AGENT_EMAIL, UI_TIMEOUT_MS, shot, sign_in
from tests.chat_setup import make_chat_site
from tests.conftest import REDIS_URL

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.asyncio(loop_scope="module")]
VISITORS = int(os.environ.get("BECKON_VIEW_TEST_VISITORS", "3000"))
CHATTING = 3
STEP_FRACTION = 0.02  # of the visitors change page or cart per background step
Summary = dict[str, Any]


class Background:
    """Keeps the synthetic visitors browsing (bounded), pausable for exact checks."""

    def __init__(self, load: LiveVisitors) -> None:
        self.load = load
        self.running = asyncio.Event()
        self.stepping = asyncio.Lock()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for _ in range(600):  # bounded: at most 600 steps over the test
            await self.running.wait()
            async with self.stepping:
                if not self.running.is_set():  # paused after the wait returned
                    continue
                await self.load.step(STEP_FRACTION)
            await asyncio.sleep(0.5)  # pacing of the load, not a wait for anything

    async def pause(self) -> None:
        """No step runs after this returns (one in flight is finished first). A step
        that failed is raised here: the visitors it changed would not match the node."""
        self.running.clear()
        async with self.stepping:
            pass
        if self.task.done() and not self.task.cancelled():
            self.task.result()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def summaries(load: LiveVisitors, real: list[Summary]) -> list[Summary]:
    now = time.time()
    synthetic = [{**visitor_summary(s, now), "state": "browsing"} for s in load.states.values()]
    return synthetic + real


def count(rows: list[Summary], keep: Callable[[Summary], bool]) -> int:
    return sum(1 for r in rows if keep(r))


def cart(r: Summary) -> float | None:
    return r["cart"]["value"] if r.get("cart") else None


async def expect_matching(page: Page, matching: int, online: int) -> None:
    summary = page.locator("#view-visitors .view-summary")
    await expect(summary).to_contain_text(
        f"{matching} of {online} on the site match", timeout=UI_TIMEOUT_MS
    )


async def test_the_view_is_exact_and_keeps_the_agent_at_work(
    browser: Browser, tmp_path: Path, redis_prefix: str
) -> None:
    env = {"BECKON_BROKER_URL": REDIS_URL, "BECKON_BROKER_PREFIX": redis_prefix}
    async with running_node(tmp_path, env=env) as node:
        chat = await make_chat_site(node, agent_email=AGENT_EMAIL)
        site_id = chat.site["id"]
        broker = open_broker(REDIS_URL, prefix=redis_prefix)
        await broker.start()
        load = LiveVisitors(broker, site_id, count=VISITORS, seed=18)
        await load.arrive()
        background = Background(load)
        # Three real visitors in chats the agent holds.
        desk, _ = await chat.agent_socket()
        chatting = []
        for i in range(CHATTING):
            visitor, welcome = await chat.visitor(
                page={"url": "https://shop.example.com/checkout", "title": "Checkout"}, lang="en"
            )
            conv = await visitor.request({"type": "chat_start", "text": f"question {i}"})
            await desk.request({"type": "accept", "conversation_id": conv["id"]})
            chatting.append((visitor, welcome["visitor_id"], conv["id"]))
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        real: list[Summary] = []
        async with httpx.AsyncClient(base_url=node.url, timeout=10, headers=auth) as api:
            for _, vid, _ in chatting:
                context = (await api.get(f"/api/v1/sites/{site_id}/visitors/{vid}")).json()
                real.append({**context, "state": "in_chat"})
        await desk.close()
        online = VISITORS + CHATTING

        console = await sign_in(browser, node.url)
        page = console.page
        closes: list[str] = []
        page.on("websocket", lambda ws: ws.on("close", lambda _ws: closes.append(ws.url)))
        # The socket opened at sign-in is not reported to that listener: every change of
        # the console's connection state is recorded instead (a close, then a reconnect,
        # would show as a state other than "ready").
        await page.evaluate(
            """() => {
              window.connectionStates = [];
              new MutationObserver(() =>
                window.connectionStates.push(document.body.dataset.connection)
              ).observe(document.body, {attributes: true, attributeFilter: ['data-connection']});
            }"""
        )
        background.running.set()
        try:
            await page.locator("#nav-visitors").click()
            view = page.locator("#view-visitors")
            await expect(view.locator("[data-total]")).to_have_text(str(online))
            await expect(view.locator('[data-count="in_chat"]')).to_have_text(str(CHATTING))
            await expect(view.locator('[data-count="browsing"]')).to_have_text(str(VISITORS))
            # Virtualized: a screenful of rows in the DOM, not thousands.
            rendered = await view.locator("tr.vrow").count()
            assert 0 < rendered <= 60, rendered

            # Every filter, against a predicate computed here.
            checks: list[tuple[str, str, Callable[[Summary], bool]]] = [
                ("Search visitors", "ana", lambda r: "ana" in _searchable(r)),
                (
                    "Page URL pattern",
                    "*/cart",
                    lambda r: (r["page"]["url"] or "").endswith("/cart"),
                ),
                ("Cart value at least", "250", lambda r: (cart(r) or -1) >= 250),
                ("Country", "de", lambda r: (r.get("location") or {}).get("country") == "DE"),
                ("Language", "pt", lambda r: (r.get("lang") or "").startswith("pt")),
            ]
            for label, value, keep in checks:
                await background.pause()
                rows = summaries(load, real)
                await page.get_by_label(label).fill(value)
                await expect_matching(page, count(rows, keep), online)
                await page.get_by_label(label).fill("")
                await expect_matching(page, online, online)
                background.running.set()
            selects: list[tuple[str, str, Callable[[Summary], bool]]] = [
                ("Device", "mobile", lambda r: r.get("device") == "mobile"),
                ("Returning visitors", "true", lambda r: bool(r.get("returning"))),
            ]
            for label, value, keep in selects:
                await background.pause()
                rows = summaries(load, real)
                await page.get_by_label(label).select_option(value)
                await expect_matching(page, count(rows, keep), online)
                await page.get_by_label(label).select_option("")
                background.running.set()
            await view.locator('[data-state="in_chat"]').click()
            await expect_matching(page, CHATTING, online)
            await expect(view.locator("tr.vrow")).to_have_count(CHATTING)
            await view.locator('[data-state="all"]').click()

            # Sort by cart, highest first: the first row is the largest cart.
            await background.pause()
            rows = summaries(load, real)
            top = max(rows, key=lambda r: (cart(r) or -1, _neg(r["id"])))
            sort_by_cart = view.locator("th.col-cart button")
            await expect(sort_by_cart).to_have_text("Cart")
            await sort_by_cart.click()
            await expect(view.locator("th.col-cart")).to_have_attribute("aria-sort", "ascending")
            await sort_by_cart.click()
            await expect(view.locator("th.col-cart")).to_have_attribute("aria-sort", "descending")
            await expect(view.locator("tr.vrow").first).to_have_attribute("data-visitor", top["id"])
            # Grouped by state: the chats come first (queued, in chat, invited, browsing).
            await page.get_by_label("Group by state").check()
            for i in range(CHATTING):
                await expect(view.locator("tr.vrow").nth(i)).to_contain_text("In chat")
            await expect(view.locator("tr.vrow").nth(CHATTING)).to_contain_text("Browsing")
            await shot(page, f"visitors-{VISITORS}-sorted-grouped")
            await page.get_by_label("Group by state").uncheck()

            # An invitation being typed survives updates of its own row and the others.
            target = top["id"]
            row = view.locator(f'tr[data-visitor="{target}"]')
            await row.get_by_role("button", name=f"Invite {_label(top)} to chat").click()
            text = page.get_by_label("Invitation text")
            await text.fill("Hi! Free shipping on ")
            background.running.set()
            await load.touch(target, cart_value=999.0)
            await expect(row).to_contain_text("999.00", timeout=UI_TIMEOUT_MS)
            await text.press_sequentially("orders over €50.")
            await expect(text).to_have_value("Hi! Free shipping on orders over €50.")
            await expect(text).to_be_focused()

            # A filter applied at this scale, for the docs.
            await page.get_by_label("Country").fill("DE")
            await page.get_by_label("Cart value at least").fill("100")
            await background.pause()
            rows = summaries(load, real)
            de_100 = count(
                rows,
                lambda r: (
                    (r.get("location") or {}).get("country") == "DE" and (cart(r) or -1) >= 100
                ),
            )
            await expect_matching(page, de_100, online)
            await shot(page, f"visitors-{VISITORS}-filtered")

            # The console's socket was never closed over the run.
            assert closes == [], closes
            states = await page.evaluate("window.connectionStates")
            assert all(state == "ready" for state in states), states
            # A deep link (and a reload) shows the same view.
            assert "country=DE" in page.url and "cart_min=100" in page.url
            await page.reload()
            await expect(page.locator("body")).to_have_attribute(
                "data-connection", "ready", timeout=UI_TIMEOUT_MS
            )
            await expect(page.get_by_label("Country")).to_have_value("DE")
            await expect_matching(page, de_100, online)
        finally:
            await background.stop()

        # No chat went back to the queue.
        async with httpx.AsyncClient(base_url=node.url, timeout=10, headers=auth) as api:
            for visitor, _, conv_id in chatting:
                conv = (await api.get(f"/api/v1/conversations/{conv_id}")).json()
                assert (conv["status"], conv["agent_id"]) == ("active", chat.agent["id"])
                requeued = [
                    f
                    for f in visitor.frames
                    if f.get("type") == "conversation" and f["status"] == "queued"
                ]
                assert requeued == []
                await visitor.close()
        assert console.errors == [], console.errors
        await console.close()
        await broker.close()


def _searchable(r: Summary) -> str:
    return "\n".join(x for x in (r.get("name"), r.get("email"), r["page"]["url"]) if x).casefold()


def _label(r: Summary) -> str:
    return r["name"] or f"Visitor {r['id'][-4:]}"


def _neg(visitor_id: str) -> tuple[int, ...]:
    # Ties on the cart value go to the smaller id first (the server's tie-break).
    return tuple(-ord(c) for c in visitor_id)
