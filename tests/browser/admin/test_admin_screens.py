"""The admin in Chromium: sign-in and roles, CSP, sites, team, reports, webhooks —
markup in names renders as text on every screen; screenshots go to the run's screenshot
folder (tests/screenshots.py)."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.admin.conftest import (
    MARKETER_EMAIL,
    MARKETER_PASSWORD,
    UI_TIMEOUT_MS,
    XSS,
    sign_in,
    signed_in,
)
from tests.chat_setup import ChatSite
from tests.webhook_receiver import Receiver, verify

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
ADMIN = ("admin@example.com", "correct horse battery")


async def test_csp_and_sign_in_screen(browser: Browser, node: BeckonProcess) -> None:
    admin = await sign_in(browser, node.url, "admin@example.com", "wrong password!")
    try:
        page = admin.page
        await expect(page.locator("#signin-error")).to_have_text("Wrong email or password.")
        csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute(
            "content"
        )
        assert csp is not None
        for part in ("default-src 'none'", "script-src 'self'", "style-src 'self'"):
            assert part in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        # No inline script anywhere: every <script> has a src.
        assert await page.locator("script:not([src])").count() == 0
        await admin.shot("signin")
        assert admin.errors == []
    finally:
        await admin.close()


async def test_agents_get_a_no_access_screen(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await sign_in(browser, node.url, "agent@example.com", "agent password 1")
    try:
        await expect(
            admin.page.get_by_role("heading", name="No access to the admin")
        ).to_be_visible(timeout=UI_TIMEOUT_MS)
        await expect(admin.page.locator("#noaccess-text")).to_contain_text("Ana (agent)")
        assert await admin.page.locator("#admin").is_hidden()
        await admin.shot("no-access")
    finally:
        await admin.close()


async def test_marketers_see_rules_and_reports_only(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        page = admin.page
        visible = [
            await page.locator(f"#nav-{n}").is_visible()
            for n in ("sites", "team", "rules", "reports", "webhooks")
        ]
        assert visible == [False, False, True, True, False]
        await expect(page.locator("#view")).to_have_attribute("data-screen", "rules")
        await admin.goto("#team")
        await expect(page.locator("#view")).to_contain_text("Your role cannot open this screen.")
        await admin.no_injection()
    finally:
        await admin.close()


async def test_sites_screen(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        await expect(page.locator("#view")).to_have_attribute("data-screen", "sites")
        # The site's name, markup included, is text in the list and in the picker.
        await expect(page.get_by_role("link", name=f"Shop {XSS}")).to_be_visible()
        await expect(page.locator("#site-select option", has_text=f"Shop {XSS}")).to_have_count(1)
        await admin.shot("sites")
        await page.get_by_role("link", name=f"Shop {XSS}").click()
        await expect(page.get_by_role("heading", name=f"Shop {XSS}")).to_be_visible()
        snippet = page.get_by_label("Snippet")
        await expect(snippet).to_contain_text(f'data-site="{chat.site["key"]}"')
        await expect(page.get_by_label("user_hash sample")).to_contain_text(
            chat.site["identity_secret"]
        )
        # A bad origin: the server's message appears at the origins field.
        origins = page.get_by_label("Allowed origins")
        await origins.fill("https://shop.example.com\nnot an origin")
        await page.get_by_role("button", name="Save changes").click()
        error = page.locator('.field-error[data-path="allowed_origins.1"]')
        await expect(error).to_contain_text("an origin is scheme://host[:port]")
        assert await origins.evaluate("el => el.classList.contains('invalid')")
        # A wildcard over a public suffix is refused with the server's reason.
        await origins.fill("https://shop.example.com\nhttps://*.co.uk")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator('.field-error[data-path="allowed_origins.1"]')).to_contain_text(
            "'co.uk' is a public suffix"
        )
        await origins.fill("https://shop.example.com")
        await page.get_by_label("Attribution window (days)").fill("14")
        await page.get_by_label("Count conversions the widget reports").check()
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator(".toast")).to_contain_text("Site saved")
        await admin.shot("site-settings")
        async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
            site = (
                await client.get(
                    f"/api/v1/sites/{chat.site['id']}",
                    headers={"Authorization": f"Bearer {chat.admin_token}"},
                )
            ).json()
        assert site["settings"]["attribution_window_days"] == 14
        assert site["settings"]["trust_client_conversions"] is True
        assert site["name"] == f"Shop {XSS}"
        await admin.no_injection()
    finally:
        await admin.close()


async def test_team_screen(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        await admin.goto("#team")
        people = page.get_by_role("region", name="People")
        await expect(people).to_contain_text("Mia Marketer")
        await people.get_by_label("Name", exact=True).fill(f"Zed {XSS}")
        await people.get_by_label("Email").fill("zed@example.com")
        await people.get_by_label("Password").fill("short")
        await page.get_by_role("button", name="Add person").click()
        await expect(page.locator('.field-error[data-path="password"]')).to_contain_text(
            "at least 10 characters"
        )
        await people.get_by_label("Password").fill("long enough password")
        await page.get_by_role("button", name="Add person").click()
        await expect(people).to_contain_text(f"Zed {XSS}")
        await page.get_by_label("Token name").fill("CRM")
        await page.get_by_role("button", name="Create token").click()
        secret = page.locator("[data-secret]")
        await expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
        await admin.shot("team")
        await admin.no_injection()
    finally:
        await admin.close()


async def test_webhooks_screen(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    receiver = Receiver()
    await receiver.start()
    admin = await signed_in(browser, node.url, *ADMIN)
    try:
        page = admin.page
        await page.locator("#site-select").select_option(label=f"Shop {XSS}")
        await admin.goto("#webhooks")
        await expect(page.get_by_role("heading", name=f"Webhooks — Shop {XSS}")).to_be_visible()
        await page.get_by_label("Endpoint URL").fill("ftp://example.com/")
        await page.get_by_role("button", name="Add webhook").click()
        await expect(page.locator('.field-error[data-path="url"]')).to_have_text(
            "the URL must start with https:// or http://"
        )
        await page.get_by_label("Endpoint URL").fill(receiver.url)
        await page.get_by_label("Description").fill(f"CRM {XSS}")
        await page.get_by_label("survey.submitted").check()
        await page.get_by_role("button", name="Add webhook").click()
        secret = await page.locator("[data-secret]").text_content()
        assert secret and secret.startswith("whsec_")
        endpoints = page.get_by_role("region", name="Endpoints")
        await expect(endpoints).to_contain_text(f"CRM {XSS}")
        await expect(endpoints).to_contain_text("…" + secret[-4:])
        await endpoints.get_by_role("button", name="Send test").click()
        log = page.get_by_role("region", name="Delivery log")
        await expect(log.locator(".status-delivered")).to_have_count(1, timeout=UI_TIMEOUT_MS)
        await expect(log).to_contain_text("200")
        got = await receiver.wait_for(lambda rs: len(rs) >= 1)
        assert verify(secret, got[0]) and got[0].headers["x-beckon-event"] == "webhook.test"
        await admin.shot("webhooks")
        # Pause shows who paused it; resume sends again.
        await endpoints.get_by_role("button", name="Pause").click()
        await expect(endpoints.locator(".hook-paused")).to_have_text("Paused")
        await expect(endpoints).to_contain_text(f"paused by {ADMIN[0]}")
        await endpoints.get_by_role("button", name="Resume").click()
        await expect(endpoints.locator(".hook-sending")).to_have_text("Sending")
        # Shown once: after a reload the secret is nowhere on the page.
        await page.reload()
        await expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        assert secret not in (await page.content())
        await admin.no_injection()
    finally:
        await admin.close()
        await receiver.stop()


async def test_reports_screen(browser: Browser, node: BeckonProcess, chat: ChatSite) -> None:
    from server.store.database import open_database
    from tests.integration.test_reports import seed

    db = open_database(node.env["BECKON_DATABASE_URL"])
    try:
        await seed(db, chat.site["id"], chat.agent["id"], chat.agent["id"])
    finally:
        await db.close()
    admin = await signed_in(browser, node.url, MARKETER_EMAIL, MARKETER_PASSWORD)
    try:
        page = admin.page
        await admin.goto("#reports")
        await page.get_by_label("From", exact=True).fill("2026-11-23")
        await page.get_by_label("To", exact=True).fill("2026-11-24")
        await page.get_by_role("button", name="Apply").click()
        kpis = page.locator(".kpi")
        await expect(kpis.filter(has_text="Chats").first).to_contain_text("6")
        await expect(kpis.filter(has_text="CSAT")).to_contain_text("50 %")
        await expect(kpis.filter(has_text="NPS")).to_contain_text("25")
        # Thumbs: the share up with its interval named in words; counts in words.
        thumbs = kpis.filter(has_text="Thumbs up")
        await expect(thumbs.locator(".kpi-value")).to_have_text("66.7 %")
        await expect(thumbs.locator(".kpi-sub")).to_have_text(
            "3 answers; 95 % interval 20.8–93.9 % (Wilson score)"
        )
        await expect(kpis.filter(has_text="CES").locator(".kpi-sub")).to_have_text("2 answers")
        await expect(kpis.filter(has_text="Missed").first).to_contain_text(
            "1 no agent, 1 visitor left"
        )
        by_rule = page.get_by_role("region", name="By rule")
        await expect(by_rule).to_contain_text("Big cart <b>x</b>")
        # The CSV link serves the same rows the table shows.
        href = await page.get_by_label("Download days as CSV").get_attribute("href")
        response = await page.request.get(node.url + href)
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [(r["day"], r["chats"]) for r in rows] == [("2026-11-23", "5"), ("2026-11-24", "1")]
        by_day = page.get_by_role("region", name="By day")
        await expect(by_day.locator(".chart canvas")).to_have_count(1)
        # Two days: the x axis ticks by day (dates), never by hours.
        chart = by_day.locator(".chart")
        await expect(chart).to_have_attribute("data-ticks", re.compile(r"Nov"))
        ticks = (await chart.get_attribute("data-ticks") or "").split("|")
        assert all(re.fullmatch(r"Nov \d{1,2}", t) for t in ticks), ticks
        await expect(by_day.locator(".data-table tbody tr")).to_have_count(2)
        await admin.shot("reports")
        await admin.no_injection()
    finally:
        await admin.close()
