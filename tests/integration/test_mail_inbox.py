"""The inbox and email together on a real `beckon serve` and a real SMTP server
(aiosmtpd): an agent's answer to an inbox item is emailed once, threaded; a visitor
without an address gets none; the visitor's email reply comes back into the closed
conversation and puts its item back on the agents' list."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from server.mail import addresses
from server.mail.incoming import inbound_key, sign
from server.settings import load_settings
from tests.beckon_process import TEST_SECRET, BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.integration.test_mail_in import reply
from tests.integration.test_mail_out import active_chat, api, gone, identity, say
from tests.mail_fixtures import mail_node, started_sink
from tests.smtp_sink import SmtpSink
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")
ALERT_S = 3  # at most one inbox email per agent per this many seconds


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sink() -> AsyncIterator[SmtpSink]:
    async with started_sink() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory, sink: SmtpSink) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with mail_node(
        tmp_path_factory.mktemp("mail-inbox"), sink, BECKON_MAIL_INBOX_ALERT_S=str(ALERT_S)
    ) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, capacity=20)


async def inbox(chat: ChatSite, **query: str) -> list[dict[str, Any]]:
    async with api(chat) as client:
        response = await client.get(f"/api/v1/sites/{chat.site['id']}/inbox", params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def wait_item(chat: ChatSite, text: str) -> dict[str, Any]:
    (item,) = await wait_until(
        lambda: inbox(chat, q=text), lambda got: len(got) == 1, 15, f"inbox item {text!r}"
    )
    return item


async def left_message(chat: ChatSite, email: str, text: str) -> dict[str, Any]:
    """A visitor leaves a message with nobody online and goes; its inbox item."""
    visitor, _ = await chat.visitor()
    saved = await visitor.request(
        {"type": "offline_message", "name": "Eva", "email": email, "text": text}
    )
    assert saved["type"] == "offline_message_saved", saved
    await visitor.close()
    return await wait_item(chat, text)


async def answer(chat: ChatSite, item_id: str, text: str) -> dict[str, Any]:
    async with api(chat) as client:
        response = await client.post(f"/api/v1/inbox/{item_id}/reply", json={"text": text})
    assert response.status_code == 201, response.text
    return response.json()


async def emails_of(chat: ChatSite, conversation_id: str) -> list[dict[str, Any]]:
    async with api(chat) as client:
        response = await client.get(f"/api/v1/conversations/{conversation_id}/emails")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def barrier(chat: ChatSite, sink: SmtpSink, user: str) -> None:
    """An agent's live message to a gone visitor, emailed by the `message.created`
    listener: once it arrives, that listener has handled every earlier event."""
    before = len(sink.received)
    visitor, agent, cid, vid = await active_chat(
        chat, identity(chat, user, f"{user}@example.com", "B")
    )
    await gone(chat, visitor, vid)
    await say(agent, cid, "barrier", "b1")
    got = await sink.wait_for(before + 1)
    assert got[-1].rcpt_tos == [f"{user}@example.com"]
    await agent.close()


def post_signed(node: BeckonProcess, raw: bytes) -> httpx.Response:
    key = inbound_key(load_settings({"BECKON_SECRET_KEY": TEST_SECRET}))
    headers = {"X-Beckon-Signature": sign(key, raw, int(time.time()))}
    with httpx.Client(base_url=node.url) as client:
        return client.post("/api/v1/mail/inbound", content=raw, headers=headers)


async def test_an_inbox_answer_is_emailed_once_threaded(chat: ChatSite, sink: SmtpSink) -> None:
    item = await left_message(chat, "eva@example.com", "Do you ship to Zagreb?")
    before = len(sink.received)
    body = await answer(chat, item["id"], "Yes, in <two> days.")
    cid = body["item"]["conversation_id"]
    got = (await sink.wait_for(before + 1))[before]
    msg = got.message
    assert got.rcpt_tos == ["eva@example.com"]
    assert msg["To"] == "Eva <eva@example.com>"
    assert msg["Subject"] == "Your conversation with Shop"
    reply_to = msg["Reply-To"].addresses[0].addr_spec
    assert addresses.conversation_of_address(TEST_SECRET, reply_to) == cid
    root = addresses.thread_root(TEST_SECRET, cid, "shop.test")
    assert (msg["In-Reply-To"], msg["References"]) == (root, root)
    text = got.part("plain").replace("\r\n", "\n")
    assert "Yes, in <two> days.\n" in text and "> Do you ship to Zagreb?\n" in text
    assert "Yes, in &lt;two&gt; days." in got.part("html")
    # Once: the `message.created` listener, which emails a live chat's answers, has seen
    # this answer too by the time the barrier's email arrives, and left it alone.
    await barrier(chat, sink, "once-1")
    assert [(e["kind"], e["status"]) for e in await emails_of(chat, cid)] == [("reply", "sent")]
    assert [r.rcpt_tos for r in sink.received[before:]] == [
        ["eva@example.com"],
        ["once-1@example.com"],
    ]
    # A second answer is a second email, threaded under the first.
    await answer(chat, item["id"], "Tracking number follows.")
    second = (await sink.wait_for(before + 3))[before + 2].message
    assert second["In-Reply-To"] == msg["Message-ID"]
    assert second["References"] == f"{root} {msg['Message-ID']}"


async def test_no_email_for_a_visitor_without_an_address(chat: ChatSite, sink: SmtpSink) -> None:
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "Anyone there? (no address)"})
    await visitor.request({"type": "close", "conversation_id": conv["id"]})
    await visitor.close()
    item = await wait_item(chat, "no address")
    before = len(sink.received)
    body = await answer(chat, item["id"], "Sorry we missed you")
    assert body["item"]["status"] == "waiting"
    await barrier(chat, sink, "noaddr-1")
    assert [r.rcpt_tos for r in sink.received[before:]] == [["noaddr-1@example.com"]]
    assert await emails_of(chat, conv["id"]) == []


async def test_the_email_reply_reopens_the_item(
    chat: ChatSite, sink: SmtpSink, node: BeckonProcess
) -> None:
    item = await left_message(chat, "rea@example.com", "Can I return shoes?")
    before = len(sink.received)
    async with api(chat) as client:
        taken = await client.patch(f"/api/v1/inbox/{item['id']}", json={"agent_id": "me"})
        assert taken.json()["status"] == "assigned"
    body = await answer(chat, item["id"], "Yes, within 30 days.")
    cid = body["item"]["conversation_id"]
    sent = (await sink.wait_for(before + 1))[before].message
    async with api(chat) as client:
        done = await client.patch(f"/api/v1/inbox/{item['id']}", json={"status": "done"})
        assert done.json()["status"] == "done"
        open_before = (await client.get("/api/v1/inbox/counts")).json()["open"]
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    quoted = "Great, and the box?\n\nOn Mon, Shop wrote:\n> Yes, within 30 days.\n"
    raw = bytes(reply(reply_to, "Rea <rea@example.com>", quoted, sent["Message-ID"]))
    first = post_signed(node, raw)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "status": "accepted",
        "conversation_id": cid,
        "seq": 3,
        "inbox_item": item["id"],
    }
    again = post_signed(node, raw).json()  # a provider's retry: stored once
    assert (again["status"], again["seq"]) == ("accepted", 3)
    async with api(chat) as client:
        reopened = (await client.get(f"/api/v1/inbox/{item['id']}")).json()
        counts = (await client.get("/api/v1/inbox/counts")).json()
        stored = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert (reopened["status"], reopened["agent_id"]) == ("assigned", chat.agent["id"])
    assert [(m["author"]["kind"], m["text"]) for m in reopened["messages"]] == [
        ("visitor", "Can I return shoes?"),
        ("agent", "Yes, within 30 days."),
        ("visitor", "Great, and the box?"),
    ]
    assert reopened["text"] == "Can I return shoes?\nGreat, and the box?"
    assert counts["open"] == open_before + 1
    assert [m["seq"] for m in stored] == [1, 2, 3]
    assert [i["id"] for i in await inbox(chat, q="and the box")] == [item["id"]]


async def test_a_reply_to_a_closed_chat_without_an_item_makes_one(
    chat: ChatSite, sink: SmtpSink, node: BeckonProcess
) -> None:
    """The agent had the last word (no item); the transcript's email is answered."""
    visitor, agent, cid, vid = await active_chat(
        chat, identity(chat, "noitem-1", "nik@example.com", "Nik"), text="Hi"
    )
    await say(agent, cid, "All sorted, bye!", "a1")
    await agent.request({"type": "close", "conversation_id": cid})
    await gone(chat, visitor, vid)
    before = len(sink.received)
    async with api(chat) as client:
        queued = await client.post(f"/api/v1/conversations/{cid}/transcript")
        assert queued.status_code == 202, queued.text
    sent = (await sink.wait_for(before + 1))[before].message
    raw = bytes(
        reply(
            sent["Reply-To"].addresses[0].addr_spec,
            "nik@example.com",
            "One more thing: gift wrap?",
            sent["Message-ID"],
        )
    )
    posted = post_signed(node, raw)
    assert posted.status_code == 200, posted.text
    assert posted.json()["seq"] == 3 and "offline_message" in posted.json()
    item = await wait_item(chat, "gift wrap")
    assert (item["kind"], item["status"], item["conversation_id"]) == (
        "offline_message",
        "new",
        cid,
    )
    await agent.close()


