"""The whole email loop in real Chromium, with a real SMTP server (aiosmtpd)
and `beckon mail-in`: a visitor leaves a message with nobody online → the agent answers
from the console's inbox → the email arrives on the SMTP server → the visitor replies by
email (an SMTP client to `beckon mail-in`) → the reply appears in the console, the item
back on the list → the visitor returns to the site and the widget shows the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from server.mail import addresses
from tests.beckon_process import TEST_SECRET, BeckonProcess
from tests.browser.console.conftest import AGENT_EMAIL, set_status, shot, sign_in, start_chat
from tests.browser.widget.hosting import HostSite, page
from tests.browser.widget.parties import (
    WAIT_MS,
    agent_offline,
    agent_online,
    agent_take,
    allow_origin,
    keep_screenshot,
    open_tab,
)
from tests.chat_setup import make_chat_site
from tests.integration.test_mail_out import identity
from tests.mail_fixtures import mail_in_listener, mail_node, started_sink
from tests.smtp_sink import SmtpSink
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sink() -> AsyncIterator[SmtpSink]:
    async with started_sink() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory, sink: SmtpSink) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with mail_node(tmp_path_factory.mktemp("mail-loop"), sink) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mail_in(node: BeckonProcess) -> AsyncIterator[int]:
    async with mail_in_listener(node) as port:
        yield port


def visitor_reply(sent: EmailMessage, text: str) -> EmailMessage:
    """What a mail client sends when the visitor answers `sent`: quoted below."""
    msg = EmailMessage()
    msg["From"] = "Iva <iva@example.com>"
    msg["To"] = sent["Reply-To"]
    msg["Subject"] = f"Re: {sent['Subject']}"
    msg["Message-ID"] = "<reply-1@example.com>"
    msg["In-Reply-To"] = sent["Message-ID"]
    msg["References"] = f"{sent['References']} {sent['Message-ID']}"
    msg.set_content(f"{text}\n\nOn Monday, Shop wrote:\n> Yes — in two days.\n")
    return msg


async def test_answer_by_email_reply_by_email_seen_on_return(
    browser: Browser, node: BeckonProcess, sink: SmtpSink, mail_in: int
) -> None:
    chat = await make_chat_site(node, agent_email=AGENT_EMAIL)
    host = HostSite()
    host.start()
    try:
        await allow_origin(chat, host.origin)
        html = page(node.url + "/widget.js", chat.site["key"])
        host.pages["/shop"] = html
        host.pages["/other"] = html
        # 1. Nobody online: the visitor leaves a message and goes.
        visitor = await open_tab(browser, host.origin + "/shop")
        await visitor.shadow("button.l").click()
        form = visitor.shadow("form.f")
        await form.locator("input[name=name]").fill("Iva")
        await form.locator("input[name=email]").fill("iva@example.com")
        await form.locator("textarea[name=text]").fill("Do you ship to Ljubljana?")
        await form.locator("button[type=submit]").click()
        await visitor.received_matching(lambda f: f.get("type") == "offline_message_saved")
        await visitor.page.close()
        # 2. The agent answers from the console's inbox.
        console = await sign_in(browser, node.url)
        cpage = console.page
        await expect(cpage.locator("#nav-inbox-count")).to_have_text("1", timeout=WAIT_MS)
        await cpage.locator("#nav-inbox").click()
        row = cpage.locator("#view-inbox tr", has_text="Do you ship to Ljubljana?")
        await row.click()
        await cpage.locator("#inbox-reply-text").fill("Yes — in two days.")
        await cpage.locator("#inbox-reply-send").click()
        await expect(row.locator(".chip")).to_have_text("waiting")
        # 3. The email arrives on the SMTP server, threaded, with a signed Reply-To.
        (got,) = await sink.wait_for(1)
        sent = got.message
        assert got.rcpt_tos == ["iva@example.com"]
        assert sent["To"] == "Iva <iva@example.com>"
        assert "Yes — in two days." in got.part("plain")
        reply_to = sent["Reply-To"].addresses[0].addr_spec
        conversation_id = addresses.conversation_of_address(TEST_SECRET, reply_to)
        assert conversation_id is not None
        assert sent["In-Reply-To"] == addresses.thread_root(
            TEST_SECRET, conversation_id, "shop.test"
        )
        # 4. The visitor answers by email, through `beckon mail-in`.
        await aiosmtplib.send(
            visitor_reply(sent, "Great, please send it to Tivolska 5."),
            hostname="127.0.0.1",
            port=mail_in,
        )
        # 5. The console shows it: the item is back on the list, the reply in its thread.
        await cpage.locator("#view-inbox form.filters button[type=submit]").click()
        await expect(row.locator(".chip")).to_have_text("assigned", timeout=WAIT_MS)
        await row.click()
        reader = cpage.locator("#inbox-reader")
        await expect(reader.locator(".msg-visitor").last).to_contain_text(
            "Great, please send it to Tivolska 5."
        )
        await expect(reader).not_to_contain_text("On Monday, Shop wrote")  # quote trimmed
        await shot(cpage, "inbox-email-reply")
        await reader.get_by_role("button", name="Send transcript").click()
        transcript = (await sink.wait_for(2))[1]
        assert transcript.rcpt_tos == ["iva@example.com"]
        assert "Tivolska 5" in transcript.part("plain")
        # 6. The visitor returns to the site: the widget shows the agent's answer.
        back = await visitor.context.new_page()
        visitor.page = back
        await back.goto(host.origin + "/other")
        await expect(visitor.shadow(".badge")).to_have_text("1", timeout=WAIT_MS)
        await visitor.shadow("button.l").click()
        await expect(visitor.shadow(".m.a").filter(has_text="Yes — in two days.")).to_be_visible()
        await expect(
            visitor.shadow(".m.v").filter(has_text="Tivolska 5")
        ).to_be_visible()  # and their own email reply, in the same thread
        assert len(sink.received) == 2  # the answer and the transcript, once each
        assert console.errors == []
        assert visitor.errors == []
        await console.close()
        await visitor.context.close()
    finally:
        host.stop()


async def test_the_agent_sends_the_transcript_from_the_console(
    browser: Browser, node: BeckonProcess, sink: SmtpSink
) -> None:
    chat = await make_chat_site(node, agent_email="tara@example.com")
    console = await sign_in(browser, node.url, "tara@example.com")
    page = console.page
    await set_status(page, "online")
    who = identity(chat, "t-1", "tom@example.com", "Tom")
    visitor, _ = await start_chat(chat, "Where is parcel 42?", identity=who)
    await expect(page.locator(".chat-title")).to_have_text("Tom", timeout=WAIT_MS)
    before = len(sink.received)
    await page.get_by_role("button", name="Send transcript").click()
    await expect(page.locator("#toasts")).to_contain_text("Transcript emailed to the visitor.")
    got = (await sink.wait_for(before + 1))[before]
    assert got.rcpt_tos == ["tom@example.com"]
    assert "Where is parcel 42?" in got.part("plain")
    # A visitor who left no address: the console says so, nothing is sent.
    anonymous, cid = await start_chat(chat, "No address here")
    await page.locator(f'#chat-list [data-conversation="{cid}"]').click()
    await expect(page.locator(".chat-title")).not_to_have_text("Tom")
    await page.get_by_role("button", name="Send transcript").click()
    await expect(page.locator("#toasts")).to_contain_text(
        "Could not send the transcript: the visitor left no email address"
    )
    assert len(sink.received) == before + 1
    # The inbox's opt-in for an email about new items.
    await page.locator("#nav-inbox").click()
    await page.get_by_label("Email me new items").check()
    await expect(page.locator("#toasts")).to_contain_text("You will get an email about new inbox")
    async with httpx.AsyncClient(
        base_url=node.url, headers={"Authorization": f"Bearer {chat.agent_token}"}
    ) as api:
        prefs = (await api.get("/api/v1/me/mail-preferences")).json()
    assert prefs["inbox_email"] is True
    assert console.errors == []
    for client in (visitor, anonymous):
        await client.close()
    await console.close()


async def test_the_visitor_asks_for_the_transcript_at_the_end_of_a_chat(
    browser: Browser, node: BeckonProcess, sink: SmtpSink
) -> None:
    chat = await make_chat_site(node, agent_email="leo@example.com")
    who = identity(chat, "lea-1", "lea@example.com", "Lea")
    stub = f"<script>window.Beckon = {{q: [['identify', {json.dumps(who)}]]}};</script>"
    host = HostSite()
    host.start()
    try:
        await allow_origin(chat, host.origin)
        host.pages["/shop"] = page(node.url + "/widget.js", chat.site["key"], head=stub)
        agent = await agent_online(chat)
        visitor = await open_tab(browser, host.origin + "/shop")
        await visitor.shadow("button.l").click()
        composer = visitor.shadow("textarea")
        await composer.fill("Is size 38 back in stock?")
        await composer.press("Enter")
        conv_id = await agent_take(agent)
        await agent.request(
            {"type": "message", "conversation_id": conv_id, "text": "Friday!", "client_msg_id": "a"}
        )
        await agent.request({"type": "close", "conversation_id": conv_id})
        offer = visitor.shadow("button").filter(has_text="Email me the transcript")
        await expect(offer).to_be_visible(timeout=WAIT_MS)
        await offer.click()
        await expect(
            visitor.shadow(".sys").filter(has_text="The transcript is on its way to your email.")
        ).to_be_visible()
        await expect(offer).to_be_disabled()

        # (Other tests' agents may get inbox digests here meanwhile: only Lea's mail counts.)
        async def to_lea() -> list:
            return [r for r in sink.received if r.rcpt_tos == ["lea@example.com"]]

        (got,) = await wait_until(to_lea, bool, 20, "the transcript for Lea")
        text = got.part("plain")
        assert "Is size 38 back in stock?" in text and "Friday!" in text
        sent = [f for f in visitor.sent if f.get("type") == "transcript_request"]
        assert sent == [{"type": "transcript_request", "conversation_id": conv_id, "ref": "tx"}]
        await keep_screenshot(visitor.page, "widget-transcript-email")
        assert visitor.errors == []
        await agent_offline(agent)
        await visitor.context.close()
    finally:
        host.stop()
