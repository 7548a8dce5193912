"""The rule stats screen's funnel over time and "why not", in Chromium
on seeded decisions: matched → past each gate → invited → saw it → accepted → chatted →
converted as SVG bars with exact counts; one visitor's timeline for the rule."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import insert

from invitations.decisions import stage
from server.store.database import open_database
from server.store.decision_tables import decision_changes
from server.store.tables import visitors
from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import MARKETER_EMAIL, MARKETER_PASSWORD, signed_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Per visitor, the outcomes they went through (in order): 10 matched, 3 stopped by the
# site's budget, 2 more without an agent online, 5 invited, 4 saw it, 2 accepted, 1
# chatted and bought.
JOURNEYS = (
    [[("blocked", "fatigue")]] * 3
    + [[("blocked", "agent_offline")]] * 2
    + [[("blocked", "agent_offline"), ("fired", None)]]
    + [[("fired", None), ("shown", None), ("dismissed", None)]] * 2
    + [[("fired", None), ("shown", None), ("accepted", None)]]
    + [
        [
            ("blocked", "fatigue"),
            ("blocked", "agent_offline"),
            ("fired", None),
            ("shown", None),
            ("accepted", None),
            ("chatted", None),
            ("converted", None),
        ]
    ]
)


async def seed(node: BeckonProcess, chat: ChatSite) -> tuple[dict, str]:
    site = chat.site["id"]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/sites/{site}/rules",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
            json={
                "name": "Funnel rule",
                "when": {"fact": "cart.value", "op": "gte", "value": 100},
                "gates": {"require_agent_online": True},
                "variants": [{"id": "a", "text": {"en": "Need a hand?"}}],
            },
        )
    assert response.status_code == 201, response.text
    rule = response.json()
    t0 = int(time.time() * 1000) - 3_600_000
    rows = []
    for n, journey in enumerate(JOURNEYS):
        for k, (outcome, detail) in enumerate(journey):
            rows.append(
                {
                    "site_id": site,
                    "visitor_id": f"vi_funnel{n}",
                    "rule_id": rule["id"],
                    "ts": t0 + n * 60_000 + k * 1000,
                    "outcome": outcome,
                    "detail": detail,
                    "variant_id": "a" if outcome == "fired" else None,
                    "invitation_id": None,
                    "stage": stage(outcome, detail),
                    "sampled": False,
                }
            )
    db = open_database(node.env["BECKON_DATABASE_URL"])
    try:
        async with db.write() as conn:
            await conn.execute(insert(decision_changes), rows)
            await conn.execute(
                insert(visitors),
                [
                    {
                        "id": f"vi_funnel{len(JOURNEYS) - 1}",
                        "site_id": site,
                        "attributes": {},
                        "first_seen_ts": t0,
                        "last_seen_ts": t0,
                    }
                ],
            )
    finally:
        await db.close()
    return rule, f"vi_funnel{len(JOURNEYS) - 1}"


async def test_funnel_chart_and_why_not(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    rule, buyer = await seed(node, chat)
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        page = admin.page
        await admin.goto(f"#rules/{rule['id']}/stats")
        region = page.get_by_role("region", name="Funnel over time")
        chart = region.locator("svg.funnel-chart")
        await expect(chart).to_be_visible()
        counts = {
            step: await chart.locator(f'g[data-step="{step}"] [data-count]').get_attribute(
                "data-count"
            )
            for step in (
                "matched",
                "gate:fatigue",
                "gate:agent_offline",
                "fired",
                "shown",
                "accepted",
                "chatted",
                "converted",
            )
        }
        assert counts == {
            "matched": "10",
            "gate:fatigue": "7",
            "gate:agent_offline": "5",
            "fired": "5",
            "shown": "4",
            "accepted": "2",
            "chatted": "1",
            "converted": "1",
        }
        await expect(chart.locator('g[data-step="matched"]')).to_contain_text(
            "Matched the conditions"
        )
        await expect(chart.locator('g[data-step="gate:agent_offline"]')).to_contain_text(
            "an agent online"
        )
        # Bars are as wide as their share of the first step.
        widths = await chart.locator("rect:nth-of-type(2)").evaluate_all(
            "els => els.map(e => Number(e.getAttribute('width')))"
        )
        assert widths[0] == 420 and widths == sorted(widths, reverse=True)

        await region.get_by_label("Visitor id").fill(buyer)
        await region.get_by_role("button", name="Why not?").click()
        steps = region.locator(".why-not-timeline li")
        await expect(steps).to_have_count(7)
        assert await steps.evaluate_all("els => els.map(e => e.dataset.outcome)") == [
            "blocked",
            "blocked",
            "fired",
            "shown",
            "accepted",
            "chatted",
            "converted",
        ]
        await expect(steps.nth(0)).to_contain_text("needs within the site’s invitation budget")
        await expect(region.locator("[data-why-now]")).to_have_attribute("data-why-now", "unknown")
        await region.scroll_into_view_if_needed()
        await admin.shot("rule-funnel")

        await region.get_by_label("Visitor id").fill("vi_nobody")
        await region.get_by_role("button", name="Why not?").click()
        await expect(region.get_by_role("alert")).to_have_text("no such visitor")
        await admin.no_injection()
    finally:
        await admin.close()
