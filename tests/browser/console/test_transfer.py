"""Agent-to-agent transfer across two browser contexts: Ana chats, uses a canned
reply and adds an internal note, then hands the chat to Bo by name; Bo, signed in in
another browser context, gets it with its history and closes it. The visitor is a
WebSocket client, so what it receives — and never receives — is asserted on the wire."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import (
    add_agent,
    admin_api,
    agent_message,
    set_status,
    shot,
    sign_in,
    visitor_says,
)
from tests.chat_setup import ChatSite
from tests.ws_client import WsClient, ws_url

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

CANNED = "Hi {visitor.name}, returns are free within 30 days. {agent.name}"
FILLED = "Hi Elif, returns are free within 30 days. Ana"
NOTE = "Wants a refund, not an exchange. Order 7731."
PAGE = {"url": "https://shop.example.com/help/returns", "title": "Returns"}


async def test_transfer_to_an_agent_who_closes(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    bo_agent = await add_agent(chat, "bo@example.com", "second agent pw", "Bo Rivera")
    created = await admin_api(
        chat,
        "POST",
        f"/api/v1/sites/{chat.site['id']}/canned-replies",
        json={"shortcut": "returns", "text": CANNED, "scope": "site"},
    )
    assert created.status_code == 201, created.text

    ana = await sign_in(browser, node.url)
    await set_status(ana.page, "online")
    visitor, welcome = await chat.visitor(page=PAGE)
    conv = await visitor.request(
        {"type": "chat_start", "text": "I want to return a jacket", "prechat": {"name": "Elif"}}
    )
    cid = conv["id"]
    page = ana.page
    ana_tab = page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(ana_tab).to_have_attribute("aria-selected", "true")
    await expect(ana_tab.locator(".chat-item-name")).to_have_text("Elif")

    # Ana answers, then uses a canned reply: "/" searches, Enter picks (placeholders
    # filled), a second Enter sends.
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Hello Elif!")
    await composer.press("Enter")
    await agent_message(visitor, "Hello Elif!")
    await visitor_says(visitor, cid, "It does not fit.")
    await composer.press_sequentially("/ret")
    picker = page.get_by_role("listbox", name="Canned replies")
    await expect(picker.get_by_role("option")).to_have_count(1)
    await composer.press("Enter")
    await expect(composer).to_have_value(FILLED)
    await composer.press("Enter")
    assert (await agent_message(visitor, FILLED))["author"]["name"] == "Ana"

    # An internal note for the next agent.
    await page.get_by_label("Internal note").check()
    await composer.fill(NOTE)
    await composer.press("Enter")
    transcript = page.locator(".chat .transcript")
    await expect(transcript.locator(".msg-note .msg-text")).to_have_text(NOTE)
    await expect(page.locator(".msg-pending")).to_have_count(0)
    await page.get_by_label("Internal note").uncheck()

    # Bo signs in in another browser context; Ana transfers to him by name.
    bo = await sign_in(browser, node.url, "bo@example.com", "second agent pw")
    await set_status(bo.page, "online")
    await page.get_by_role("button", name="Transfer").click()
    dialog = page.get_by_role("dialog", name="Transfer chat")
    await expect(dialog.get_by_label("To an agent")).to_be_checked()
    choice = dialog.get_by_label("Agent", exact=True)
    await expect(choice.locator("option")).to_have_text(["Bo Rivera (online)"])
    await choice.select_option(bo_agent["id"])
    await shot(page, "transfer-dialog")
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator(".endbar")).to_contain_text("Transferred to Bo Rivera.")
    await expect(ana_tab).to_contain_text("Transferred")
    await expect(composer).to_be_hidden()

    # The visitor is told, in the transcript and with the new agent.
    moved = await visitor.expect(
        lambda f: f.get("type") == "conversation" and "Bo" in (f.get("agent") or {}).get("name", "")
    )
    assert moved["agent"]["name"] == "Bo Rivera" and moved["status"] == "active"
    assert "visitor" not in moved  # the console's brief stays with the agents
    line = await visitor.expect(lambda f: f.get("type") == "message" and "transferred" in f["text"])
    assert line["author"] == {"kind": "system"}
    assert line["text"] == "Ana transferred the chat to Bo Rivera"

    # Bo has the chat open, with the whole history, the note included (agents see notes).
    bo_tab = bo.page.locator(f'#chat-list [data-conversation="{cid}"]')
    await expect(bo_tab).to_have_attribute("aria-selected", "true")
    await expect(bo_tab.locator(".chat-item-name")).to_have_text("Elif")
    bo_transcript = bo.page.locator(".chat .transcript")
    await expect(bo_transcript.locator(".msg .msg-text")).to_have_text(
        [
            "I want to return a jacket",
            "Hello Elif!",
            "It does not fit.",
            FILLED,
            NOTE,
            "Ana transferred the chat to Bo Rivera",
        ]
    )
    await expect(bo_transcript.locator(".msg-note .msg-text")).to_have_text(NOTE)
    await expect(bo.page.locator("#context-pane .context-name")).to_have_text("Elif")
    bo_composer = bo.page.get_by_role("textbox", name="Message")
    await bo_composer.fill("Bo here: your refund is on its way.")
    await bo_composer.press("Enter")
    reply = await agent_message(visitor, "Bo here: your refund is on its way.")
    assert reply["author"]["name"] == "Bo Rivera"

    # Bo closes; the visitor gets the `closed` frame (by the agent, with the survey).
    await bo.page.get_by_role("button", name="Close chat").click()
    await bo.page.get_by_role("button", name="Click again to close").click()
    closed = await visitor.expect("closed")
    assert closed["by"] == "agent" and closed["survey"] == ["csat", "nps"]
    await expect(bo.page.locator(".endbar")).to_contain_text("You closed this chat.")

    # The note never reached the visitor: not live (everything after it arrived, in seq
    # order) ...
    assert not any(f.get("text") == NOTE or f.get("internal") for f in visitor.frames)
    await visitor.close()
    # ... and not in a replay of the whole conversation either.
    again = await WsClient.connect(ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}"))
    await again.send(
        {
            "type": "hello",
            "visitor_token": welcome["visitor_token"],
            "page": PAGE,
            "conversation": {"id": cid, "after_seq": 0},
        }
    )
    replayed = [await again.expect("message") for _ in range(6)]
    assert [(m["author"]["kind"], m["text"]) for m in replayed] == [
        ("visitor", "I want to return a jacket"),
        ("agent", "Hello Elif!"),
        ("visitor", "It does not fit."),
        ("agent", FILLED),
        ("system", "Ana transferred the chat to Bo Rivera"),
        ("agent", "Bo here: your refund is on its way."),
    ]
    seqs = [m["seq"] for m in replayed]
    assert seqs == [1, 2, 3, 4, 6, 7]  # 5 is the note: a jump, not a loss
    await again.close()
    assert ana.errors == [] and bo.errors == [], (ana.errors, bo.errors)
    await ana.close()
    await bo.close()
