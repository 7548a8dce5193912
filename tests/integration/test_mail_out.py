"""Email out end to end: `beckon serve` sends to a real SMTP server (aiosmtpd) on
loopback. Retries are shortened with BECKON_MAIL_RETRY_BASE_S; every wait is on a
polled condition with a deadline."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from server.chat import visitor_token as tokens
from server.mail import addresses
from tests.beckon_process import TEST_SECRET, BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.mail_fixtures import mail_env, mail_node, started_sink
from tests.smtp_sink import SmtpSink
from tests.waiting import wait_until
from tests.ws_client import WsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sink() -> AsyncIterator[SmtpSink]:
    async with started_sink() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory, sink: SmtpSink) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with mail_node(tmp_path_factory.mktemp("mail"), sink) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, capacity=20)


def identity(chat: ChatSite, user: str, email: str, name: str) -> dict[str, str]:
    user_hash = tokens.identity_hash(chat.site["identity_secret"], user)
    return {"user_id": user, "user_hash": user_hash, "email": email, "name": name}


def api(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url, headers={"Authorization": f"Bearer {chat.agent_token}"}
    )


async def gone(chat: ChatSite, visitor: WsClient, visitor_id: str) -> None:
    """Close the visitor's socket and wait until the site no longer lists it online."""
    await visitor.close()
    async with api(chat) as client:

        async def online() -> str:
            listed = await client.get(f"/api/v1/sites/{chat.site['id']}/visitors")
            return json.dumps(listed.json()["items"])

        await wait_until(online, lambda text: visitor_id not in text, 10, "the visitor gone")


async def active_chat(
    chat: ChatSite, who: dict[str, str], lang: str = "en", text: str = "Hello?"
) -> tuple[WsClient, WsClient, str, str]:
    """(visitor, agent, conversation id, visitor id) of an accepted chat."""
    visitor, welcome = await chat.visitor(identity=who, lang=lang)
    conv = await visitor.request({"type": "chat_start", "text": text})
    agent, _ = await chat.agent_socket()
    accepted = await agent.request({"type": "accept", "conversation_id": conv["id"]})
    assert accepted["status"] == "active", accepted
    return visitor, agent, conv["id"], welcome["visitor_id"]


async def say(agent: WsClient, cid: str, text: str, ref: str) -> dict[str, Any]:
    frame = {"type": "message", "conversation_id": cid, "client_msg_id": ref, "text": text}
    return await agent.request(frame)


async def test_an_agents_reply_to_a_gone_visitor_is_emailed_threaded(
    chat: ChatSite, sink: SmtpSink
) -> None:
    before = len(sink.received)
    who = identity(chat, "u-1", "eve@example.com", "Eve <b>")
    visitor, agent, cid, vid = await active_chat(chat, who, "de", "Wo ist <b>meine</b> Bestellung?")
    await say(agent, cid, "online, no email", "a0")  # the visitor is here: no email
    await gone(chat, visitor, vid)
    await say(agent, cid, "Sie kommt heute.", "a1")
    got = (await sink.wait_for(before + 1))[before]
    msg = got.message
    assert got.rcpt_tos == ["eve@example.com"]
    assert got.mail_from == "help@shop.test"
    assert msg["Subject"] == "Ihr Gespräch mit Shop"
    assert msg["From"] == "Shop <help@shop.test>"
    assert msg["To"] == '"Eve <b>" <eve@example.com>'
    reply_to = msg["Reply-To"].addresses[0].addr_spec
    assert addresses.conversation_of_address(TEST_SECRET, reply_to) == cid
    root = addresses.thread_root(TEST_SECRET, cid, "shop.test")
    assert (msg["In-Reply-To"], msg["References"]) == (root, root)
    text = got.part("plain").replace("\r\n", "\n")
    assert text.startswith("Ana von Shop hat geantwortet:\n\nSie kommt heute.\n")
    assert "> Wo ist <b>meine</b> Bestellung?\n" in text
    assert "> Ana (" in text and "> online, no email\n" in text
    html = got.part("html")
    assert "Wo ist &lt;b&gt;meine&lt;/b&gt; Bestellung?" in html and "<b>meine" not in html

    await say(agent, cid, "Noch etwas?", "a2")
    second = (await sink.wait_for(before + 2))[before + 1].message
    assert second["In-Reply-To"] == msg["Message-ID"]
    assert second["References"] == f"{root} {msg['Message-ID']}"
    assert len(sink.received) == before + 2  # "online, no email" was never sent

    async with api(chat) as client:
        listed = (await client.get(f"/api/v1/conversations/{cid}/emails")).json()["items"]
    assert [(e["kind"], e["status"], e["recipient"]) for e in listed] == [
        ("reply", "sent", "eve@example.com"),
        ("reply", "sent", "eve@example.com"),
    ]
    await agent.close()


