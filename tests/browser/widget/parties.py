"""The two sides of a chat in the widget tests: a browser tab with the widget (every frame
its sockets send is recorded, and any dialog or page error), and an agent on a Python
WebSocket with an API token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from playwright.async_api import Browser, BrowserContext, Locator, Page, WebSocket, expect

from tests.chat_setup import ChatSite
from tests.screenshots import screenshots_dir
from tests.ws_client import WsClient

WAIT_MS = 10_000
SCREENSHOTS = screenshots_dir()
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 720}},
    "mobile": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@dataclass
class Tab:
    """A browser tab with the widget, recording every frame its sockets send."""

    context: BrowserContext
    page: Page
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)  # the URL of every socket opened
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def shadow(self, selector: str) -> Locator:
        return self.page.locator("beckon-chat").locator(selector)

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.sent if f.get("type") == kind]

    async def sent_frame(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The last frame of `kind` sent so far, waiting for one if there is none yet."""
        return await self.sent_matching(lambda f: f.get("type") == kind, timeout)

    async def sent_matching(self, match: Any, timeout: float = 10) -> dict[str, Any]:
        """The last sent frame for which `match(frame)` is true, waiting for one."""
        return await self._wait(self.sent, match, timeout)

    async def received_matching(self, match: Any, timeout: float = 10) -> dict[str, Any]:
        """The last frame the server sent for which `match(frame)` is true, waiting."""
        return await self._wait(self.received, match, timeout)

    async def _wait(self, frames: list[dict[str, Any]], match: Any, timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            while not [f for f in frames if match(f)]:
                self.arrived.clear()
                await self.arrived.wait()
        return [f for f in frames if match(f)][-1]


async def keep_screenshot(page: Page, name: str) -> None:
    """Save the viewport as <name>.png in the run's screenshot folder (tests/screenshots.py)."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def open_tab(browser: Browser, url: str, *, clock: bool = False, **context: Any) -> Tab:
    """A new context and tab on `url`, once the widget's bubble is visible. With `clock`,
    the page's timers and Date are Playwright's (time still flows until a test moves it)."""
    # Reduced motion: screenshots and boxes without mid-animation frames (and it is honoured).
    ctx = await browser.new_context(**{"reduced_motion": "reduce", **context})
    page = await ctx.new_page()
    if clock:
        await page.clock.install()
    tab = Tab(ctx, page)
    page.on("dialog", lambda d: (tab.dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    page.on("pageerror", lambda e: tab.errors.append(str(e)))

    def recorder(frames: list[dict[str, Any]]) -> Any:
        def record(payload: str | bytes) -> None:
            frames.append(orjson.loads(payload))
            tab.arrived.set()

        return record

    def on_socket(ws: WebSocket) -> None:
        tab.sockets.append(ws.url)
        ws.on("framesent", recorder(tab.sent))
        ws.on("framereceived", recorder(tab.received))

    page.on("websocket", on_socket)
    await page.goto(url)
    await expect(tab.shadow("button.l")).to_be_visible(timeout=WAIT_MS)
    return tab


async def agent_online(site: ChatSite, node_url: str | None = None) -> WsClient:
    agent, _welcome = await site.agent_socket(node_url)
    assert (await agent.request({"type": "status", "status": "online"}))["status"] == "online"
    return agent


async def agent_take(agent: WsClient) -> str:
    """Wait for the visitor's chat to reach this agent and accept it (unless routing
    already assigned it); returns the conversation id."""

    def arrived(frame: dict[str, Any]) -> bool:
        return (
            (frame.get("type") == "queue" and bool(frame.get("items")))
            or frame.get("type") == "offer"
            or (frame.get("type") == "conversation" and frame.get("status") == "active")
        )

    try:
        # Generous: the widget may be in a reconnect backoff on a loaded machine.
        frame = await agent.expect(arrived, timeout=20)
    except TimeoutError:
        raise AssertionError(f"no chat reached the agent; it got {agent.frames}") from None
    if frame["type"] == "conversation":
        return frame["id"]
    conv_id = frame["conversation_id"] if frame["type"] == "offer" else frame["items"][0]["id"]
    reply = await agent.request({"type": "accept", "conversation_id": conv_id})
    assert reply.get("type") == "conversation" or reply.get("code") == "conflict", reply
    return conv_id


async def agent_offline(agent: WsClient) -> None:
    # Wait for the reply: an agent's consoles follow each other's status, so an
    # "offline" still in flight when the next test's console of the same agent goes
    # online would turn that one offline too.
    assert (await agent.request({"type": "status", "status": "offline"}))["status"] == "offline"
    await agent.close()


async def visitor_texts(server_url: str, token: str, conv_id: str) -> list[str]:
    """The visitor's stored messages in the conversation, in seq order (REST)."""
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/conversations/{conv_id}/messages",
            params={"after_seq": 0, "limit": 200},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["items"] if m["author"]["kind"] == "visitor"]


async def allow_origin(site: ChatSite, origin: str) -> None:
    """Add `origin` to the site's allowed origins (the widget's socket checks it)."""
    async with httpx.AsyncClient(base_url=site.server_url, timeout=10) as client:
        response = await client.patch(
            f"/api/v1/sites/{site.site['id']}",
            headers={"Authorization": f"Bearer {site.admin_token}"},
            json={"allowed_origins": [*site.site["allowed_origins"], origin]},
        )
    assert response.status_code == 200, response.text
