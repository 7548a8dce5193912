"""The console's "why" shows the visitor's decisions over time: per
rule, each change of its outcome with the time — matched but outside the schedule, no
longer matching, matched again, then blocked because a chat is open."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import admin_api, set_status, shot, sign_in
from tests.chat_setup import ChatSite
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_why_shows_the_timeline_of_each_rule(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    # A window three days away: the schedule stays closed for the whole test.
    closed_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (datetime.now(UTC).weekday() + 3) % 7
    ]
    response = await admin_api(
        chat,
        "POST",
        f"/api/v1/sites/{chat.site['id']}/rules",
        json={
            "name": "Big cart <b>after hours</b>",
            "when": {"fact": "cart.value", "op": "gte", "value": 100},
            "gates": {
                "schedule": {
                    "timezone": "UTC",
                    "windows": [{"days": [closed_day], "from": "00:00", "to": "00:01"}],
                }
            },
            "variants": [{"id": "a", "text": {"en": "Hi"}}],
        },
    )
    assert response.status_code == 201, response.text
    console = await sign_in(browser, node.url)
    page = console.page
    await set_status(page, "online")
    visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/checkout"})
    for value in (150, 50, 150):
        await visitor.send({"type": "cart", "value": value, "currency": "EUR", "items": 1})
    conv = await visitor.request({"type": "chat_start", "text": "Is the lamp in stock?"})

    async def timeline() -> list[dict]:
        path = f"/api/v1/sites/{chat.site['id']}/visitors/{welcome['visitor_id']}/why"
        return (await admin_api(chat, "GET", path)).json()["timeline"]

    await wait_until(timeline, lambda t: len(t) == 4, timeout=10, what="four changes stored")
    # The context pane reads "why" when a chat is selected: the console may have selected
    # the new chat itself before the last change was stored, so it is read afresh.
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-connection", "ready")
    item = page.locator(f'#chat-list [data-conversation="{conv["id"]}"]')
    await item.click()
    await expect(item).to_have_attribute("aria-selected", "true")
    why = page.locator("#context-pane .context-section", has_text="Why (invitation engine)")
    steps = why.locator("[data-timeline] .why-steps li")
    await expect(steps).to_have_count(4)
    assert await steps.evaluate_all("els => els.map(e => e.dataset.outcome)") == [
        "blocked",
        "unmatched",
        "blocked",
        "blocked",
    ]
    await expect(steps.nth(0)).to_contain_text("outside the rule schedule")
    await expect(steps.nth(1)).to_contain_text("no longer matches")
    await expect(steps.nth(3)).to_contain_text("already in a chat")
    await expect(steps.nth(0).locator("time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    # The rule's name is text, not markup.
    await expect(why.locator("[data-timeline] .why-rule")).to_have_text(
        "Big cart <b>after hours</b>"
    )
    await why.scroll_into_view_if_needed()
    await shot(page, "context-why-timeline")
    await visitor.send({"type": "close", "conversation_id": conv["id"]})
    await visitor.expect("closed")
    await visitor.close()
    assert console.errors == [], console.errors
    await console.close()
