"""Per client address limits on visitor sockets, chat starts and offline messages
(docs/security.md, "Per-IP limits and trusted proxies"), against real
`beckon serve` nodes: the address is the peer's unless a trusted proxy says otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from websockets.exceptions import ConnectionClosed

from tests.beckon_process import running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import RedisServer, cluster
from tests.ws_client import WsClient, ws_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

HELLO = {"type": "hello", "page": {"url": "https://shop.example.com/"}, "ref": "hello"}
TOO_MANY_SOCKETS = (4429, "too many open sockets from this address")
TOO_MANY_CONNECTS = (4429, "too many connections from this address; retry shortly")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def direct(tmp_path_factory) -> AsyncIterator[ChatSite]:  # type: ignore[no-untyped-def]
    """Nothing trusted (the default), the default socket limit; the connect rate out of
    the way."""
    env = {"BECKON_IP_MAX_VISITOR_SOCKETS": "100", "BECKON_IP_VISITOR_CONNECTS_PER_S": "10000"}
    async with running_node(tmp_path_factory.mktemp("direct"), env=env) as node:
        yield await make_chat_site(node)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxied(tmp_path_factory) -> AsyncIterator[ChatSite]:  # type: ignore[no-untyped-def]
    """Behind a trusted proxy on loopback, with small budgets per client address."""
    env = {
        "BECKON_TRUSTED_PROXIES": "127.0.0.1/32",
        "BECKON_IP_MAX_VISITOR_SOCKETS": "3",
        "BECKON_IP_VISITOR_CONNECTS_PER_S": "5",
        "BECKON_IP_CHAT_STARTS_PER_HOUR": "2",
        "BECKON_IP_OFFLINE_MESSAGES_PER_HOUR": "2",
        "BECKON_IP_CONVERSIONS_PER_HOUR": "1",
    }
    async with running_node(tmp_path_factory.mktemp("proxied"), env=env) as node:
        yield await make_chat_site(node)


async def _connect(
    chat: ChatSite,
    forwarded_for: str | None = None,
    node_url: str | None = None,
    visitor_token: str | None = None,
) -> tuple[WsClient | None, tuple[int | None, str] | None]:
    """(client that got its welcome, None) or (None, (close code, reason)). The
    client's `welcome` stays in its `frames`."""
    url = ws_url(node_url or chat.server_url, f"/ws/visitor?site={chat.site['key']}")
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    client = await WsClient.connect(url, headers=headers)
    hello = {**HELLO, "visitor_token": visitor_token} if visitor_token else HELLO
    try:
        await client.send(hello)
        client.frames.append(await client.expect("welcome"))
    except ConnectionClosed as exc:
        return None, (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
    return client, None


async def _close_all(clients: list[WsClient | None]) -> None:
    await asyncio.gather(*(c.close() for c in clients if c is not None))


async def test_300_sockets_from_one_address_and_forged_forwarded_for(direct: ChatSite) -> None:
    # Each socket claims another client in X-Forwarded-For: from a peer nobody trusts,
    # that changes nothing — they are all 127.0.0.1, whose limit is 100.
    gate = asyncio.Semaphore(20)

    async def one(n: int) -> tuple[WsClient | None, tuple[int | None, str] | None]:
        async with gate:
            return await _connect(direct, forwarded_for=f"198.51.100.{n % 250}, 10.0.0.{n % 250}")

    results = await asyncio.gather(*(one(n) for n in range(300)))
    accepted = [client for client, _ in results if client is not None]
    refusals = [refusal for _, refusal in results if refusal is not None]
    assert len(accepted) == 100
    assert set(refusals) == {TOO_MANY_SOCKETS} and len(refusals) == 200
    # closing sockets gives the budget back
    await accepted.pop().close()
    replacement = None
    for _ in range(100):  # the server counts the close once it has seen it
        replacement, refusal = await _connect(direct)
        if replacement is not None:
            break
        assert refusal == TOO_MANY_SOCKETS
        await asyncio.sleep(0.05)
    assert replacement is not None
    await _close_all([*accepted, replacement])


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(proxied: ChatSite) -> None:
    ann = [await _connect(proxied, "203.0.113.1") for _ in range(4)]
    assert [refusal for _, refusal in ann] == [None, None, None, TOO_MANY_SOCKETS]
    # another client behind the same proxy is not locked out by the first
    bo, refusal = await _connect(proxied, "203.0.113.2")
    assert refusal is None
    # the proxy's own address, and what a client wrote before the proxy's entry: the
    # proxy appends the peer it saw, and that is the one believed
    cy, refusal = await _connect(proxied, "203.0.113.1, 203.0.113.3")
    assert refusal is None
    await _close_all([client for client, _ in ann] + [bo, cy])


async def test_connects_per_second_per_address(proxied: ChatSite) -> None:
    results = await asyncio.gather(*(_connect(proxied, "203.0.113.50") for _ in range(40)))
    refusals = {refusal for _, refusal in results if refusal is not None}
    assert refusals <= {TOO_MANY_CONNECTS, TOO_MANY_SOCKETS}
    assert TOO_MANY_CONNECTS in refusals
    # another address is not slowed down
    other, refusal = await _connect(proxied, "203.0.113.51")
    assert refusal is None
    await _close_all([client for client, _ in results] + [other])


async def test_chat_starts_and_offline_messages_per_address(proxied: ChatSite) -> None:
    # three visitors (no token: three visitor ids) behind one forwarded address
    visitors = []
    for _ in range(3):
        client, refusal = await _connect(proxied, "203.0.113.70")
        assert refusal is None and client is not None
        visitors.append(client)
    frame = {"type": "offline_message", "email": "eve@example.com", "text": "call me"}
    assert (await visitors[0].request(frame))["type"] == "offline_message_saved"
    assert (await visitors[1].request(frame))["type"] == "offline_message_saved"
    error = await visitors[2].request(frame)
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "at most 2 offline messages per hour from this address",
    )
    assert (await visitors[0].request({"type": "chat_start"}))["type"] == "conversation"
    assert (await visitors[1].request({"type": "chat_start"}))["type"] == "conversation"
    error = await visitors[2].request({"type": "chat_start"})
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "at most 2 new conversations per hour from this address",
    )
    # the refused visitor was not charged: from another address it may start one
    await visitors[2].close()
    other, _ = await _connect(proxied, "203.0.113.71")
    assert other is not None
    assert (await other.request({"type": "chat_start"}))["type"] == "conversation"
    await _close_all([*visitors[:2], other])


