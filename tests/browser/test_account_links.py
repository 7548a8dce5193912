"""Account emails in real Chromium with a real SMTP server (aiosmtpd): an admin invites
a teammate from the team screen → the email arrives → the teammate opens the link,
chooses a password and signs in to the console with it; "Forgot password?" on the
console's sign-in page → the email → the new password works, the old one and the used
link do not. Both confirmations say nothing about whether the address has an account."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.browser.admin.conftest import open_admin, signed_in
from tests.browser.console.conftest import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    UI_TIMEOUT_MS,
    open_console,
    shot,
    sign_in,
)
from tests.chat_setup import ChatSite, make_chat_site
from tests.mail_fixtures import mail_node, started_sink
from tests.smtp_sink import Received, SmtpSink

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
NEUTRAL = "If this address has an account, an email with a link to choose a new password"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sink() -> AsyncIterator[SmtpSink]:
    async with started_sink() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory, sink: SmtpSink) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with mail_node(tmp_path_factory.mktemp("account-ui"), sink) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, agent_email=AGENT_EMAIL)


def link_of(got: Received, node: BeckonProcess) -> str:
    text = got.part("plain")
    match = re.search(re.escape(node.url) + r"/account/password#token=[A-Za-z0-9_-]+", text)
    assert match, text
    return match.group(0)


async def choose_password(page: Page, link: str, password: str) -> None:
    await page.goto(link)
    await page.get_by_label("New password").fill(password)
    await page.get_by_role("button", name="Save password").click()
    await expect(page.locator("#m")).to_have_text("Saved. You can sign in now at /agent/.")


async def test_invite_a_teammate_who_chooses_a_password_and_signs_in(
    browser: Browser, node: BeckonProcess, sink: SmtpSink, chat: ChatSite
) -> None:
    admin = await signed_in(browser, node.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        page = admin.page
        await admin.goto("#team")
        invite = page.get_by_role("region", name="Invite a teammate")
        await invite.get_by_label("Name").fill("Nika <b>")
        await invite.get_by_label("Email", exact=True).fill("not an address")
        await invite.get_by_role("button", name="Send invitation").click()
        await expect(page.locator('.field-error[data-path="email"]')).to_be_visible()
        await invite.get_by_label("Email", exact=True).fill("nika@example.com")
        await invite.get_by_label("Email language").select_option("hr")
        await invite.get_by_role("button", name="Send invitation").click()
        await expect(page.locator("#toasts")).to_contain_text(
            "Invitation on its way to nika@example.com"
        )
        await expect(page.get_by_role("region", name="People")).to_contain_text("Nika <b>")
        await admin.shot("team-invite")
        await admin.no_injection()
    finally:
        await admin.close()
    (got,) = await sink.wait_for(1)
    assert got.rcpt_tos == ["nika@example.com"]
    assert got.message["Content-Language"] == "hr"
    link = link_of(got, node)
    context = await browser.new_context()
    try:
        await choose_password(await context.new_page(), link, "nika's own password")
        again = await context.new_page()
        await again.goto(link)
        await again.get_by_label("New password").fill("another password 2")
        await again.get_by_role("button", name="Save password").click()
        await expect(again.locator("#m")).to_have_text("this link is invalid, used or expired")
    finally:
        await context.close()
    console = await sign_in(browser, node.url, "nika@example.com", "nika's own password")
    assert console.errors == []
    await console.close()


async def test_forgot_password_from_the_console_sign_in(
    browser: Browser, node: BeckonProcess, sink: SmtpSink, chat: ChatSite
) -> None:
    before = len(sink.received)
    console = await open_console(browser, node.url)
    page = console.page
    await expect(page.locator("#signin")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_role("button", name="Forgot password?").click()
    address = page.get_by_label("Your account’s address")
    await expect(address).to_have_value(AGENT_EMAIL)  # taken from the sign-in form
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.locator("#forgot-note")).to_contain_text(NEUTRAL)
    await shot(page, "forgot-password")
    # An address without an account gets the very same words (and no email).
    await address.fill("nobody@example.com")
    await address.press("Enter")  # asks for the link; does not submit the sign-in form
    await expect(page.locator("#forgot-note")).to_contain_text(NEUTRAL)
    await expect(page.locator("#signin-error")).to_be_hidden()
    got = (await sink.wait_for(before + 1))[before]
    assert got.rcpt_tos == [AGENT_EMAIL]
    link = link_of(got, node)
    await choose_password(await console.context.new_page(), link, "a brand new password")
    # The old password no longer works; the new one does; the link is spent.
    await page.get_by_label("Password", exact=True).fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signin-error")).to_have_text("Wrong email or password.")
    await page.get_by_label("Password", exact=True).fill("a brand new password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#console")).to_be_visible(timeout=UI_TIMEOUT_MS)
    reused = await console.context.new_page()
    await reused.goto(link)
    await reused.get_by_label("New password").fill("yet another password")
    await reused.get_by_role("button", name="Save password").click()
    await expect(reused.locator("#m")).to_have_text("this link is invalid, used or expired")
    assert len(sink.received) == before + 1  # nobody@example.com got nothing
    assert console.errors == []
    await console.close()


async def test_forgot_password_from_the_admin_sign_in(
    browser: Browser, node: BeckonProcess, sink: SmtpSink
) -> None:
    before = len(sink.received)
    admin = await open_admin(browser, node.url)
    page = admin.page
    await expect(page.locator("#signin")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await page.get_by_role("button", name="Forgot password?").click()
    await page.get_by_label("Your account’s address").fill(ADMIN_EMAIL)
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.locator("#forgot-note")).to_contain_text(NEUTRAL)
    got = (await sink.wait_for(before + 1))[before]
    assert got.rcpt_tos == [ADMIN_EMAIL]
    await choose_password(await admin.context.new_page(), link_of(got, node), "admin anew 12345")
    await page.get_by_label("Email").fill(ADMIN_EMAIL)
    await page.get_by_label("Password", exact=True).fill("admin anew 12345")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#admin")).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert admin.errors == []
    await admin.close()
