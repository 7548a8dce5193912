"""Fixtures for the agent console tests: a real `beckon serve`, a site with an agent,
and a signed-in console page that records browser errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

AGENT_EMAIL = "agent@example.com"
AGENT_PASSWORD = "agent password 1"
VIEWPORT = {"width": 1280, "height": 720}
UI_TIMEOUT_MS = 10_000


@dataclass
class ConsolePage:
    """A browser context signed in to /agent/, with its JS errors collected."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.context.close()


async def open_console(browser: Browser, url: str) -> ConsolePage:
    context = await browser.new_context(viewport=VIEWPORT)
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
