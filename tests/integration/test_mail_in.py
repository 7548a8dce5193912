"""Email in end to end: replies delivered by a real SMTP client to `beckon mail-in`
(a subprocess) and posted to the signed HTTP endpoint come back into the conversation;
unmatched, spoofed, unsigned and oversized mail is refused."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
import pytest_asyncio

from server.mail.incoming import inbound_key, sign
from server.settings import load_settings
from tests.beckon_process import BECKON, TEST_SECRET, BeckonProcess, free_port
from tests.chat_setup import ChatSite, make_chat_site
from tests.integration.test_mail_out import active_chat, api, gone, identity, say
from tests.mail_fixtures import mail_in_listener, mail_node, started_sink
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
    async with mail_node(tmp_path_factory.mktemp("mailin"), sink) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mail_in(node: BeckonProcess) -> AsyncIterator[int]:
    async with mail_in_listener(node) as port:
        yield port


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node, capacity=20)


def reply(to: str, sender: str, body: str, in_reply_to: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Re: Your conversation with Shop"
    msg["Message-ID"] = f"<{time.time_ns()}@example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return msg


async def emailed_chat(
    chat: ChatSite, sink: SmtpSink, user: str, address: str
) -> tuple[WsClient, str, EmailMessage]:
    """A chat whose visitor left and got the agent's answer by email: (agent, id, email)."""
    before = len(sink.received)
    visitor, agent, cid, vid = await active_chat(chat, identity(chat, user, address, "Eve"))
    await gone(chat, visitor, vid)
    await say(agent, cid, "Your order ships today.", "m1")
    return agent, cid, (await sink.wait_for(before + 1))[before].message


async def test_a_reply_by_smtp_comes_back_into_the_conversation(
    chat: ChatSite, sink: SmtpSink, mail_in: int
) -> None:
    agent, cid, sent = await emailed_chat(chat, sink, "in-1", "eve@example.com")
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    body = "Great, thank you!\n\n-- \nEve\n\nOn Mon, Shop wrote:\n> Your order ships today.\n"
    await aiosmtplib.send(
        reply(reply_to, "Eve <eve@example.com>", body, sent["Message-ID"]),
        hostname="127.0.0.1",
        port=mail_in,
    )
    got = await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 3)
    assert (got["text"], got["author"]) == ("Great, thank you!", {"kind": "visitor"})
    async with api(chat) as client:
        stored = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert [m["text"] for m in stored] == ["Hello?", "Your order ships today.", "Great, thank you!"]
    await agent.close()


async def test_spoofed_unmatched_and_oversized_mail_is_refused(
    chat: ChatSite, sink: SmtpSink, mail_in: int
) -> None:
    agent, cid, sent = await emailed_chat(chat, sink, "in-2", "ann@example.com")
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    with pytest.raises(aiosmtplib.SMTPDataError) as spoofed:
        await aiosmtplib.send(
            reply(reply_to, "mallory@evil.test", "hi"), hostname="127.0.0.1", port=mail_in
        )
    assert spoofed.value.code == 550
    assert spoofed.value.message == "5.7.1 the sender is not this conversation's visitor"
    forged = reply_to.replace(cid, "cv_AAAAAAAAAAAAAAAA")
    for to in ("help@shop.test", forged, "someone@elsewhere.test"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as unmatched:
            await aiosmtplib.send(
                reply(to, "ann@example.com", "hi"), hostname="127.0.0.1", port=mail_in
            )
        assert unmatched.value.recipients[0].code == 550
    huge = reply(reply_to, "ann@example.com", "x" * (20 * 1024 * 1024))
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await aiosmtplib.send(huge, hostname="127.0.0.1", port=mail_in, timeout=120)
    assert too_big.value.code == 552
    async with api(chat) as client:
        stored = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert [m["author"]["kind"] for m in stored] == ["visitor", "agent"]
    await agent.close()


async def test_the_signed_http_endpoint(
    chat: ChatSite, sink: SmtpSink, node: BeckonProcess
) -> None:
    agent, cid, sent = await emailed_chat(chat, sink, "in-3", "bo@example.com")
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    secret = inbound_key(load_settings({"BECKON_SECRET_KEY": TEST_SECRET}))
    raw = bytes(reply(reply_to, "bo@example.com", "Posted by a provider", sent["Message-ID"]))
    url = "/api/v1/mail/inbound"
    async with httpx.AsyncClient(base_url=node.url) as client:
        unsigned = await client.post(url, content=raw)
        assert unsigned.status_code == 401
        assert unsigned.json()["error"] == {
            "code": "unauthorized",
            "message": "missing or bad X-Beckon-Signature",
        }
        bad = await client.post(
            url, content=raw, headers={"X-Beckon-Signature": sign(b"wrong", raw, int(time.time()))}
        )
        assert bad.status_code == 401
        good = {"X-Beckon-Signature": sign(secret, raw, int(time.time()))}
        first = await client.post(url, content=raw, headers=good)
        assert first.status_code == 200, first.text
        assert first.json() == {"status": "accepted", "conversation_id": cid, "seq": 3}
        again = await client.post(url, content=raw, headers=good)  # a provider's retry
        assert again.json() == first.json()
        junk = b"not an email"
        refused = await client.post(
            url, content=junk, headers={"X-Beckon-Signature": sign(secret, junk, int(time.time()))}
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == "not an email message: no From header"
        big = b"x" * (10 * 1024 * 1024 + 1)
        too_large = await client.post(url, content=big, headers=good)
        assert too_large.status_code == 413
        assert too_large.json()["error"]["code"] == "too_large"
    got = await agent.expect(lambda f: f["type"] == "message" and f["seq"] == 3)
    assert got["text"] == "Posted by a provider"
    await agent.close()


async def test_mail_in_asks_the_sender_to_retry_when_the_server_is_down(
    node: BeckonProcess, chat: ChatSite, sink: SmtpSink
) -> None:
    agent, _, sent = await emailed_chat(chat, sink, "in-4", "kim@example.com")
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    port, down = free_port(), free_port()  # nothing listens on `down`
    args = ["mail-in", "--port", str(port), "--forward-to", f"http://127.0.0.1:{down}"]
    proc = await asyncio.create_subprocess_exec(
        *BECKON, *args, env=node.env, cwd=node.cwd, stdout=asyncio.subprocess.DEVNULL
    )

    async def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        await wait_until(listening, bool, 20, "mail-in listening")
        with pytest.raises(aiosmtplib.SMTPDataError) as later:
            await aiosmtplib.send(
                reply(reply_to, "kim@example.com", "hello"), hostname="127.0.0.1", port=port
            )
        assert (later.value.code, later.value.message) == (451, "4.3.0 try again later")
    finally:
        proc.terminate()
        await proc.wait()
        await agent.close()
