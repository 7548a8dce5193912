"""The visitor's country from a trusted edge header (BECKON_GEO_COUNTRY_HEADER): shown in
the visitor context, usable by rules as `visitor.country`, and ignored when the server was
not told to trust the header (a browser could send it itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import online_agent
from tests.ws_client import WsClient, ws_url

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def edge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChatSite]:
    trusted = {"BECKON_GEO_COUNTRY_HEADER": "CF-IPCountry"}
    async with running_node(tmp_path_factory.mktemp("edge"), env=trusted) as process:
        yield await make_chat_site(process)


async def visitor_from(chat: ChatSite, country: str | None) -> tuple[WsClient, str]:
    headers = {"CF-IPCountry": country} if country is not None else {}
    url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
    client = await WsClient.connect(url, headers=headers)
    await client.send({"type": "hello", "ref": "hello", "page": {"url": "https://shop.example/"}})
    welcome = await client.expect("welcome")
    return client, welcome["visitor_id"]


async def context(chat: ChatSite, visitor_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as api:
        response = await api.get(
            f"/api/v1/sites/{chat.site['id']}/visitors/{visitor_id}",
            headers={"Authorization": f"Bearer {chat.admin_token}"},
        )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("sent", "shown"), [("hr", {"country": "HR"}), ("XX", None), (None, None)])
async def test_country_in_the_visitor_context(edge: ChatSite, sent: str | None, shown: Any) -> None:
    client, visitor_id = await visitor_from(edge, sent)
    try:
        assert (await context(edge, visitor_id))["location"] == shown
    finally:
        await client.close()


async def test_a_rule_on_the_country_invites_only_that_country(edge: ChatSite) -> None:
    rule = {
        "name": "Croatian visitors",
        "enabled": True,
        "priority": 5,
        "when": {"fact": "visitor.country", "op": "in", "value": ["HR", "SI"]},
        "variants": [{"id": "a", "weight": 1, "text": {"en": "Bok! Need help?"}}],
    }
    async with httpx.AsyncClient(base_url=edge.server_url, timeout=10) as api:
        created = await api.post(
            f"/api/v1/sites/{edge.site['id']}/rules",
            json=rule,
            headers={"Authorization": f"Bearer {edge.admin_token}"},
        )
    assert created.status_code == 201, created.text
    agent = await online_agent(edge, edge.server_url, edge.agent_token)
    try:
        german, _ = await visitor_from(edge, "DE")
        croatian, _ = await visitor_from(edge, "HR")
        invitation = await croatian.expect("invitation")
        assert invitation["text"] == "Bok! Need help?"
        # Frames on one socket keep their order: the German visitor's reply to a ping
        # comes after any invitation the engine sent it at hello.
        reply = await german.request({"type": "ping", "ref": "p"})
        assert reply["type"] == "pong"
        assert [f for f in german.frames if f.get("type") == "invitation"] == []
    finally:
        await agent.close()
        for client in (german, croatian):
            await client.close()


async def test_the_header_is_ignored_unless_the_server_trusts_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async with running_node(tmp_path_factory.mktemp("no-edge")) as process:
        chat = await make_chat_site(process)
        client, visitor_id = await visitor_from(chat, "HR")
        assert (await context(chat, visitor_id))["location"] is None
        await client.close()
