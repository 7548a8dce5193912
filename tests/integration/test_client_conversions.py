"""Conversions the widget reports are marked client-reported (any visitor can send one)
and kept out of a rule's conversions, revenue and uplift unless the site trusts them;
conversions the site's backend posts (`POST /sites/{id}/events`) always count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site

pytestmark = pytest.mark.asyncio(loop_scope="module")
RULE = {
    "name": "Everyone",
    "when": {"all": [{"fact": "page.path", "op": "glob", "value": "/*"}]},
    "variants": [{"id": "a", "weight": 1, "text": {"en": "Hi"}}],
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("conversions")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def admin(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
        timeout=20,
    )


def conversion(value: float, order_id: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "conversion",
        "props": {"value": value, "currency": "EUR", "order_id": order_id},
    }


async def test_widget_conversions_stay_out_of_uplift_unless_trusted(chat: ChatSite) -> None:
    site = chat.site["id"]
    async with admin(chat) as client:
        saved = await client.post(f"/api/v1/sites/{site}/rules", json=RULE)
        assert saved.status_code == 201, saved.text
        rule_id = saved.json()["id"]
        visitor, welcome = await chat.visitor(page={"url": "https://shop.example.com/"})
        await visitor.expect("invitation", timeout=15)
        # The widget reports a big order; the shop's backend reports a small one.
        await visitor.send(conversion(990, "widget-1"))
        await visitor.request({"type": "ping"})  # the frames before it are handled
        await visitor.close()
        posted = await client.post(
            f"/api/v1/sites/{site}/events",
            json={"visitor_id": welcome["visitor_id"], "event": conversion(10, "server-1")},
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["conversion"]["client_reported"] is False
        stats_url = f"/api/v1/sites/{site}/rules/{rule_id}/stats"
        stats = (await client.get(stats_url)).json()
        assert stats["invited"]["conversions"] == 1
        assert stats["invited"]["revenue"] == {"EUR": 10.0}
        assert stats["client_reported_excluded"] == 1
        assert stats["uplift"]["invited_rate"] == 1.0
        # The site decides to trust its widget: both count.
        trusted = await client.patch(
            f"/api/v1/sites/{site}", json={"settings": {"trust_client_conversions": True}}
        )
        assert trusted.status_code == 200, trusted.text
        assert trusted.json()["settings"]["trust_client_conversions"] is True
        stats = (await client.get(stats_url)).json()
        assert stats["invited"]["conversions"] == 2
        assert stats["invited"]["revenue"] == {"EUR": 1000.0}
        assert stats["client_reported_excluded"] == 0
        # Saving other options (as the admin's form does) keeps it.
        other = await client.patch(
            f"/api/v1/sites/{site}", json={"settings": {"queue_timeout_s": 700}}
        )
        assert other.json()["settings"]["trust_client_conversions"] is True
        assert other.json()["settings"]["queue_timeout_s"] == 700
        wrong = await client.patch(
            f"/api/v1/sites/{site}", json={"settings": {"trust_client_conversions": "yes"}}
        )
        assert wrong.status_code == 422
        assert wrong.json()["error"]["details"][0]["path"] == "settings.trust_client_conversions"
