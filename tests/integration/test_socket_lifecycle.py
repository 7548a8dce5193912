"""Socket lifecycle: no hello, too many sockets, and server shutdown (1012)."""

from __future__ import annotations

import asyncio

from tests.beckon_process import BeckonProcess
from tests.chat_setup import make_chat_site
from tests.ws_client import WsClient, ws_url


async def test_lifecycle_limits_and_shutdown(server: BeckonProcess) -> None:
    chat = await make_chat_site(server)
    url = ws_url(server.url, f"/ws/visitor?site={chat.site['key']}")

    # No hello within 10 s: 4408 with a reason. (One real 10 s wait, run alongside.)
    silent = await WsClient.connect(url)
    silent_closed = asyncio.create_task(silent.closed(timeout=20))

    # Too many sockets for one visitor token.
    first, welcome = await chat.visitor()
    extra = [(await chat.visitor(visitor_token=welcome["visitor_token"]))[0] for _ in range(9)]
    over = await WsClient.connect(url)
    await over.send(
        {
            "type": "hello",
            "page": {"url": "https://shop.example.com/"},
            "visitor_token": welcome["visitor_token"],
        }
    )
    assert await over.closed() == (4429, "too many connections for this visitor")
    assert (await first.request({"type": "ping"}))["type"] == "pong"

    assert await silent_closed == (4408, "hello not received within 10 s")

    # Shutdown: open sockets are told to reconnect elsewhere.
    conv = await first.request({"type": "chat_start", "text": "before shutdown"})
    assert conv["type"] == "conversation"
    closing = asyncio.gather(first.closed(timeout=20), *(c.closed(timeout=20) for c in extra))
    await server.stop()
    codes = {code for code, _ in await closing}
    assert codes == {1012}
