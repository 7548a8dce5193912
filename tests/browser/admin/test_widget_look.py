"""The widget's look edited in the admin: the live preview is the real
widget in an iframe and follows every edit; colours below WCAG AA are flagged as you
pick and refused on save with the server's sentence; the saved look and texts reach the
demo shop at its next page view."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import UI_TIMEOUT_MS, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
ADMIN = ("admin@example.com", "correct horse battery")


async def test_look_editor_preview_contrast_and_demo_shop(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        await admin.goto(f"#sites/{chat.site['id']}")
        preview = page.frame_locator("iframe.widget-preview").locator("beckon-chat")
        launcher = preview.locator("button.l")
        await expect(launcher).to_be_visible(timeout=UI_TIMEOUT_MS)
        # The preview opens on the site's greeting and a sample chat.
        await expect(preview.locator(".m.a")).to_have_text(
            ["Hi! How can we help?", "Hello! How can I help?"]
        )

        await page.get_by_label("Accent colour").fill("#0f766e")
        await page.get_by_label("Launcher label").fill("Questions?")
        await page.get_by_label("Theme").select_option("dark")
        await page.locator(".look-editor").get_by_label("Position").select_option("left")
        await page.get_by_label("Language of the texts").select_option("hr")
        await page.get_by_label("Widget texts").fill("placeholder = Pitajte nas bilo što")
        await expect(launcher).to_have_text("Questions?", timeout=UI_TIMEOUT_MS)
        await expect(launcher).to_have_css("background-color", "rgb(15, 118, 110)")
        await expect(preview.locator(".w")).to_have_css("background-color", "rgb(17, 24, 39)")
        await expect(preview.locator("textarea")).to_have_attribute(
            "placeholder", "Pitajte nas bilo što"
        )
        # The site form is longer than the window: bring the whole preview into view.
        await page.locator("iframe.widget-preview").scroll_into_view_if_needed()
        frame_box = await page.locator("iframe.widget-preview").bounding_box()
        # The preview reloads as the form changes: measure once it has settled again.
        box = None
        async with asyncio.timeout(UI_TIMEOUT_MS / 1000):
            while box is None:
                await expect(launcher).to_be_visible(timeout=UI_TIMEOUT_MS)
                box = await launcher.bounding_box()
        assert frame_box is not None and box is not None
        assert box["x"] - frame_box["x"] < 40  # bottom left now

        # A text colour too close to the accent: said at once, refused on save.
        await page.get_by_label("Automatic (black or white)").uncheck()
        await page.get_by_label("Text colour").fill("#14b8a6")
        note = page.locator(".look-editor [role=status]")
        await expect(note).to_contain_text("is below WCAG AA (4.5:1)")
        await page.get_by_role("button", name="Save changes").click()
        refused = page.locator('.field-error[data-path="widget"]')
        await expect(refused).to_have_text(
            "The accent colour #0f766e with the text colour #14b8a6 has a contrast of "
            "2.20:1; WCAG AA needs at least 4.5:1 for text, so choose a darker or lighter "
            "colour."
        )
        await page.get_by_label("Automatic (black or white)").check()
        await expect(note).to_contain_text("passes WCAG AA")
        # Surveys: thumbs up/down, no comment box, the question in Croatian.
        await page.get_by_label("Thumbs up/down").check()
        await page.get_by_label("Ask for a comment").uncheck()
        await page.get_by_label("Language of the texts").select_option("hr")
        await page.get_by_label("Widget texts").fill(
            "placeholder = Pitajte nas bilo što\nthumbs = Jesmo li riješili problem?"
        )
        origins = page.get_by_label("Allowed origins")
        await origins.fill(f"https://shop.example.com\n{node.url}")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator(".toast")).to_contain_text("Site saved")
        await admin.goto(f"#sites/{chat.site['id']}")
        await expect(launcher).to_have_text("Questions?", timeout=UI_TIMEOUT_MS)
        await admin.shot("widget-look-preview")

        async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
            site = (
                await client.get(
                    f"/api/v1/sites/{chat.site['id']}",
                    headers={"Authorization": f"Bearer {chat.admin_token}"},
                )
            ).json()
        widget = site["widget"]
        assert (widget["color"], widget["text_color"], widget["theme"]) == (
            "#0f766e",
            None,
            "dark",
        )
        assert (widget["position"], widget["launcher_label"]) == ("left", "Questions?")
        assert widget["strings"] == {
            "hr": {"placeholder": "Pitajte nas bilo što", "thumbs": "Jesmo li riješili problem?"}
        }
        assert (widget["survey"], widget["survey_comment"]) == (["csat", "nps", "thumbs"], False)

        # The demo shop (the real server, the real socket) shows the saved look.
        shop = await admin.context.new_page()
        await shop.goto(f"{node.url}/demo/?site={chat.site['key']}")
        shop_launcher = shop.locator("beckon-chat").locator("button.l")
        await expect(shop_launcher).to_have_text("Questions?", timeout=UI_TIMEOUT_MS)
        await expect(shop_launcher).to_have_css("background-color", "rgb(15, 118, 110)")
        await shop.close()
        assert admin.errors == []
    finally:
        await admin.close()
