"""The rule stats screen's revenue per visitor by variant, in
Chromium on seeded data: per variant the revenue per visitor against the holdout, the
Welch and the always-valid interval and a verdict (figures computed here independently);
a variant that earns clearly less is stopped with one click."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import insert

from server.store.database import open_database
from server.store.tables import conversions, invitations
from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import MARKETER_EMAIL, MARKETER_PASSWORD, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
DAY_MS = 86_400_000
GROUP = 120  # visitors per group: past the 100 the verdict waits for


async def seed(node: BeckonProcess, chat: ChatSite) -> dict:
    """A rule with variants a, b and a holdout. Holdout: half the visitors buy for €50.
    a: half buy for €60. b: nobody buys."""
    site = chat.site["id"]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/sites/{site}/rules",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "name": "Revenue rule",
                "when": {"all": [{"fact": "page.time_s", "op": "gte", "value": 5}]},
                "holdout_pct": 30,
                "variants": [
                    {"id": "a", "weight": 50, "text": {"en": "A"}},
                    {"id": "b", "weight": 50, "text": {"en": "B"}},
                ],
            },
        )
    assert response.status_code == 201, response.text
    rule = response.json()
    t0 = int(time.time() * 1000) - DAY_MS
    rows, sales = [], []
    for group, variant, price in (("h", "a", 50.0), ("a", "a", 60.0), ("b", "b", None)):
        for i in range(GROUP):
            visitor = f"v{group}{i}"
            rows.append(
                {
                    "id": f"in_{visitor}",
                    "site_id": site,
                    "visitor_id": visitor,
                    "rule_id": rule["id"],
                    "rule_version": 1,
                    "variant_id": variant,
                    "status": "held_out" if group == "h" else "dismissed",
                    "created_ts": t0,
                    "shown_ts": None if group == "h" else t0 + 1000,
                }
            )
            if price is not None and i % 2 == 0:
                sales.append(
                    {
                        "id": f"cv_{visitor}",
                        "site_id": site,
                        "visitor_id": visitor,
                        "ts": t0 + 3_600_000,
                        "value": price,
                        "currency": "EUR",
                        "order_id": f"o_{visitor}",
                        "invitation_id": None,
                        "rule_id": None,
                        "rule_version": None,
                        "variant_id": None,
                        "held_out": group == "h",
                    }
                )
    db = open_database(node.env["BECKON_DATABASE_URL"])
    try:
        async with db.write() as conn:
            await conn.execute(insert(invitations), rows)
            await conn.execute(insert(conversions), sales)
    finally:
        await db.close()
    return rule


async def test_revenue_per_variant_and_stopping_the_worse_one(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    rule = await seed(node, chat)
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        page = admin.page
        await admin.goto(f"#rules/{rule['id']}/stats")
        region = page.get_by_role("region", name="Revenue per visitor, by variant")
        rows = region.locator("tbody tr")
        await expect(rows).to_have_count(2)
        # Independently: holdout €25.00 a visitor, a €30.00 (+€5.00), b €0.00 (−€25.00).
        a, b = rows.nth(0), rows.nth(1)
        await expect(a.locator("td").nth(2)).to_have_text("30.00 EUR")
        await expect(a.locator("td").nth(3)).to_have_text("+5.00 EUR")
        await expect(b.locator("td").nth(2)).to_have_text("0.00 EUR")
        await expect(b.locator("td").nth(3)).to_have_text("−25.00 EUR")
        await expect(a.locator("[data-revenue-verdict]")).to_have_text("Not clear yet")
        await expect(b.locator("[data-revenue-verdict]")).to_have_text("Earns less")
        await expect(region).to_contain_text("Welch")
        await expect(region).to_contain_text("always-valid interval (mSPRT)")
        await admin.shot("rule-revenue")

        await b.get_by_role("button", name="Stop variant b").click()
        await expect(
            page.get_by_role("status").filter(has_text="Variant b stopped")
        ).to_be_visible()
        await expect(b.locator("td").last).to_have_text("Stopped")
        # Only one variant runs now: it cannot be stopped (the rule can be disabled).
        await expect(a.get_by_role("button", name="Stop variant a")).to_have_count(0)
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
            saved = (
                await client.get(
                    f"/api/v1/sites/{chat.site['id']}/rules/{rule['id']}",
                    headers={"Authorization": f"Bearer {chat.admin_token}"},
                )
            ).json()
        assert saved["version"] == rule["version"] + 1
        assert [(v["id"], v["weight"]) for v in saved["variants"]] == [("a", 50), ("b", 0)]
        await admin.no_injection()
        assert admin.errors == []
    finally:
        await admin.close()
