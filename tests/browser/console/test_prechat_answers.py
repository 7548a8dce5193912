"""The site's own pre-chat answers in the console: each shown in the
visitor context under the site's label (a label with markup stays text)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import admin_api, set_status, sign_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

FIELDS = [
    {"id": "phone", "type": "phone", "label": "Phone", "required": True},
    {"id": "plan", "type": "select", "label": "<b>Plan</b>", "options": ["Basic", "Pro"]},
    {"id": "consent", "type": "checkbox", "label": "I accept the privacy policy", "required": True},
]


async def test_prechat_answers_show_under_their_labels(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    saved = await admin_api(
        chat,
        "PATCH",
        f"/api/v1/sites/{chat.site['id']}",
        json={"widget": {"prechat": True, "prechat_custom": FIELDS}},
    )
    assert saved.status_code == 200, saved.text
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, _ = await chat.visitor()
    conv = await visitor.request(
        {
            "type": "chat_start",
            "text": "Do you ship to Split?",
            "prechat": {
                "name": "Iva",
                "fields": {"phone": "+385 1 234 5678", "plan": "Pro", "consent": "true"},
            },
        }
    )
    assert conv["type"] == "conversation", conv
    item = page.locator(f'#chat-list [data-conversation="{conv["id"]}"]')
    await expect(item).to_be_visible()
    await item.click()
    panel = page.locator("#context-pane")
    attributes = panel.locator(".context-section", has_text="Attributes")

    def kv(key: str):  # type: ignore[no-untyped-def]
        return attributes.locator(".kv").filter(
            has=page.locator(".kv-key", has_text=re.compile(f"^{re.escape(key)}$"))
        )

    await expect(kv("Phone")).to_contain_text("+385 1 234 5678")
    await expect(kv("<b>Plan</b>")).to_contain_text("Pro")
    await expect(kv("I accept the privacy policy")).to_contain_text("true")
    assert await page.locator("#context-pane b").count() == 0
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()