def digests(node: BeckonProcess) -> list[tuple[str, int]]:
    """(recipient, created_ts) of every inbox digest written, oldest first."""
    with sqlite3.connect(node.cwd / "beckon.db") as db:
        query = "SELECT recipient, created_ts FROM mail_outbox WHERE kind = 'inbox_digest'"
        return sorted(db.execute(query + " ORDER BY created_ts").fetchall(), key=lambda r: r[1])


async def test_opted_in_agents_get_batched_inbox_emails(
    node: BeckonProcess, sink: SmtpSink
) -> None:
    chat = await make_chat_site(node, agent_email="otto@example.com")
    async with api(chat) as client:
        off = (await client.get("/api/v1/me/mail-preferences")).json()
        assert off == {"inbox_email": False, "lang": "en", "available": True, "every_s": ALERT_S}
        bad = await client.put("/api/v1/me/mail-preferences", json={"inbox_email": "yes"})
        assert bad.status_code == 422, bad.text
        bad = await client.put(
            "/api/v1/me/mail-preferences", json={"inbox_email": True, "lang": "xx"}
        )
        assert bad.status_code == 422, bad.text
        on = await client.put(
            "/api/v1/me/mail-preferences", json={"inbox_email": True, "lang": "de"}
        )
        assert on.json()["inbox_email"] is True and on.json()["lang"] == "de"

    def mine() -> list:
        return [r for r in sink.received if r.rcpt_tos == ["otto@example.com"]]

    async def received_mine(count: int) -> list:
        async def probe() -> list:  # polled: the SMTP server runs in its own thread
            return mine()

        return await wait_until(probe, lambda got: len(got) >= count, 20, "inbox emails")

    await left_message(chat, "a1@example.com", "First <b>question</b>")
    (first,) = await received_mine(1)
    assert first.message["Subject"] == "Neu im Posteingang: 1"
    assert "- Shop: 1\n" in first.part("plain").replace("\r\n", "\n")
    assert f"{node.url}/agent/#inbox" in first.part("plain")
    # Counts only: the visitor's words and address stay where erasure reaches them.
    assert "question" not in first.data.decode() and "a1@example.com" not in first.data.decode()
    # Two more right after: not an email each — one, with both, once the window is over.
    await left_message(chat, "a2@example.com", "Second question")
    await left_message(chat, "a3@example.com", "Third question")
    second = (await received_mine(2))[1]
    assert second.message["Subject"] == "Neu im Posteingang: 2"
    assert "- Shop: 2\n" in second.part("plain").replace("\r\n", "\n")
    mine_written = [ts for to, ts in digests(node) if to == "otto@example.com"]
    assert len(mine_written) == 2 and mine_written[1] - mine_written[0] >= ALERT_S * 1000
    # Nobody else opted in: the site's other people got none.
    assert {to for to, _ in digests(node)} == {"otto@example.com"}
    # Off: nothing more.
    async with api(chat) as client:
        await client.put("/api/v1/me/mail-preferences", json={"inbox_email": False})
    await left_message(chat, "a4@example.com", "Fourth question")
    await barrier(chat, sink, "alerts-off")
    assert len(mine()) == 2
