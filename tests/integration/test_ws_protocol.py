"""Beckon's WebSocket protocol (server/ws_protocol.py) in a real `beckon serve`: idle
sockets get every frame in order, the 64 KiB cap and the close handshake keep their
codes, a handshake for another path is an HTTP 403 and one of another WebSocket version
a 426, a client breaking RFC 6455 is closed with 1002, a half-closed socket is let go.
(The slow reader's 4408 is tests/integration/test_hostile.py's.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import websockets

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.raw_ws import RawWs
from tests.ws_client import ORIGIN, WsClient, ws_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

VISITORS = 20
TABS = 6  # sockets per visitor (a visitor may hold 10)
BURST = 15  # frames sent back to back: under the 40-frame burst allowance


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("ws_protocol")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _visitor_tabs(chat: ChatSite) -> tuple[list[WsClient], str]:
    """TABS sockets of one visitor, the first of which started a chat all have seen."""
    first, welcome = await chat.visitor()
    tabs = [first]
    for _ in range(TABS - 1):
        tabs.append((await chat.visitor(visitor_token=welcome["visitor_token"]))[0])
    conv = await first.request({"type": "chat_start", "text": "start"})
    for tab in tabs:
        await tab.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
    return tabs, conv["id"]


async def test_idle_sockets_get_a_burst_whole_and_in_order(chat: ChatSite) -> None:
    groups = [await _visitor_tabs(chat) for _ in range(VISITORS)]
    # Every socket is idle now; then each visitor's first tab sends a burst, which every
    # tab of that visitor receives (the sender too). Each tab reads everything: the
    # client library stops reading a socket whose unread frames pile up.

    async def burst(tabs: list[WsClient], cid: str) -> None:
        for i in range(BURST):
            await tabs[0].send(
                {
                    "type": "message",
                    "conversation_id": cid,
                    "client_msg_id": f"b{i}",
                    "text": f"b{i}",
                }
            )

    async def received(tab: WsClient) -> list[tuple[int, str]]:
        frames = [await tab.expect("message", timeout=30) for _ in range(BURST)]
        return [(f["seq"], f["text"]) for f in frames]

    await asyncio.gather(*(burst(tabs, cid) for tabs, cid in groups))
    got = await asyncio.gather(*(received(tab) for tabs, _ in groups for tab in tabs))
    assert got == [[(i + 2, f"b{i}") for i in range(BURST)]] * (VISITORS * TABS)
    for tabs, _ in groups:
        for tab in tabs:
            await tab.close()


async def test_message_cap_is_64_kib_then_1009(chat: ChatSite) -> None:
    at_cap, _ = await chat.visitor()
    await at_cap.send_raw("x" * 65536)  # reaches the app, which finds no JSON in it
    assert (await at_cap.expect("error"))["code"] == "invalid_frame"
    assert (await at_cap.request({"type": "ping"}))["type"] == "pong"
    await at_cap.close()
    over, _ = await chat.visitor()
    await over.send_raw("x" * 65537)
    assert await over.closed() == (1009, "frame with 65537 bytes exceeds limit of 65536 bytes")


async def test_client_close_is_answered_with_its_code(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    await visitor.ws.close(4000, "bye")
    assert (visitor.ws.close_code, visitor.ws.close_reason) == (4000, "bye")
    # The node took the socket away cleanly and serves the next one.
    again, _ = await chat.visitor()
    assert (await again.request({"type": "ping"}))["type"] == "pong"
    await again.close()


async def test_socket_path_without_endpoint_is_http_403(chat: ChatSite) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await WsClient.connect(ws_url(chat.server_url, "/ws/nowhere"))
    assert refused.value.response.status_code == 403


async def test_half_closed_socket_is_let_go(chat: ChatSite) -> None:
    port = int(chat.server_url.rsplit(":", 1)[1])
    raw = await RawWs.connect(port, f"/ws/visitor?site={chat.site['key']}", ORIGIN)
    await raw.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
    while (await raw.recv_json())["type"] != "welcome":
        pass
    raw.writer.write_eof()  # no close frame: the client only stops sending
    async with asyncio.timeout(10):
        while await raw.reader.read(65536):
            pass  # whatever was in flight, then the server's end of the stream
    raw.abort()
    visitor, _ = await chat.visitor()
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    await visitor.close()


async def test_other_websocket_version_is_426_and_the_node_serves_on(chat: ChatSite) -> None:
    port = int(chat.server_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /ws/visitor?site={chat.site['key']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
        f"Origin: {ORIGIN}\r\n\r\n".encode()
    )
    async with asyncio.timeout(10):
        response = await reader.read()  # the server answers and closes
    writer.close()
    assert response.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"sec-websocket-version: 13\r\n" in response.lower()
    visitor, _ = await chat.visitor()
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    await visitor.close()


async def test_unmasked_client_frame_is_closed_1002(chat: ChatSite) -> None:
    port = int(chat.server_url.rsplit(":", 1)[1])
    raw = await RawWs.connect(port, f"/ws/visitor?site={chat.site['key']}", ORIGIN)
    payload = b'{"type":"ping"}'
    raw.writer.write(bytes((0x81, len(payload))) + payload)  # no mask bit
    async with asyncio.timeout(10):
        assert await raw.close_code() == 1002
    raw.abort()