async def test_a_visitor_without_email_gets_none_and_transcript_is_refused(
    chat: ChatSite, sink: SmtpSink
) -> None:
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start", "text": "hi"})
    agent, _ = await chat.agent_socket()
    await agent.request({"type": "accept", "conversation_id": conv["id"]})
    async with api(chat) as client:
        refused = await client.post(f"/api/v1/conversations/{conv['id']}/transcript")
        assert refused.status_code == 409
        assert refused.json()["error"] == {
            "code": "conflict",
            "message": "the visitor left no email address",
        }
        missing = await client.post("/api/v1/conversations/cv_nope/transcript")
        assert missing.status_code == 404
        listed = await client.get(f"/api/v1/conversations/{conv['id']}/emails")
        assert listed.json() == {"items": []}
    await visitor.close()
    await agent.close()


async def test_an_agent_sends_the_transcript(chat: ChatSite, sink: SmtpSink) -> None:
    before = len(sink.received)
    who = identity(chat, "u-2", "tom@example.com", "Tom")
    visitor, agent, cid, _ = await active_chat(chat, who, "fr", "Bonjour")
    await say(agent, cid, "Bonjour Tom", "t1")
    async with api(chat) as client:
        sent = await client.post(f"/api/v1/conversations/{cid}/transcript")
    assert (sent.status_code, sent.json()) == (202, {"status": "queued"})
    got = (await sink.wait_for(before + 1))[before]
    assert got.rcpt_tos == ["tom@example.com"]
    assert got.message["Subject"] == "Transcription de votre chat avec Shop"
    text = got.part("plain").replace("\r\n", "\n")
    assert "Vous (" in text and "Bonjour\n" in text and "Ana (" in text and "Bonjour Tom" in text
    await visitor.close()
    await agent.close()


def outbox_rows(directory: Path) -> list[tuple[str, int, str | None]]:
    with sqlite3.connect(directory / "beckon.db") as db:
        return db.execute("SELECT status, attempts, last_error FROM mail_outbox").fetchall()


