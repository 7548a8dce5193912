"""Hostile input on the sockets: each gets its error or close code, and the server keeps
serving everyone else (guarantee 6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio
import websockets

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.raw_ws import RawWs
from tests.ws_client import ORIGIN, WsClient, ws_url

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("hostile")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def _deep(depth: int) -> str:
    return '{"type":"ping","x":' + "[" * depth + "]" * depth + "}"


ERROR_ROWS = [
    ("deep nesting", _deep(40), "invalid_frame"),
    ("NaN", '{"type":"cart","value":NaN,"currency":"EUR"}', "invalid_frame"),
    ("Infinity", '{"type":"cart","value":Infinity,"currency":"EUR"}', "invalid_frame"),
    ("lone surrogate", '{"type":"track","event":"\\ud800"}', "invalid_frame"),
    ("NUL", '{"type":"track","event":"a\\u0000b"}', "invalid_frame"),
    ("not json", "{nope", "invalid_frame"),
    ("not an object", "[1,2]", "invalid_frame"),
    ("unknown type", '{"type":"teleport"}', "unknown_type"),
    (
        "missing field",
        '{"type":"message","conversation_id":"cv_1","client_msg_id":"a"}',
        "invalid_frame",
    ),
    ("extra field", '{"type":"ping","colour":"red"}', "invalid_frame"),
    ("wrong type", '{"type":"read","conversation_id":"cv_1","seq":"7"}', "invalid_frame"),
    ("negative cart", '{"type":"cart","value":-1,"currency":"EUR"}', "invalid_frame"),
    (
        "text too long",
        orjson.dumps({"type": "chat_start", "text": "x" * 4001}).decode(),
        "invalid_frame",
    ),
    ("blank text", '{"type":"chat_start","text":"   "}', "invalid_frame"),
]


@pytest.mark.parametrize(("name", "raw", "code"), ERROR_ROWS, ids=[r[0] for r in ERROR_ROWS])
async def test_bad_frames_get_an_error_and_the_socket_lives(
    chat: ChatSite, name: str, raw: str, code: str
) -> None:
    visitor, _ = await chat.visitor()
    await visitor.send_raw(raw)
    error = await visitor.expect("error")
    assert error["code"] == code, (name, error)
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    await visitor.close()


async def test_errors_carry_the_ref(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    await visitor.send({"type": "read", "conversation_id": "x", "seq": "no", "ref": "r-9"})
    error = await visitor.expect("error")
    assert error == {
        "type": "error",
        "code": "invalid_frame",
        "message": error["message"],
        "ref": "r-9",
    }
    assert "seq" in error["message"]
    await visitor.close()


async def test_binary_frame(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    await visitor.send_raw(b'{"type":"ping"}')
    error = await visitor.expect("error")
    assert error["code"] == "invalid_frame"
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    await visitor.close()


async def test_oversize_frame_closes_1009(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    await visitor.send_raw(orjson.dumps({"type": "track", "event": "x" * 70_000}).decode())
    code, _ = await visitor.closed()
    assert code == 1009


async def test_wrong_origin_and_unknown_site_close_4403(chat: ChatSite) -> None:
    url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
    for origin in ("https://evil.example.net", None, "https://shop.example.com:8443"):
        client = await WsClient.connect(url, origin=origin)
        assert await client.closed() == (4403, "origin not allowed")
    client = await WsClient.connect(ws_url(chat.server_url, "/ws/visitor?site=sk_nope"))
    assert await client.closed() == (4403, "unknown site")


async def test_first_frame_must_be_hello(chat: ChatSite) -> None:
    client = await WsClient.connect(ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}"))
    await client.send({"type": "ping", "ref": "p"})
    error = await client.expect("error")
    assert (error["code"], error["message"], error["ref"]) == (
        "invalid_frame",
        "the first frame must be hello",
        "p",
    )
    await client.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
    assert (await client.expect("welcome"))["type"] == "welcome"
    await client.close()


async def test_bad_identity_hash_stays_anonymous(chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor(
        identity={"user_id": "u1", "user_hash": "0" * 64, "name": "Eve"}
    )
    error = await visitor.expect("error")
    assert error["code"] == "unauthorized"
    assert error["message"] == "identity could not be verified; the visitor stays anonymous"
    assert welcome["visitor_id"]
    await visitor.close()


async def test_forged_and_foreign_visitor_tokens(chat: ChatSite) -> None:
    _, first = await chat.visitor()
    token = first["visitor_token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "v1.e30.abc", "garbage"):
        visitor, welcome = await chat.visitor(visitor_token=bad)
        assert welcome["visitor_id"] != first["visitor_id"]
        assert (await visitor.expect("error"))["code"] == "unauthorized"
        await visitor.close()


async def test_agent_socket_needs_auth(chat: ChatSite) -> None:
    url = ws_url(chat.server_url, "/ws/agent")
    client = await WsClient.connect(url, origin=None)
    await client.send({"type": "hello", "token": "bk_forged"})
    assert await client.closed() == (4401, "sign in first")
    client = await WsClient.connect(url, origin="https://evil.example.net")
    assert await client.closed() == (4403, "origin not allowed")


async def test_flood_is_rate_limited_then_closed_and_others_are_fine(chat: ChatSite) -> None:
    flooder, _ = await chat.visitor()
    bystander, _ = await chat.visitor()
    frame = orjson.dumps({"type": "track", "event": "spam"}).decode()
    sent = 0
    try:
        async with asyncio.timeout(20):
            while sent < 10_000:
                await flooder.ws.send(frame)
                sent += 1
    except (websockets.ConnectionClosed, TimeoutError):
        pass
    code, _ = await flooder.closed()
    assert code == 4429
    assert any(f.get("code") == "rate_limited" for f in flooder.frames)
    assert (await bystander.request({"type": "ping"}))["type"] == "pong"
    await bystander.close()


@pytest.mark.timeout(300)
async def test_slow_reader_is_closed_4408_and_can_resume(chat: ChatSite) -> None:
    port = int(chat.server_url.rsplit(":", 1)[1])
    visitor = await RawWs.connect(port, f"/ws/visitor?site={chat.site['key']}", ORIGIN)
    await visitor.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
    welcome = await visitor.recv_json()
    await visitor.send({"type": "chat_start", "text": "hi"})
    conv = await visitor.recv_json()
    assert conv["type"] == "conversation"
    agents = [(await chat.agent_socket())[0] for _ in range(16)]
    await agents[0].request({"type": "accept", "conversation_id": conv["id"]})
    big = "y" * 3900

    # From here the visitor reads nothing: its TCP buffers fill, then the server's bounded
    # queue. 16 sockets × 130 messages × 3.9 KB ≈ 8 MB is more than the kernel buffers
    # (4 MB send side here) plus the 1 MiB per-socket queue.
    async def pump(index: int, agent: WsClient) -> list[int]:
        seqs = []
        for _ in range(130):
            await asyncio.sleep(1 / 15)  # under the per-socket rate limit
            ack = await agent.request(
                {
                    "type": "message",
                    "conversation_id": conv["id"],
                    "client_msg_id": agent.next_id(f"s{index}-"),
                    "text": big,
                },
                timeout=90,  # a loaded machine; this test is about 4408, not latency
            )
            assert ack["type"] == "message", ack
            seqs.append(ack["seq"])
        return seqs

    acked = sorted(
        s
        for seqs in await asyncio.gather(*(pump(i, a) for i, a in enumerate(agents)))
        for s in seqs
    )
    assert len(acked) == len(set(acked)) == 16 * 130
    async with asyncio.timeout(30):
        assert await visitor.close_code() == 4408
    visitor.abort()
    back, _ = await chat.visitor(
        visitor_token=welcome["visitor_token"], conversation={"id": conv["id"], "after_seq": 0}
    )
    last = max(acked)
    seqs = [(await back.expect("message"))["seq"] for _ in range(last)]
    assert seqs == list(range(1, last + 1))
    await back.close()
    for agent in agents:
        await agent.close()
