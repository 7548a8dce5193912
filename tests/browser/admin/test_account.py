"""The admin's Account screen in Chromium: API tokens (secret shown once, listed,
revoked) and sessions (listed, one ended)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.browser.admin.conftest import UI_TIMEOUT_MS, XSS, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def _me(node: BeckonProcess, **kw: object) -> int:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        return (await client.get("/api/v1/me", **kw)).status_code


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_account_screen_tokens_and_sessions(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    other = httpx.AsyncClient(base_url=node.url, timeout=10, headers={"User-Agent": "Other/9"})
    signed = await other.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert signed.status_code == 200
    try:
        page = admin.page
        page.on("dialog", _accept)
        await admin.goto("#account")
        await page.get_by_label("Name").fill(f"CRM {XSS}")
        await page.get_by_role("button", name="Create token").click()
        secret = await page.locator("[data-secret]").text_content()
        assert secret and secret.startswith("bk_")
        assert await _me(node, headers={"Authorization": f"Bearer {secret}"}) == 200
        tokens = page.get_by_role("region", name="API tokens")
        await expect(tokens).to_contain_text(f"CRM {XSS}")
        row = tokens.locator("tr", has_text=f"CRM {XSS}")
        await expect(row).to_contain_text("never")

        sessions = page.get_by_role("region", name="Sessions")
        await expect(sessions).to_contain_text("this session")
        other_row = sessions.locator("tr", has_text="Other/9")
        await other_row.get_by_role("button", name="Sign out").click()
        await expect(sessions.locator("tr", has_text="Other/9")).to_have_count(
            0, timeout=UI_TIMEOUT_MS
        )
        assert (await other.get("/api/v1/me")).status_code == 401

        await row.get_by_role("button", name="Revoke").click()
        await expect(tokens.locator("tr", has_text=f"CRM {XSS}")).to_have_count(
            0, timeout=UI_TIMEOUT_MS
        )
        assert await _me(node, headers={"Authorization": f"Bearer {secret}"}) == 401
        await admin.shot("account")
        # Shown once: after a reload the secret is nowhere on the page.
        await page.reload()
        await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        assert secret not in (await page.content())
        await admin.no_injection()
    finally:
        await other.aclose()
        await admin.close()
