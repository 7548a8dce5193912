"""Fixtures for the agent console tests: a real `beckon serve`, a site with an agent,
and a signed-in console page that records browser errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from server.chat import visitor_token as tokens
from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.screenshots import screenshots_dir
from tests.ws_client import WsClient

AGENT_EMAIL = "agent@example.com"
AGENT_PASSWORD = "agent password 1"
VIEWPORT = {"width": 1280, "height": 720}
UI_TIMEOUT_MS = 10_000
SCREENSHOTS = screenshots_dir()


async def shot(page: Page, name: str, *, keep_toasts: bool = False) -> None:
    """The console as it is now, at the test viewport (1280×720), kept as
    console-<name>.png in the run's screenshot folder (tests/screenshots.py). Passing
    toasts are removed unless asked for."""
    if not keep_toasts:
        await page.evaluate("document.getElementById('toasts').replaceChildren()")
    await page.screenshot(
        path=str(SCREENSHOTS / f"console-{name}.png"), animations="disabled", caret="hide"
    )


@dataclass
class ConsolePage:
    """A browser context signed in to /agent/, with its JS errors collected."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.context.close()


async def open_console(browser: Browser, url: str, **context_options: Any) -> ConsolePage:
    """The console's sign-in page in a new context (desktop size unless `context_options`
    say otherwise), collecting page errors, console errors and dialogs."""
    context = await browser.new_context(**{"viewport": VIEWPORT, **context_options})
    page = await context.new_page()
    console = ConsolePage(context, page)
    page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: _console_error(console, msg))
    page.on("dialog", lambda dialog: console.errors.append(f"dialog: {dialog.message}"))
    await page.goto(url + "/agent/")
    return console


def _console_error(console: ConsolePage, msg: ConsoleMessage) -> None:
    # Chromium logs every 4xx as "Failed to load resource"; the console expects some
    # (401 before signing in, 404 for optional endpoints) and handles them. Everything
    # else — script errors, CSP violations — is a failure.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        console.errors.append(f"console: {msg.text}")


async def sign_in(
    browser: Browser, url: str, email: str = AGENT_EMAIL, password: str = AGENT_PASSWORD
) -> ConsolePage:
    """A console page signed in and connected (the socket's welcome arrived)."""
    console = await open_console(browser, url)
    page = console.page
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#console")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.locator("body")).to_have_attribute(
        "data-connection", "ready", timeout=UI_TIMEOUT_MS
    )
    return console


async def set_status(page: Page, status: str) -> None:
    await page.get_by_label("Your status").select_option(status)
    await expect(page.locator("#status-dot")).to_have_attribute("data-status", status)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("console")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, agent_email=AGENT_EMAIL)


# -- visitors (Python WebSocket clients) and agents -------------------------------------
async def start_chat(
    chat: ChatSite,
    text: str,
    name: str | None = None,
    node_url: str | None = None,
    cart: dict[str, Any] | None = None,
    **hello: Any,
) -> tuple[WsClient, str]:
    """A visitor opens a chat with a first message; returns (client, conversation id).
    `hello` fields (page, lang, identity, attributes) go into the visitor's hello, and
    `cart` ({value, currency, items?}) is sent before the chat starts."""
    visitor, _welcome = await chat.visitor(node_url, **hello)
    if cart is not None:
        # The socket handles frames in order: the chat_start reply means it was applied.
        await visitor.send({"type": "cart", **cart})
    frame: dict[str, Any] = {"type": "chat_start", "text": text}
    if name:
        frame["prechat"] = {"name": name}
    conv = await visitor.request(frame)
    assert conv.get("type") == "conversation", conv
    return visitor, conv["id"]


async def visitor_says(visitor: WsClient, conversation_id: str, text: str) -> dict:
    """Send a visitor message and wait for its stored echo (so it is durable)."""
    client_msg_id = visitor.next_id("v")
    await visitor.send(
        {
            "type": "message",
            "conversation_id": conversation_id,
            "client_msg_id": client_msg_id,
            "text": text,
        }
    )
    return await visitor.expect(
        lambda f: f.get("type") == "message" and f.get("client_msg_id") == client_msg_id
    )


async def agent_message(visitor: WsClient, text: str) -> dict:
    """The agent's message with this text, as the visitor receives it."""

    def match(f: dict) -> bool:
        return f.get("type") == "message" and f["author"]["kind"] == "agent" and f["text"] == text

    return await visitor.expect(match)


async def add_agent(chat: ChatSite, email: str, password: str, name: str) -> dict:
    """Another agent of the chat's site (through the admin API); returns the agent."""
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as admin:
        response = await admin.post(
            "/api/v1/agents",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "email": email,
                "password": password,
                "display_name": name,
                "site_ids": [chat.site["id"]],
            },
        )
    assert response.status_code == 201, response.text
    return response.json()


async def admin_api(chat: ChatSite, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One admin REST call (API token) against the chat's server."""
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as admin:
        return await admin.request(
            method, path, headers={"Authorization": f"Bearer {chat.admin_token}"}, **kwargs
        )


def identity(chat: ChatSite, user_id: str, name: str) -> dict[str, str]:
    """A verified identity for `hello` (user_hash signed with the site's secret)."""
    return {
        "user_id": user_id,
        "user_hash": tokens.identity_hash(chat.site["identity_secret"], user_id),
        "name": name,
    }
