"""The admin's Privacy screen in Chromium: retention per site shown and
saved (a bad value named at its field), a visitor exported as a JSON download and then
erased; markup in names stays text."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import UI_TIMEOUT_MS, XSS, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
ADMIN = ("admin@example.com", "correct horse battery")


async def test_privacy_screen(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor(attributes={"email": "maja@example.com"})
    vid = welcome["visitor_id"]
    started = await visitor.request({"type": "chat_start", "text": "my address is Ilica 1"})
    assert started["type"] == "conversation", started
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        await page.locator("#site-select").select_option(label=f"Shop {XSS}")
        await admin.goto("#privacy")
        await expect(page.get_by_role("heading", name=f"Privacy — Shop {XSS}")).to_be_visible()

        # Retention: node default at first; a bad number is named at its field.
        transcripts = page.get_by_label("Transcripts: kept")
        await expect(transcripts).to_have_value("default")
        await transcripts.select_option("days")
        await page.get_by_label("Transcripts: days").fill("0")
        await page.get_by_role("button", name="Save retention").click()
        await expect(
            page.locator('.field-error[data-path="settings.retention_transcripts_days"]')
        ).to_have_text('days from 1 to 3650, "forever", or null for the node\'s default')
        await page.get_by_label("Transcripts: days").fill("90")
        await page.get_by_label("Offline messages: kept").select_option("forever")
        await page.get_by_label("Files: kept").select_option("days")
        await page.get_by_label("Files: days").fill("30")
        await page.get_by_role("button", name="Save retention").click()
        await expect(page.locator(".toast")).to_contain_text("Retention saved")
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
            auth = {"Authorization": f"Bearer {chat.admin_token}"}
            site = (await client.get(f"/api/v1/sites/{chat.site['id']}", headers=auth)).json()
        settings = site["settings"]
        assert (
            settings["retention_transcripts_days"],
            settings["retention_visits_days"],
            settings["retention_offline_messages_days"],
            settings["retention_attachments_days"],
        ) == (90, None, "forever", 30)
        await page.reload()
        await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        await expect(page.get_by_label("Transcripts: days")).to_have_value("90")
        await expect(page.get_by_label("Offline messages: kept")).to_have_value("forever")
        await expect(page.get_by_label("Files: days")).to_have_value("30")
        await admin.shot("privacy")

        # Access: by visitor id, downloaded as one JSON document.
        requests = page.get_by_role("form", name="Access and erasure")
        await page.get_by_label("Find the visitor by").select_option("visitor_id")
        await page.get_by_label("Who").fill("vi_nobody")
        await page.get_by_role("button", name="Export (JSON)").click()
        await expect(requests.locator(".form-error")).to_have_text(
            "Beckon holds no records of visitor vi_nobody on this site"
        )
        await page.get_by_label("Who").fill(vid)
        async with page.expect_download(timeout=UI_TIMEOUT_MS) as waiting:
            await page.get_by_role("button", name="Export (JSON)").click()
        download = await waiting.value
        doc = json.loads((await download.path()).read_bytes())
        assert [v["id"] for v in doc["records"]["visitors"]] == [vid]
        assert [m["text"] for m in doc["records"]["messages"]] == ["my address is Ilica 1"]
        await expect(page.locator("[data-counts]")).to_contain_text("messages: 1")

        # Erasure, after a confirmation; the visitor's socket is closed.
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Erase…").click()
        await expect(page.locator("[data-erased]")).to_have_text(
            "Erased 1 visitor(s); 1 conversation(s) kept anonymously in reports."
        )
        assert await visitor.closed() == (4403, "visitor erased")
        await page.get_by_role("button", name="Export (JSON)").click()
        await expect(requests.locator(".form-error")).to_have_text(
            f"Beckon holds no records of visitor {vid} on this site"
        )
        await admin.no_injection()
    finally:
        await admin.close()
