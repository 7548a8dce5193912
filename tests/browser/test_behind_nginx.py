"""Two nodes (PostgreSQL, Redis on the test's own prefix) behind Debian's nginx running
docs/deploy/nginx.conf as-is, TLS included.

- The client's address and https come through the proxy, and only from it
  (BECKON_TRUSTED_PROXIES): sign-in lockouts are per client behind one proxy and
  ignore a forged X-Forwarded-For; cookies are Secure and the demo page names the
  widget by https; a forged X-Forwarded-Proto sent straight to a node changes nothing.
- The widget in Chromium on the demo page through nginx: the node holding the
  visitor's socket is SIGKILLed while the visitor types; the widget reconnects through
  nginx, lands on the other node, resumes and re-sends its outbox, and the agent gets
  every message exactly once, in order (lost, duplicated and reordered are counted).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as redis
from playwright.async_api import Browser, expect

from tests.beckon_process import ADMIN_EMAIL, ADMIN_PASSWORD, BeckonProcess
from tests.browser.widget.parties import (
    agent_offline,
    agent_online,
    agent_take,
    allow_origin,
    open_tab,
    visitor_texts,
)
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.conftest import REDIS_URL, require_service
from tests.nginx_proxy import NginxProxy
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.asyncio(loop_scope="module"),
]
MAX_FAILURES = 2  # BECKON_LOGIN_MAX_FAILURES(_PER_ADDRESS) on the nodes
BEFORE_KILL = 6  # messages sent before the kill starts; the rest race it or follow it
TOTAL = 20
FAILOVER_MS = 20_000
RATE_LIMITED = {
    "error": {"code": "rate_limited", "message": "too many failed sign-ins; try again later"}
}


@dataclass
class Proxied:
    proxy: NginxProxy
    nodes: list[BeckonProcess]
    chat: ChatSite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxied(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Proxied]:
    require_service("Redis", 6379)
    tmp = tmp_path_factory.mktemp("nginx")
    prefix = f"beckon-test:{secrets.token_hex(6)}:"
    env = {
        "BECKON_TRUSTED_PROXIES": "127.0.0.1/32",  # nginx reaches the nodes from here
        "BECKON_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        # The lockout keyed by client address is what tells clients apart through nginx.
        "BECKON_LOGIN_MAX_FAILURES_PER_ADDRESS": str(MAX_FAILURES),
    }
    try:
        async with cluster(tmp, nodes=2, prefix=prefix, extra_env=env) as nodes:
            proxy = NginxProxy(tmp, [f"127.0.0.1:{n.port}" for n in nodes])
            await proxy.start()
            try:
                chat = await make_chat_site(nodes[0])
                await allow_origin(chat, proxy.url)
                yield Proxied(proxy, nodes, chat)
            finally:
                await proxy.stop()
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def client_at(source: str, base_url: str) -> httpx.AsyncClient:
    """A client whose connections come from loopback address `source` (127.0.0.0/8)."""
    transport = httpx.AsyncHTTPTransport(local_address=source, verify=False)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10)


def is_secure(response: httpx.Response) -> bool:
    cookie = response.headers["set-cookie"].lower()
    return "secure" in [part.strip() for part in cookie.split(";")]


async def test_client_address_and_https_come_through_nginx(proxied: Proxied) -> None:
    proxy, node = proxied.proxy, proxied.nodes[0]
    wrong = {"password": "not the password"}
    async with client_at("127.0.0.2", proxy.url) as mallory:
        for i in range(MAX_FAILURES):
            # A forged X-Forwarded-For: nginx appends the real address, which wins.
            response = await mallory.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{i}@example.com", **wrong},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthorized"
        response = await mallory.post(
            "/api/v1/auth/login", json={"email": "nobody9@example.com", **wrong}
        )
        assert (response.status_code, response.json()) == (429, RATE_LIMITED)

    async with client_at("127.0.0.3", proxy.url) as alice:
        # Not locked out with the other client, though both reach the nodes through
        # the same proxy; and TLS ended at nginx: the cookie is Secure.
        signed_in = await alice.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert is_secure(signed_in)
        page = await alice.get(f"/demo/?site={proxied.chat.site['key']}")
        assert page.status_code == 200
        assert f'<script src="{proxy.url}/widget.js"' in page.text

    async with client_at("127.0.0.3", node.url) as direct:
        # Straight to a node from an untrusted address: its forged header is ignored.
        signed_in = await direct.post(
            "/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert signed_in.status_code == 200, signed_in.text
        assert not is_secure(signed_in)
        page = await direct.get(
            f"/demo/?site={proxied.chat.site['key']}", headers={"X-Forwarded-Proto": "https"}
        )
        assert f'<script src="{node.url}/widget.js"' in page.text

    async with httpx.AsyncClient(timeout=10) as plain:
        response = await plain.get(f"http://127.0.0.1:{proxy.redirect_port}/demo/")
    assert response.status_code == 301
    assert response.headers["location"] == "https://127.0.0.1/demo/"


async def _visitor_sockets(node: BeckonProcess) -> float:
    async with node.client() as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith('beckon_connections{kind="visitor"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_node_killed_mid_chat_widget_continues_through_nginx(
    browser: Browser, proxied: Proxied, tmp_path: Path
) -> None:
    proxy, nodes, chat = proxied.proxy, proxied.nodes, proxied.chat
    tab = await open_tab(
        browser, f"{proxy.url}/demo/?site={chat.site['key']}", ignore_https_errors=True
    )
    await tab.received_matching(lambda f: f.get("type") == "welcome")
    assert tab.sockets == [f"wss://127.0.0.1:{proxy.port}/ws/visitor?site={chat.site['key']}"]

    async def sockets() -> list[float]:
        return [await _visitor_sockets(n) for n in nodes]

    counts = await wait_until(sockets, lambda c: sorted(c) == [0, 1], 10, "the visitor's node")
    doomed, survivor = (nodes[0], nodes[1]) if counts[0] else (nodes[1], nodes[0])
    # The agent on the node that stays up; the visitor sees it come online.
    agent = await agent_online(chat, survivor.url)
    await tab.received_matching(lambda f: f.get("type") == "availability" and f["online"])
    await tab.shadow("button.l").click()
    composer = tab.shadow("textarea")

    async def say(text: str) -> None:
        await composer.fill(text)
        await composer.press("Enter")

    await say("first")
    conv_id = await agent_take(agent)
    await expect(tab.shadow(".pending")).to_have_count(0)

    sent = [f"m{n:02}" for n in range(1, TOTAL + 1)]
    for text in sent[:BEFORE_KILL]:
        await say(text)
    killer = asyncio.create_task(doomed.kill())  # SIGKILL while the visitor keeps typing
    for text in sent[BEFORE_KILL:]:
        await say(text)
    await killer
    await expect(tab.shadow(".pending")).to_have_count(0, timeout=FAILOVER_MS)
    await say("last")  # after the failover: reveals any gap the kill left, to be filled

    def from_visitor(frame: dict[str, Any]) -> bool:
        return (
            frame.get("type") == "message"
            and frame.get("conversation_id") == conv_id
            and frame["author"]["kind"] == "visitor"
        )

    arrived = []
    while not arrived or arrived[-1]["text"] != "last":
        arrived.append(await agent.expect(from_visitor, timeout=FAILOVER_MS / 1000))
    expected = ["first", *sent, "last"]
    texts = [f["text"] for f in arrived]
    stored = await visitor_texts(survivor.url, chat.agent_token, conv_id)
    firsts = list(dict.fromkeys(texts))
    figures = {
        "sent": len(expected),
        "lost": len(set(expected) - set(stored)),
        "duplicated": len(stored) - len(set(stored)) + len(texts) - len(set(texts)),
        "reordered": int(firsts != [t for t in expected if t in firsts]),
        "sockets": len(tab.sockets),
    }
    print(f"\nnginx failover: {figures}")
    assert figures["lost"] == figures["duplicated"] == figures["reordered"] == 0
    assert stored == expected
    # "first" may reach the agent before it took the chat (then only in the history).
    assert texts in (expected, expected[1:])
    assert len(tab.sockets) >= 2 and len(set(tab.sockets)) == 1  # always through nginx
    assert [await _visitor_sockets(survivor)] == [1]
    await expect(tab.shadow(".m.v")).to_have_count(len(expected))
    shown = [t.strip() for t in await tab.shadow(".m.v").all_text_contents()]
    assert shown == expected
    assert tab.dialogs == [] and tab.errors == []
    await tab.context.close()
    await agent_offline(agent)
