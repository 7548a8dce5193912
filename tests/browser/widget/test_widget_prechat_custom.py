"""The site's own pre-chat fields in the real widget: text, email, phone,
select and a consent checkbox with its link; required ones block the form in the
browser; a field of another department is hidden and not sent; the answers go out in
`chat_start.prechat.fields`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.widget.hosting import HostSite, fake_beckon, page
from tests.browser.widget.parties import keep_screenshot, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
WIDGET_DIR = Path(__file__).resolve().parents[3] / "widget"

CUSTOM = [
    {
        "id": "company",
        "type": "text",
        "label": "Company",
        "required": False,
        "options": [],
        "link": None,
        "departments": [],
    },
    {
        "id": "work_email",
        "type": "email",
        "label": "Work email",
        "required": False,
        "options": [],
        "link": None,
        "departments": [],
    },
    {
        "id": "phone",
        "type": "phone",
        "label": "Phone",
        "required": True,
        "options": [],
        "link": None,
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
    {
        "id": "consent",
        "type": "checkbox",
        "label": "I accept the privacy policy",
        "required": True,
        "options": [],
        "link": {"text": "Privacy policy", "url": "https://shop.example.com/privacy"},
        "departments": [],
    },
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[tuple[HostSite, str]]:
    site = HostSite()
    script = site.serve_widget(WIDGET_DIR)
    site.start()
    try:
        yield site, script
    finally:
        site.stop()


async def test_custom_prechat_fields(browser: Browser, host) -> None:  # type: ignore[no-untyped-def]
    site, script = host
    look = {
        "lang": "en",
        "prechat": True,
        "prechat_fields": ["name", "department"],
        "prechat_custom": CUSTOM,
        "departments": ["sales", "support"],
    }
    async with fake_beckon(**look) as fake:
        site.pages["/prechat-custom"] = page(script, "sk_fake", server=fake.url)
        tab = await open_tab(
            browser, site.origin + "/prechat-custom", viewport={"width": 1280, "height": 900}
        )
        await tab.shadow("button.l").click()
        form = tab.shadow("form.f")
        await expect(form.locator("h3")).to_have_text("Before we start")
        plan = form.get_by_label("Plan")
        await expect(plan).to_be_hidden()  # sales only, no department picked yet
        await form.get_by_label("Department").select_option("sales")
        await expect(plan).to_be_visible()
        await expect(form.get_by_role("link", name="Privacy policy")).to_have_attribute(
            "href", "https://shop.example.com/privacy"
        )
        await form.get_by_label("Name").fill("Iva")
        await form.get_by_label("Company").fill("Horvat d.o.o.")
        await form.get_by_label("Phone").fill("+385 1 234 5678")
        await plan.select_option("Pro")
        await form.get_by_label("Message").fill("Do you ship to Split?")
        await keep_screenshot(tab.page, "widget-prechat-custom")
        # The consent box is required: the browser keeps the form from being sent.
        await form.get_by_role("button", name="Start chat").click()
        assert not [f for f in fake.received if f.get("type") == "chat_start"]
        await form.get_by_label("I accept the privacy policy").check()
        # Support has no plan: switching hides it and it is not sent.
        await form.get_by_label("Department").select_option("support")
        await expect(plan).to_be_hidden()
        await form.get_by_role("button", name="Start chat").click()
        start = await fake.expect(lambda f: f.get("type") == "chat_start")
        assert start["prechat"] == {
            "name": "Iva",
            "department": "support",
            "fields": {"company": "Horvat d.o.o.", "phone": "+385 1 234 5678", "consent": "true"},
        }
        assert tab.errors == []
        await tab.context.close()