async def test_conversions_per_address(proxied: ChatSite) -> None:
    first, _ = await _connect(proxied, "203.0.113.80")
    second, _ = await _connect(proxied, "203.0.113.80")
    assert first is not None and second is not None
    frame = {"type": "track", "event": "conversion", "props": {"value": 5}}
    await first.send(frame)
    assert (await first.request({"type": "ping"}))["type"] == "pong"
    assert not [f for f in first.frames if f.get("type") == "error"]
    error = await second.request(frame)
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "at most 1 conversions per hour from this address",
    )
    await _close_all([first, second])


async def test_open_sockets_are_counted_across_nodes(tmp_path: Path, redis_prefix: str) -> None:
    env = {
        "BECKON_IP_MAX_VISITOR_SOCKETS": "4",
        "BECKON_IP_VISITOR_CONNECTS_PER_S": "10000",
        "BECKON_VISITOR_OFFLINE_MESSAGES_PER_HOUR": "1",
    }
    async with cluster(tmp_path, prefix=redis_prefix, extra_env=env) as (a, b):
        chat = await make_chat_site(a)
        first, _ = await _connect(chat, node_url=a.url)
        assert first is not None
        token = (await first.expect("welcome"))["visitor_token"]
        # the same visitor on the other node
        opened = [(first, None), await _connect(chat, node_url=b.url, visitor_token=token)]
        opened += [await _connect(chat, node_url=node.url) for node in (a, b)]
        assert [refusal for _, refusal in opened] == [None] * 4
        for node in (a, b):
            assert (await _connect(chat, node_url=node.url))[1] == TOO_MANY_SOCKETS
        # a visitor's quotas are shared by its sockets on every node too
        frame = {"type": "offline_message", "email": "eve@example.com", "text": "call me"}
        tab_a, tab_b = opened[0][0], opened[1][0]
        assert tab_a is not None and tab_b is not None
        assert (await tab_a.request(frame))["type"] == "offline_message_saved"
        error = await tab_b.request(frame)
        assert (error["code"], error["message"]) == (
            "rate_limited",
            "at most 1 offline messages per hour per visitor",
        )
        await _close_all([client for client, _ in opened])


async def test_without_the_broker_a_new_socket_is_told_to_retry(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    await redis.start()
    try:
        env = {"BECKON_BROKER_URL": redis.url}
        async with running_node(tmp_path, env=env) as node:
            chat = await make_chat_site(node)
            visitor, refusal = await _connect(chat)
            assert refusal is None and visitor is not None
            await visitor.close()
            await redis.kill()
            _, refusal = await _connect(chat)
            assert refusal == (1013, "temporarily unavailable; reconnect")
    finally:
        await redis.kill()
