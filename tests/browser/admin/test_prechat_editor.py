"""The admin's editor for the site's own pre-chat fields: the owner adds
a required select and a consent checkbox with its link, a server error shows next to the
field it names, the demo shop's widget asks the new fields, and the visitor's answers
appear in the agent's console under their labels."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import UI_TIMEOUT_MS, signed_in
from tests.browser.console.conftest import set_status
from tests.browser.console.conftest import sign_in as console_sign_in
from tests.chat_setup import ChatSite
from tests.screenshots import screenshots_dir

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
ADMIN = ("admin@example.com", "correct horse battery")


async def test_owner_adds_fields_the_widget_asks_the_console_shows(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, *ADMIN)
    agent = await console_sign_in(browser, node.url)
    try:
        page = admin.page
        await admin.goto(f"#sites/{chat.site['id']}")
        await page.get_by_label("Departments", exact=True).first.fill("sales, support")
        await page.get_by_label("Ask before the chat starts").check()
        await page.get_by_label("name", exact=True).check()
        await page.get_by_label("department", exact=True).check()
        editor = page.get_by_role("list", name="Your own fields")
        add = page.get_by_role("button", name="Add a field")

        # A required select of plans, asked for sales only.
        await add.click()
        plan = editor.get_by_role("listitem", name="Field 1")
        await plan.get_by_label("Label").fill("Plan")
        await plan.get_by_label("Type").select_option("select")
        await plan.get_by_label("Required").check()
        await plan.get_by_label("Departments").fill("sales")
        # No options yet: the server refuses, and says so next to this field.
        await page.get_by_role("button", name="Save changes").click()
        error = plan.locator(".field-error")
        await expect(error).to_contain_text("a select field needs at least one option")
        await plan.get_by_label("Options").fill("Basic\nPro")

        # A required consent box with its link, then moved above the plan.
        await add.click()
        consent = editor.get_by_role("listitem", name="Field 2")
        await consent.get_by_label("Label").fill("I accept the privacy policy")
        await consent.get_by_label("Type").select_option("checkbox")
        await expect(consent.get_by_label("Options")).to_be_hidden()
        await consent.get_by_label("Required").check()
        await consent.get_by_label("Link text").fill("Privacy policy")
        await consent.get_by_label("Link address").fill("https://shop.example.com/privacy")
        await consent.get_by_role("button", name="Move up").click()
        await expect(
            editor.get_by_role("listitem", name="Field 1").get_by_label("Label")
        ).to_have_value("I accept the privacy policy")
        # A third one added and removed again.
        await add.click()
        await (
            editor.get_by_role("listitem", name="Field 3")
            .get_by_role("button", name="Remove")
            .click()
        )
        await expect(editor.get_by_role("listitem")).to_have_count(2)
        await page.get_by_label("Allowed origins").fill(f"https://shop.example.com\n{node.url}")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator(".toast")).to_contain_text("Site saved", timeout=UI_TIMEOUT_MS)

        async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
            site = (
                await client.get(
                    f"/api/v1/sites/{chat.site['id']}",
                    headers={"Authorization": f"Bearer {chat.admin_token}"},
                )
            ).json()
        assert site["widget"]["prechat_custom"] == [
            {
                "id": "i_accept_the_privacy_policy",
                "type": "checkbox",
                "label": "I accept the privacy policy",
                "required": True,
                "options": [],
                "link": {"text": "Privacy policy", "url": "https://shop.example.com/privacy"},
                "departments": [],
            },
            {
                "id": "plan",
                "type": "select",
                "label": "Plan",
                "required": True,
                "options": ["Basic", "Pro"],
                "link": None,
                "departments": ["sales"],
            },
        ]
        # Saved fields come back in the editor as they were.
        await admin.goto(f"#sites/{chat.site['id']}")
        await expect(editor.get_by_role("listitem")).to_have_count(2)
        await expect(
            editor.get_by_role("listitem", name="Field 2").get_by_label("Options")
        ).to_have_value("Basic\nPro")

        # The demo shop: the widget's pre-chat form asks them; the visitor answers.
        await set_status(agent.page, "online")
        shop = await admin.context.new_page()
        await shop.set_viewport_size({"width": 1280, "height": 900})
        await shop.goto(f"{node.url}/demo/?site={chat.site['key']}")
        widget = shop.locator("beckon-chat")
        await widget.locator("button.l").click()
        form = widget.locator("form.f")
        await expect(form.locator("h3")).to_have_text("Before we start", timeout=UI_TIMEOUT_MS)
        await form.get_by_label("Name").fill("Iva")
        await form.get_by_label("Department").select_option("sales")
        await form.get_by_label("Plan").select_option("Pro")
        await form.get_by_label("I accept the privacy policy").check()
        await expect(form.get_by_role("link", name="Privacy policy")).to_be_visible()
        await form.get_by_label("Message").fill("Do you ship to Split?")
        await shop.screenshot(path=str(screenshots_dir() / "widget-prechat-custom-fields.png"))
        await form.get_by_role("button", name="Start chat").click()

        # The agent's console shows the answers under their labels.
        console = agent.page
        item = console.locator("#chat-list .chat-item", has_text="Iva")
        await expect(item).to_be_visible(timeout=UI_TIMEOUT_MS)
        await item.click()
        attributes = console.locator("#context-pane .context-section", has_text="Attributes")

        def kv(key: str):  # type: ignore[no-untyped-def]
            return attributes.locator(".kv").filter(
                has=console.locator(".kv-key", has_text=re.compile(f"^{re.escape(key)}$"))
            )

        await expect(kv("Plan")).to_contain_text("Pro", timeout=UI_TIMEOUT_MS)
        await expect(kv("I accept the privacy policy")).to_be_visible()
        await shop.close()
        assert admin.errors == []
        assert agent.errors == []
    finally:
        await agent.close()
        await admin.close()
