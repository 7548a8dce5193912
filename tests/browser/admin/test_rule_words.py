"""The rule form in the marketer's words: facts and operators with human
labels in groups, the unit beside the value and the fact's help under it; the raw keys
(page.time_s, gte) only in the JSON view."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import MARKETER_EMAIL, MARKETER_PASSWORD, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_conditions_read_as_sentences(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    page = admin.page
    await page.get_by_role("link", name="New rule").click()
    await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
    row = page.locator(".cond").first
    fact, op = row.get_by_label("Fact"), row.get_by_label("Operator")
    await fact.select_option(label="Time on this page")
    await op.select_option(label="at least")
    await row.get_by_label("Value").fill("30")
    assert await fact.input_value() == "page.time_s"
    assert await op.input_value() == "gte"
    await expect(row.locator(".cond-unit")).to_have_text("seconds")
    await expect(row.locator(".cond-help")).to_have_text(
        "Time on this page: seconds on the current page."
    )
    group = await fact.evaluate("el => el.selectedOptions[0].parentElement.label")
    assert group == "This page"
    await expect(op.locator("option")).to_contain_text(
        ["is exactly", "is not", "more than", "at least", "less than", "at most"]
    )
    # A struggle signal and a text fact speak too.
    await fact.select_option("signal.rage_click.ago_s")
    await expect(fact.locator("option:checked")).to_have_text("Time since the last: rage clicks")
    await fact.select_option("page.path")
    await expect(op.locator("option:checked")).to_have_text("is")
    await expect(row.locator(".cond-unit")).to_have_count(0)
    # The keys are in the JSON view, never in the form's visible text.
    await fact.select_option(label="Time on this page")
    await op.select_option(label="at least")
    await row.get_by_label("Value").fill("30")
    body = json.loads(await page.get_by_label("Rule JSON").input_value())
    assert body["when"]["all"][0] == {"fact": "page.time_s", "op": "gte", "value": 30}
    shown = await page.get_by_role("region", name="When").inner_text()
    for key in ("page.time_s", "gte", "page.path", "signal."):
        assert key not in shown, key
    await admin.shot("rule-words")
    assert admin.errors == [], admin.errors
    await admin.context.close()


async def test_a_new_rule_is_saved_live_and_the_url_follows_it(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    page = admin.page
    await page.get_by_role("link", name="New rule").click()
    await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
    await page.get_by_label("Rule name").fill("Live from the start")
    live = page.get_by_label(re.compile("Live as soon as it is saved"))
    await expect(live).not_to_be_checked()
    await live.check()
    assert json.loads(await page.get_by_label("Rule JSON").input_value())["enabled"] is True
    await page.get_by_role("button", name="Save rule").click()
    await expect(page).to_have_url(re.compile(r".*/admin/#rules/rl_[\w-]+$"))
    await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
    rule_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_role("heading", name="Live", exact=True)).to_be_visible()
    # A saved rule is switched on and off in its own panel, not by this box.
    await expect(page.get_by_label(re.compile("Live as soon as it is saved"))).to_have_count(0)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        stored = await client.get(
            f"/api/v1/sites/{chat.site['id']}/rules/{rule_id}",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
    assert stored.status_code == 200 and stored.json()["enabled"] is True
    assert admin.errors == [], admin.errors
    await admin.context.close()
