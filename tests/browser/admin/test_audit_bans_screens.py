"""The admin's Bans and Audit log screens in Chromium: bans are
listed and lifted; the audit log shows who changed what, filters by kind, exports the
filtered entries as CSV; markup in a reason renders as text."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import UI_TIMEOUT_MS, XSS, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
ADMIN = ("admin@example.com", "correct horse battery")


async def test_bans_and_audit_screens(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    async with httpx.AsyncClient(
        base_url=node.url, timeout=10, headers={"Authorization": f"Bearer {chat.agent_token}"}
    ) as agent:
        banned = await agent.post(
            f"/api/v1/sites/{chat.site['id']}/bans",
            json={"visitor_id": "vi_troll", "reason": f"spam {XSS}"},
        )
        assert banned.status_code == 201, banned.text
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        page.on("dialog", lambda dialog: dialog.accept())
        await page.locator("#site-select").select_option(label=f"Shop {XSS}")
        await admin.goto("#bans")
        bans = page.get_by_role("region", name="Bans")
        await expect(bans).to_contain_text("visitor vi_troll")
        await expect(bans).to_contain_text(f"spam {XSS}")
        await expect(bans).to_contain_text("Ana")  # who banned: the agent's name
        await admin.shot("bans")
        await bans.get_by_role("button", name="Lift").click()
        await expect(page.locator("#bans-list")).to_contain_text(
            "Nobody is banned.", timeout=UI_TIMEOUT_MS
        )
        await page.get_by_label("Which bans").select_option("all")
        await expect(page.locator("#bans-list")).to_contain_text("lifted ")

        await admin.goto("#audit")
        listing = page.locator("#audit-list")
        await expect(listing).to_contain_text("ban.lift")
        await expect(listing).to_contain_text("site.update")
        await page.get_by_label("Kind of change").select_option("ban.")
        await expect(listing.locator("tbody tr")).to_have_count(2, timeout=UI_TIMEOUT_MS)
        await expect(listing).not_to_contain_text("site.update")
        await listing.locator("summary").first.click()
        await expect(listing.locator("pre").first).to_contain_text('"lifted_ts": null')
        await admin.shot("audit")
        href = await page.locator("#audit-csv").get_attribute("href")
        assert href is not None and "format=csv" in href and "action=ban." in href
        exported = await page.request.get(node.url + href)
        assert exported.status == 200
        rows = list(csv.DictReader(io.StringIO(await exported.text())))
        assert [r["action"] for r in rows] == ["ban.lift", "ban.create"]
        await admin.no_injection()
    finally:
        await admin.close()