async def test_rate_limits_per_visitor_and_per_site(tmp_path: Path) -> None:
    sink = SmtpSink()
    sink.start()
    limits = {"BECKON_MAIL_VISITOR_PER_HOUR": "2", "BECKON_MAIL_SITE_PER_HOUR": "3"}
    process = BeckonProcess({**subprocess_env(tmp_path), **mail_env(sink, **limits)}, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        who = identity(chat, "u-3", "max@example.com", "Max")
        visitor, agent, cid, vid = await active_chat(chat, who)
        await gone(chat, visitor, vid)
        for n in range(4):
            await say(agent, cid, f"reply {n}", f"r{n}")
        # The emails are written by a listener after the messages' acks: once two have
        # arrived the visitor's 2 an hour are used, whatever it has done with the rest.
        got = await sink.wait_for(2)
        async with api(chat) as client:
            refused = await client.post(f"/api/v1/conversations/{cid}/transcript")
        assert refused.status_code == 429
        assert refused.json()["error"] == {
            "code": "rate_limited",
            "message": "too many emails to this visitor or site; try later",
        }
        assert ["reply 0" in got[0].part("plain"), "reply 1" in got[1].part("plain")] == [
            True,
            True,
        ]
        assert len(outbox_rows(tmp_path)) == 2  # the 3rd and 4th were never written
        # Another visitor of the site: one more email, then the site's 3 an hour are used.
        who = identity(chat, "u-3b", "zoe@example.com", "Zoe")
        visitor, second, cid, vid = await active_chat(chat, who)
        await gone(chat, visitor, vid)
        await say(second, cid, "for zoe", "z1")
        await sink.wait_for(3)
        async with api(chat) as client:
            refused = await client.post(f"/api/v1/conversations/{cid}/transcript")
        assert refused.status_code == 429
        assert len(outbox_rows(tmp_path)) == 3
        assert [r.rcpt_tos for r in sink.received] == [["max@example.com"]] * 2 + [
            ["zoe@example.com"]
        ]
        await agent.close()
        await second.close()
    finally:
        await process.stop()
        sink.stop()


async def test_pending_email_survives_a_killed_node_and_is_sent_once(tmp_path: Path) -> None:
    sink = SmtpSink()  # down for now: its port is closed
    process = BeckonProcess({**subprocess_env(tmp_path), **mail_env(sink)}, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        who = identity(chat, "u-4", "ida@example.com", "Ida")
        visitor, agent, cid, vid = await active_chat(chat, who)
        await gone(chat, visitor, vid)
        await say(agent, cid, "Are you there?", "k1")

        async def rows() -> list[tuple[str, int, str | None]]:
            return outbox_rows(tmp_path)

        failed = await wait_until(rows, lambda r: bool(r) and r[0][1] >= 1, 15, "a failed try")
        assert failed[0][0] == "pending" and "Connect" in (failed[0][2] or "")
        await process.kill()  # SIGKILL: no shutdown, the row stays pending
        sink.start()
        await process.start()
        got = await sink.wait_for(1)
        assert "Are you there?" in got[0].part("plain")
        await wait_until(rows, lambda r: r[0][0] == "sent", 15, "the email marked sent")
        assert len(sink.received) == 1
    finally:
        await process.stop()
        sink.stop()


async def test_a_permanent_refusal_fails_without_retry(tmp_path: Path) -> None:
    sink = SmtpSink()
    sink.refuse = "550 5.1.1 no such mailbox"
    sink.start()
    process = BeckonProcess({**subprocess_env(tmp_path), **mail_env(sink)}, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        who = identity(chat, "u-5", "nobody@example.com", "No")
        visitor, agent, cid, vid = await active_chat(chat, who)
        await gone(chat, visitor, vid)
        await say(agent, cid, "hello?", "p1")

        async def rows() -> list[tuple[str, int, str | None]]:
            return outbox_rows(tmp_path)

        done = await wait_until(rows, lambda r: bool(r) and r[0][0] != "pending", 15, "failed")
        assert done == [("failed", 1, "SMTP 550: 5.1.1 no such mailbox")]
        await agent.close()
    finally:
        await process.stop()
        sink.stop()


async def test_the_visitor_asks_for_the_transcript(chat: ChatSite, sink: SmtpSink) -> None:
    before = len(sink.received)
    who = identity(chat, "u-6", "lia@example.com", "Lia")
    visitor, agent, cid, _ = await active_chat(chat, who, "hr", "Bok")
    await say(agent, cid, "Bok Lia", "h1")
    queued = await visitor.request({"type": "transcript_request", "conversation_id": cid})
    assert queued == {"type": "transcript_queued", "conversation_id": cid, "ref": queued["ref"]}
    got = (await sink.wait_for(before + 1))[before]
    assert got.rcpt_tos == ["lia@example.com"]
    assert got.message["Subject"] == "Zapis vašeg razgovora sa Shop"
    other, _ = await chat.visitor()  # not this visitor's conversation
    refused = await other.request({"type": "transcript_request", "conversation_id": cid})
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    conv = await other.request({"type": "chat_start", "text": "hi"})
    no_email = await other.request({"type": "transcript_request", "conversation_id": conv["id"]})
    assert (no_email["code"], no_email["message"]) == (
        "conflict",
        "no email address is known for this visitor",
    )
    for client in (visitor, agent, other):
        await client.close()


async def test_a_visitor_back_within_the_grace_period_gets_no_email(tmp_path: Path) -> None:
    sink = SmtpSink()
    sink.start()
    env = {**subprocess_env(tmp_path), **mail_env(sink, BECKON_MAIL_GRACE_S="2")}
    process = BeckonProcess(env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        who = identity(chat, "u-7", "sam@example.com", "Sam")
        visitor, welcome = await chat.visitor(identity=who)
        conv = await visitor.request({"type": "chat_start", "text": "hi"})
        agent, _ = await chat.agent_socket()
        await agent.request({"type": "accept", "conversation_id": conv["id"]})
        await gone(chat, visitor, welcome["visitor_id"])  # the next page is loading
        await say(agent, conv["id"], "while you were away", "g1")
        back, _ = await chat.visitor(identity=who, visitor_token=welcome["visitor_token"])

        async def rows() -> list[tuple[str, int, str | None]]:
            return outbox_rows(tmp_path)

        done = await wait_until(rows, lambda r: bool(r) and r[0][0] != "pending", 15, "due")
        assert done == [("skipped", 1, "the visitor came back before it was due")]
        await gone(chat, back, welcome["visitor_id"])  # now really gone
        await say(agent, conv["id"], "are you still there?", "g2")
        got = await sink.wait_for(1)
        assert "are you still there?" in got[0].part("plain")
        assert len(sink.received) == 1
        await agent.close()
    finally:
        await process.stop()
        sink.stop()
