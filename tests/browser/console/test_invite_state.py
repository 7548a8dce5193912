"""The live list's Invite button: disabled, with the reason as its
title, for a visitor with an invitation on screen, waiting in the queue or in a chat —
marked live, also when the change is not a page event (an agent's invitation, the
visitor's answer) — and the server refuses such an invitation from a second agent."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.beckon_process import BeckonProcess
from tests.browser.console.conftest import shot, sign_in
from tests.chat_setup import ChatSite

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_invite_follows_the_visitors_state(
    browser: Browser, node: BeckonProcess, chat: ChatSite
) -> None:
    page_info = {"url": "https://shop.example.com/p/tent", "title": "Tent"}
    lena, lena_welcome = await chat.visitor(page=page_info, attributes={"name": "Lena"})
    milo, milo_welcome = await chat.visitor(page=page_info, attributes={"name": "Milo"})
    console = await sign_in(browser, node.url)
    page = console.page
    await page.locator("#nav-visitors").click()
    view = page.locator("#view-visitors")
    lena_row = view.locator(f'tr[data-visitor="{lena_welcome["visitor_id"]}"]')
    milo_row = view.locator(f'tr[data-visitor="{milo_welcome["visitor_id"]}"]')
    lena_invite = lena_row.get_by_role("button", name="Invite Lena to chat")
    milo_invite = milo_row.get_by_role("button", name="Invite Milo to chat")
    await expect(lena_row.locator(".col-state")).to_have_text("Browsing")
    await expect(lena_invite).to_be_enabled()
    await expect(lena_invite).not_to_have_attribute(
        "title", "An invitation is already on their screen"
    )

    # An agent's invitation is no page event: the row is marked Invited all the same.
    await lena_invite.click()
    await page.get_by_label("Invitation text").fill("Need a hand with the tent?")
    await page.get_by_role("button", name="Send invitation").click()
    invitation = await lena.expect("invitation")
    await expect(lena_row.locator(".col-state")).to_have_text("Invited")
    await expect(lena_invite).to_be_disabled()
    await expect(lena_invite).to_have_attribute("title", "An invitation is already on their screen")
    await shot(page, "visitors-invite-disabled")

    # A second agent (here a raw agent socket) is refused by the server, in words.
    agent, _ = await chat.agent_socket()
    refused = await agent.request(
        {"type": "invite", "visitor_id": lena_welcome["visitor_id"], "text": "Hello?"}
    )
    assert refused["type"] == "error" and refused["code"] == "conflict", refused
    assert refused["message"] == "the visitor already has an invitation pending"

    # The answer is no page event either: accepted, the visitor waits for a chat.
    await lena.send({"type": "invitation_accept", "invitation_id": invitation["invitation_id"]})
    conversation = await lena.expect("conversation")
    # (Queued or In chat: the mirror reads the queue a moment after the chat opens.)
    await expect(lena_row.locator(".col-state")).to_have_text(re.compile("Queued|In chat"))
    await expect(lena_invite).to_be_disabled()
    await expect(lena_invite).to_have_attribute(
        "title", re.compile("Waiting in the queue for a chat|Already in a chat")
    )
    refused = await agent.request(
        {"type": "invite", "visitor_id": lena_welcome["visitor_id"], "text": "Hello?"}
    )
    assert refused["code"] == "conflict", refused
    assert refused["message"] == "the visitor is already in a chat"

    # Dismissed, the visitor can be invited again; the open panel follows the state.
    await milo_invite.click()
    await agent.send({"type": "invite", "visitor_id": milo_welcome["visitor_id"], "text": "Hi"})
    milo_invitation = await milo.expect("invitation")
    await expect(milo_invite).to_be_disabled()
    panel = page.get_by_role("form", name="Invite a visitor")
    await expect(panel.get_by_role("button", name="Send invitation")).to_be_disabled()
    await expect(panel).to_contain_text("An invitation is already on their screen.")
    await milo.send(
        {"type": "invitation_dismiss", "invitation_id": milo_invitation["invitation_id"]}
    )
    await expect(milo_row.locator(".col-state")).to_have_text("Browsing")
    await expect(milo_invite).to_be_enabled()
    await expect(panel.get_by_role("button", name="Send invitation")).to_be_enabled()
    await expect(panel.locator(".form-error")).to_have_text("")

    # The chat ends: Lena is browsing and can be invited again.
    await lena.send({"type": "close", "conversation_id": conversation["id"]})
    await expect(lena_row.locator(".col-state")).to_have_text("Browsing")
    await expect(lena_invite).to_be_enabled()
    for client in (lena, milo, agent):
        await client.close()
    assert console.errors == [], console.errors
    await console.close()
