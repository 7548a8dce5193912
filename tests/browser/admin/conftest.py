"""Fixtures for the admin's browser tests: one `beckon serve` (private webhook targets
allowed, for the local receiver), a site with an agent, a marketer, and signed-in pages
that record browser errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.screenshots import screenshots_dir

MARKETER_EMAIL = "marketer@example.com"
MARKETER_PASSWORD = "marketer password 1"
VIEWPORT = {"width": 1360, "height": 900}
UI_TIMEOUT_MS = 10_000
XSS = '<img src=x onerror="window.__xss=1">'
SCREENSHOTS = screenshots_dir()
NODE_ENV = {
    "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    "BECKON_WEBHOOK_RETRY_BASE_S": "0.5",
    "BECKON_WEBHOOK_POLL_S": "0.1",
}


@dataclass
class AdminPage:
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.context.close()

    async def goto(self, hash_: str) -> None:
        """Open a screen and wait until it has loaded its data."""
        await self.page.evaluate("h => { location.hash = h; }", hash_)
        await expect(self.page.locator("#view")).to_have_attribute(
            "data-ready", "true", timeout=UI_TIMEOUT_MS
        )

    async def shot(self, name: str) -> None:
        # Passing toasts would cover the screen; the screenshot shows the screen itself.
        await self.page.evaluate("document.getElementById('toasts').replaceChildren()")
        await self.page.screenshot(path=str(SCREENSHOTS / f"admin-{name}.png"), full_page=True)

    async def no_injection(self) -> None:
        """No markup from data became elements, and no script from it ran."""
        assert await self.page.evaluate("window.__xss") is None
        assert await self.page.locator('#view img[src="x"], #admin img[src="x"]').count() == 0
        assert self.errors == []


def _console_error(admin: AdminPage, msg: ConsoleMessage) -> None:
    # 4xx answers the admin handles show up as "Failed to load resource"; anything else
    # (script errors, CSP violations) is a failure.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        admin.errors.append(f"console: {msg.text}")


async def open_admin(browser: Browser, url: str) -> AdminPage:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    admin = AdminPage(context, page)
    page.on("pageerror", lambda exc: admin.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: _console_error(admin, msg))
    await page.goto(url + "/admin/")
    return admin


async def sign_in(
    browser: Browser, url: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> AdminPage:
    admin = await open_admin(browser, url)
    page = admin.page
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    return admin


async def signed_in(browser: Browser, url: str, email: str, password: str) -> AdminPage:
    admin = await sign_in(browser, url, email, password)
    await expect(admin.page.locator("#admin")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(admin.page.locator("#view")).to_have_attribute(
        "data-ready", "true", timeout=UI_TIMEOUT_MS
    )
    return admin


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("admin")
    process = BeckonProcess({**subprocess_env(tmp), **NODE_ENV}, tmp)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    """The site (named with markup, to prove it renders as text), an agent, a marketer."""
    chat = await make_chat_site(node)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        auth = {"Authorization": f"Bearer {chat.admin_token}"}
        response = await client.patch(
            f"/api/v1/sites/{chat.site['id']}",
            headers=auth,
            json={"name": f"Shop {XSS}", "timezone": "Europe/Zagreb", "languages": ["hr"]},
        )
        chat.site = response.json()
        response = await client.post(
            "/api/v1/agents",
            headers=auth,
            json={
                "email": MARKETER_EMAIL,
                "password": MARKETER_PASSWORD,
                "role": "marketer",
                "display_name": "Mia Marketer",
                "site_ids": [chat.site["id"]],
            },
        )
        assert response.status_code == 201, response.text
    return chat
