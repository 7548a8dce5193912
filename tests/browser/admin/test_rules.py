"""The marketer's rule screens in Chromium: the example rule of docs/rules.md built in the form,
the JSON both ways, validation errors at their field, save, live matching count,
backtest chart, versions with a diff, enable, duplicate; the stats page on seeded data
(expected figures computed here, independently)."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import insert

from server.store.database import open_database
from server.store.tables import conversions, invitations
from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import (
    MARKETER_EMAIL,
    MARKETER_PASSWORD,
    UI_TIMEOUT_MS,
    XSS,
    signed_in,
)
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
DAY_MS = 86_400_000


def conditions(page: Page) -> Locator:
    return page.locator(".cond")


async def set_condition(row: Locator, fact: str, op: str, value: str | None) -> None:
    await row.get_by_label("Fact").select_option(fact)
    await row.get_by_label("Operator").select_option(op)
    if value is not None:
        await row.get_by_label("Value").fill(value)


async def rule_json(page: Page) -> dict[str, Any]:
    return json.loads(await page.get_by_label("Rule JSON").input_value())


async def test_marketer_builds_the_spec_example(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    page = admin.page
    try:
        await page.get_by_role("link", name="New rule").click()
        await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        await page.get_by_label("Rule name").fill(f"Hesitating with a big cart {XSS}")
        await page.get_by_label("Priority").fill("10")
        await page.get_by_label("Holdout %").fill("10")
        when = page.get_by_role("region", name="When")
        await set_condition(conditions(page).nth(0), "page.path", "glob", "/checkout*")
        await when.get_by_role("button", name="Add condition").click()
        await set_condition(conditions(page).nth(1), "cart.value", "gte", "100")
        await when.get_by_role("button", name="Add condition").click()
        await set_condition(conditions(page).nth(2), "page.time_s", "gte", "30")
        await when.get_by_role("button", name="Add NOT").click()  # visitor.chats > 0
        gates = page.get_by_role("region", name="Gates")
        await gates.get_by_label("Department", exact=True).select_option("sales")
        await gates.get_by_label("Only in these hours").check()
        await gates.get_by_label("Days between invitations").fill("7")
        await gates.get_by_label("Pause after a dismissal (s)").fill("86400")
        variants = page.get_by_role("region", name="Variants")
        await variants.get_by_label("Weight").fill("50")
        await variants.get_by_label("Text (en)").fill("Need a hand with your order?")
        await variants.get_by_label("Add a language").select_option("hr")
        await variants.get_by_label("Text (hr)").fill("Trebate li pomoć s narudžbom?")
        await variants.get_by_role("button", name="Add variant").click()
        second = variants.locator(".variant").nth(1)
        await second.get_by_label("Text (en)").fill(
            "Orders over €150 ship free — any questions, {visitor.name|there}? " + XSS
        )

        # The JSON view follows the form.
        expected_when = {
            "all": [
                {"fact": "page.path", "op": "glob", "value": "/checkout*"},
                {"fact": "cart.value", "op": "gte", "value": 100},
                {"fact": "page.time_s", "op": "gte", "value": 30},
                {"not": {"fact": "visitor.chats", "op": "gt", "value": 0}},
            ]
        }
        body = await rule_json(page)
        assert body["when"] == expected_when
        assert body["gates"] == {
            "require_agent_online": True,
            "max_per_visit": 1,
            "department": "sales",
            "schedule": {
                "timezone": "Europe/Zagreb",
                "windows": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00"}
                ],
            },
            "min_days_between": 7,
            "cooldown_after_dismiss_s": 86400,
        }
        assert body["holdout_pct"] == 10 and body["priority"] == 10
        assert [(v["id"], v["weight"], sorted(v["text"])) for v in body["variants"]] == [
            ("a", 50, ["en", "hr"]),
            ("b", 50, ["en"]),
        ]
        await expect(page.locator("[data-valid]")).to_have_text("Valid")

        # A bad value: the server's message appears at that very field.
        cart_value = conditions(page).nth(1).get_by_label("Value")
        await cart_value.fill("lots")
        error = page.locator('.field-error[data-path="when.all[1].value"]')
        await expect(error).to_have_text("expected a number for cart.value")
        assert await cart_value.evaluate("el => el.classList.contains('invalid')")
        await admin.shot("rule-editor-error")
        await cart_value.fill("100")
        await expect(error).to_have_count(0)
        await expect(page.locator("[data-valid]")).to_have_text("Valid")

        await page.get_by_role("button", name="Save rule").click()
        await expect(page).to_have_url(re.compile(r".*/admin/#rules/rl_[\w-]+$"))
        await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        await expect(
            page.get_by_role("heading", name=f"Hesitating with a big cart {XSS}")
        ).to_be_visible()
        await admin.shot("rule-editor")

        # The JSON side drives the form: a simpler `when`, so a visitor matches now.
        body = await rule_json(page)
        body["when"] = {"all": [{"fact": "page.path", "op": "glob", "value": "/checkout*"}]}
        # No schedule or agent gates, so the replay fires whatever the hour.
        body["gates"] = {"require_agent_online": False, "max_per_visit": 1}
        body["holdout_pct"] = 0  # this one visitor might otherwise be held out
        await page.get_by_label("Rule JSON").fill(json.dumps(body, indent=2, ensure_ascii=False))
        await expect(conditions(page)).to_have_count(1)
        await expect(conditions(page).nth(0).get_by_label("Value")).to_have_value("/checkout*")
        await expect(page.get_by_label("Only in these hours")).not_to_be_checked()
        live = page.locator("[data-matching]")
        await expect(live).to_have_attribute("data-matching", "0", timeout=UI_TIMEOUT_MS)
        visitor, _ = await chat.visitor(page={"url": "https://shop.example.com/checkout"})
        try:
            await expect(live).to_have_attribute("data-matching", "1", timeout=UI_TIMEOUT_MS)
            await expect(live).to_contain_text("1 of 1 online visitor match now (exact count)")
            await expect(live).to_contain_text("would be invited now")
            # The predicted wait (Erlang C) of the rule's department, with its inputs.
            wait = page.get_by_role("region", name="Predicted wait")
            await expect(wait).to_contain_text("a chat starting now would wait")
            await expect(wait).to_contain_text("chat slots")

            # Backtest over today's recorded visits: a chart against agent capacity.
            backtest = page.get_by_role("region", name="Backtest")
            await backtest.get_by_label("Agent capacity / hour").fill("5")
            deadline = time.monotonic() + 15
            while True:  # the visit log is written in batches; retry until it has landed
                await backtest.get_by_role("button", name="Run backtest").click()
                done = backtest.locator("[data-backtest=done]")
                try:
                    await expect(done).to_have_count(1, timeout=2000)
                    break
                except AssertionError:
                    if time.monotonic() > deadline:
                        raise
            await expect(backtest.locator(".chart canvas")).to_have_count(1)
            await backtest.scroll_into_view_if_needed()
            await admin.shot("rule-backtest")
            await expect(backtest.locator(".kpi").filter(has_text="Would show")).to_contain_text(
                "1"
            )
        finally:
            await visitor.close()

        # A new version, and its diff against the first.
        await page.get_by_role("button", name="Save new version").click()
        versions = page.get_by_role("region", name="Versions")
        await expect(versions.locator(".card")).to_have_count(2, timeout=UI_TIMEOUT_MS)
        await versions.get_by_role("button", name="Diff with v1").click()
        diff = versions.get_by_label("Differences")
        await expect(diff.locator(".diff-del").filter(has_text='"cart.value"')).to_have_count(1)
        await admin.shot("rule-versions")

        status = page.get_by_role("region", name="Status")
        await status.get_by_role("button", name="Enable").click()
        await expect(status.get_by_role("button", name="Disable")).to_be_visible()
        await page.get_by_role("link", name="Duplicate").click()
        await expect(page.get_by_label("Rule name")).to_have_value(
            f"Hesitating with a big cart {XSS} (copy)"
        )
        await admin.goto("#rules")
        await expect(
            page.get_by_label(f"Enabled: Hesitating with a big cart {XSS}")
        ).to_be_checked()
        await admin.shot("rules")
        await admin.no_injection()
    finally:
        await admin.close()


def _wilson(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _fmt(v: float) -> str:
    sign = "+" if v > 0 else "−" if v < 0 else "±"
    text = f"{abs(v):.1f}"
    return sign + (text[:-2] if text.endswith(".0") else text)


async def test_stats_page_shows_funnel_and_uplift(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    site = chat.site["id"]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/sites/{site}/rules",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "name": f"Stats rule {XSS}",
                "when": {"all": [{"fact": "page.time_s", "op": "gte", "value": 5}]},
                "holdout_pct": 30,
                "variants": [
                    {"id": "a", "weight": 50, "text": {"en": f"A {XSS}"}},
                    {"id": "b", "weight": 50, "text": {"en": "B"}},
                ],
            },
        )
        assert response.status_code == 201, response.text
        rule = response.json()
    t0 = int(time.time() * 1000) - DAY_MS
    rows, sales = [], []

    def invite(visitor: str, variant: str | None, status: str, shown: bool) -> None:
        rows.append(
            {
                "id": f"in_{visitor}",
                "site_id": site,
                "visitor_id": visitor,
                "rule_id": rule["id"],
                "rule_version": 1,
                "variant_id": variant,
                "status": status,
                "created_ts": t0,
                "shown_ts": t0 + 1000 if shown else None,
            }
        )

    def sale(visitor: str, value: float, variant: str | None, held_out: bool) -> None:
        sales.append(
            {
                "id": f"cv_{visitor}",
                "site_id": site,
                "visitor_id": visitor,
                "ts": t0 + 3_600_000,
                "value": value,
                "currency": "EUR",
                "order_id": f"o_{visitor}",
                "invitation_id": None if held_out else f"in_{visitor}",
                "rule_id": rule["id"],
                "rule_version": 1,
                "variant_id": variant,
                "held_out": held_out,
            }
        )

    for i in range(10):  # variant a: 6 accepted, 2 dismissed, 2 expired; 5 buy
        invite(f"va{i}", "a", (["accepted"] * 6 + ["dismissed"] * 2 + ["expired"] * 2)[i], True)
        if i < 5:
            sale(f"va{i}", 100.0, "a", False)
    for i in range(10):  # variant b: 3 accepted, 5 dismissed, 2 withdrawn unseen; 3 buy
        status = (["accepted"] * 3 + ["dismissed"] * 5 + ["withdrawn"] * 2)[i]
        invite(f"vb{i}", "b", status, status != "withdrawn")
        if i < 3:
            sale(f"vb{i}", 50.0, "b", False)
    for i in range(10):  # holdout: 1 of 10 buys
        invite(f"vh{i}", "a", "held_out", False)
    sale("vh0", 80.0, None, True)
    db = open_database(node.env["BECKON_DATABASE_URL"])
    try:
        async with db.write() as conn:
            await conn.execute(insert(invitations), rows)
            await conn.execute(insert(conversions), sales)
    finally:
        await db.close()

    # Independently: invited 8/20 = 40 %, holdout 1/10 = 10 %, Newcombe's interval.
    p1, p2 = 8 / 20, 1 / 10
    (l1, u1), (l2, u2) = _wilson(8, 20), _wilson(1, 10)
    diff = (p1 - p2) * 100
    low = (p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)) * 100
    high = (p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)) * 100
    verdict = (
        f"Invited visitors: {_fmt(diff)} pp conversion, interval {_fmt(low)} … {_fmt(high)} pp."
    )

    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        page = admin.page
        await admin.goto(f"#rules/{rule['id']}/stats")
        await expect(page.get_by_role("heading", name=f"Results: Stats rule {XSS}")).to_be_visible()
        await expect(page.locator("[data-verdict]")).to_contain_text(verdict)
        # With 20 and 10 visitors the interval still spans zero (−5.4 … +52.9 pp).
        assert low < 0 < high
        await expect(page.locator("[data-verdict]")).to_contain_text(
            "Not distinguishable from no effect yet."
        )
        funnel = page.get_by_role("region", name="Funnel per variant")
        cells = [
            await r.locator("td").all_inner_texts() for r in await funnel.locator("tbody tr").all()
        ]
        assert [c[:3] + c[3:6] for c in cells] == [
            ["a", "10", "10 100 %", "6 60 %", "2", "2"],
            ["b", "10", "8 80 %", "3 37.5 %", "5", "0"],
        ]
        assert [c[7] for c in cells] == ["5 50 %", "3 37.5 %"]
        assert [c[8] for c in cells] == ["500.00 EUR", "150.00 EUR"]
        kpis = page.locator(".kpi")
        await expect(kpis.filter(has_text="Invited visitors")).to_contain_text("8 converted · 40 %")
        await expect(kpis.filter(has_text="Holdout visitors")).to_contain_text("1 converted · 10 %")
        by_day = page.get_by_role("region", name="By day")
        await expect(by_day.locator(".chart canvas")).to_have_count(1)
        # The x axis ticks by whole days (dates), never by hours.
        ticks = (await by_day.locator(".chart").get_attribute("data-ticks") or "").split("|")
        assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", t) for t in ticks), ticks
        await admin.shot("rule-stats")
        await admin.no_injection()
    finally:
        await admin.close()


async def test_backtest_of_every_rule_lists_each_visitors_decisions(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    site = chat.site["id"]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/sites/{site}/rules",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "name": "Everyone, at once",
                "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
                "gates": {"max_per_visit": 1},
                "variants": [{"id": "a", "text": {"en": "Hello"}}],
            },
        )
        assert response.status_code == 201, response.text
    visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/all"})
    await visitor.expect("invitation")
    await visitor.close()
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        await admin.goto("#rules")
        region = admin.page.get_by_role("region", name="Backtest all rules")
        deadline = time.monotonic() + 15
        while True:  # the visit log is written in batches; retry until it has landed
            await region.get_by_role("button", name="Apply").click()
            try:
                await expect(region).to_contain_text(welcome["visitor_id"], timeout=2000)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        await expect(region).to_contain_text("Everyone, at once: invited")
    finally:
        await admin.close()
