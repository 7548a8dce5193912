"""The console's live visitor view on a real node: a query, not a firehose.

With real visitor sockets: the `view` frame's window, exact counts per state, only
changed rows in the coalesced updates, bad queries refused. With 1,200 visitors driven
through Redis as another node writes them (`bench.live_visitors`): REST pages through
everyone with the same filters (no 500 cap) and the view's counts are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bench.live_visitors import LiveVisitors
from server.broker import open_broker
from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import REDIS_URL
from tests.ws_client import WsClient

SHOP = "https://shop.example.com"


def view_frame(site_id: str, **fields: object) -> dict:
    return {"type": "view", "site_id": site_id, **fields}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BeckonProcess]:
    async with running_node(tmp_path_factory.mktemp("view")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _visitors(chat: ChatSite) -> list[tuple[WsClient, str]]:
    out = []
    shapes = [
        {"page": {"url": f"{SHOP}/cart", "title": "Cart"}, "lang": "de-DE"},
        {"page": {"url": f"{SHOP}/shoes", "title": "Shoes"}, "lang": "fr"},
        {"page": {"url": f"{SHOP}/shoes/blue", "title": "Blue"}, "lang": "pt-BR"},
        {"page": {"url": f"{SHOP}/", "title": "Home"}, "lang": "de"},
    ]
    for hello in shapes:
        client, welcome = await chat.visitor(**hello)
        out.append((client, welcome["visitor_id"]))
    return out


class ViewReader:
    """Reads an agent socket's frames in order, holding the rows of the window as the
    console does, and checks the contract: a frame's `rows` are only rows new to the
    window or changed, and every id of the window is held after it."""

    def __init__(self, agent: WsClient) -> None:
        self.agent = agent
        self.held: dict[str, dict] = {}

    def take(self, frame: dict) -> None:
        for row in frame["rows"]:
            assert self.held.get(row["id"]) != row, f"unchanged row sent again: {row['id']}"
            self.held[row["id"]] = row
        assert all(vid in self.held for vid in frame["ids"]), frame
        self.held = {vid: self.held[vid] for vid in frame["ids"]}

    async def until(self, match: Callable[[dict], bool]) -> dict:
        async with asyncio.timeout(10):
            while True:
                frame = await self.agent.pump()
                if frame.get("type") == "visitor_view":
                    self.take(frame)
                if match(frame):
                    return frame

    async def request(self, frame: dict) -> dict:
        ref = self.agent.next_id("v")
        await self.agent.send({**frame, "ref": ref})
        return await self.until(lambda f: f.get("ref") == ref)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_view_sends_a_window_exact_counts_and_only_changed_rows(chat: ChatSite) -> None:
    site_id = chat.site["id"]
    visitors = await _visitors(chat)
    ids = [vid for _, vid in visitors]
    cart_visitor = visitors[0][0]
    await cart_visitor.send({"type": "cart", "value": 120.0, "currency": "EUR", "items": 2})
    queued = await visitors[1][0].request({"type": "chat_start", "text": "hello?"})
    agent, _ = await chat.agent_socket()
    view = ViewReader(agent)

    first = await view.request(view_frame(site_id, query={"sort": "page"}, limit=3))
    assert first["type"] == "visitor_view"
    assert (first["site_id"], first["offset"], first["total"]) == (site_id, 0, 4)
    assert first["query"] == {"sort": "page"}
    # Sorted by page URL: /, /cart, /shoes, /shoes/blue — the window is the first 3.
    assert first["ids"] == [ids[3], ids[0], ids[1]]
    assert [r["id"] for r in first["rows"]] == first["ids"]
    assert first["counts"]["online"] == 4
    assert first["counts"]["states"] == {"queued": 1, "in_chat": 0, "invited": 0, "browsing": 3}
    assert {r["id"]: r["state"] for r in first["rows"]}[ids[1]] == "queued"
    assert queued["status"] == "queued"

    # One visitor changes page: a later frame moves it out and brings the 4th row in,
    # sending that row (new to the window) and no unchanged one (ViewReader checks).
    await visitors[3][0].send({"type": "page_view", "url": f"{SHOP}/zzz", "title": "Z"})
    update = await view.until(
        lambda f: f.get("type") == "visitor_view" and f["ids"] == [ids[0], ids[1], ids[2]]
    )
    assert ids[2] in [r["id"] for r in update["rows"]]
    assert ids[3] not in [r["id"] for r in update["rows"]]
    # A filter: the console's view of the site is replaced.
    carts = await view.request(view_frame(site_id, query={"cart_min": 100}))
    assert (carts["ids"], carts["total"], carts["counts"]["with_cart"]) == ([ids[0]], 1, 1)
    assert view.held[ids[0]]["cart"]["value"] == 120.0
    by_lang = await view.request(view_frame(site_id, query={"lang": "de", "sort": "-page"}))
    assert by_lang["ids"] == [ids[3], ids[0]]
    assert ids[3] in [r["id"] for r in by_lang["rows"]]  # new to the window

    # A visitor leaves: counts follow.
    await visitors[3][0].close()
    left = await view.until(lambda f: f.get("type") == "visitor_view" and f["total"] == 1)
    assert (left["ids"], left["counts"]["online"]) == ([ids[0]], 3)

    # `watch` (the first version's frame) is the default view.
    watched = await view.request({"type": "watch", "site_id": site_id})
    assert watched["type"] == "visitor_view" and watched["total"] == 3
    gone = await agent.request({"type": "unwatch", "site_id": site_id})
    assert gone == {"type": "unwatched", "site_id": site_id, "ref": gone["ref"]}
    for client, _ in visitors[:3]:
        await client.close()
    await agent.close()


@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        (
            {"query": {"state": "chatting"}},
            "invalid_frame",
            "field 'query': 'state' must be a comma list of queued, in_chat, invited, browsing",
        ),
        ({"query": {"nope": "1"}}, "invalid_frame", "field 'query': unknown parameter 'nope'"),
        (
            {"query": {"cart_min": -5}},
            "invalid_frame",
            "field 'query': 'cart_min' must be a number ≥ 0",
        ),
        ({"limit": 500}, "invalid_frame", "field 'limit' must be an integer 1..200"),
        ({"offset": -1}, "invalid_frame", "field 'offset' must be an integer 0..1000000"),
        (
            {"query": {"q": ["x"]}},
            "invalid_frame",
            "field 'query.q' must be a string, number or boolean",
        ),
        ({"site_id": "st_nope"}, "not_found", "no such site"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_bad_views_are_refused_and_the_socket_stays(
    chat: ChatSite, frame: dict, code: str, message: str
) -> None:
    agent, _ = await chat.agent_socket()
    reply = await agent.request({**view_frame(chat.site["id"]), **frame})
    assert (reply["type"], reply["code"], reply["message"]) == ("error", code, message)
    assert (await agent.request({"type": "ping"}))["type"] == "pong"
    await agent.close()


# -- a busy shop: 1,200 visitors through Redis ------------------------------------------
@pytest.mark.redis
async def test_rest_pages_through_everyone_and_the_view_counts_are_exact(
    tmp_path: Path, redis_prefix: str
) -> None:
    env = {"BECKON_BROKER_URL": REDIS_URL, "BECKON_BROKER_PREFIX": redis_prefix}
    async with running_node(tmp_path, env=env) as node:
        chat = await make_chat_site(node)
        site_id = chat.site["id"]
        broker = open_broker(REDIS_URL, prefix=redis_prefix)
        await broker.start()
        try:
            load = LiveVisitors(broker, site_id, count=1200, seed=7)
            await load.arrive()
            facts = [s.facts for s in load.states.values()]
            expected_de = sorted(
                f.visitor_id for f in facts if f.country == "DE" and (f.cart_value or -1) >= 100
            )
            headers = {"Authorization": f"Bearer {chat.admin_token}"}
            async with node.client() as api:
                seen: list[str] = []
                cursor = None
                pages = 0
                while True:
                    params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
                    r = await api.get(
                        f"/api/v1/sites/{site_id}/visitors", params=params, headers=headers
                    )
                    assert r.status_code == 200, r.text
                    body = r.json()
                    assert (body["online"], body["total"]) == (1200, 1200)
                    seen += [item["id"] for item in body["items"]]
                    pages += 1
                    cursor = body["next_cursor"]
                    if cursor is None:
                        break
                assert pages == 6 and sorted(seen) == sorted(load.states)
                assert len(set(seen)) == 1200

                filtered = await api.get(
                    f"/api/v1/sites/{site_id}/visitors",
                    params={"country": "de", "cart_min": "100", "sort": "-cart", "limit": "200"},
                    headers=headers,
                )
                body = filtered.json()
                assert sorted(i["id"] for i in body["items"]) == expected_de
                assert body["total"] == len(expected_de) and body["next_cursor"] is None
                values = [i["cart"]["value"] for i in body["items"]]
                assert values == sorted(values, reverse=True)

                # The rule editor's "matching now" counts every visitor, not a sample.
                big_carts = {
                    "name": "Big carts",
                    "priority": 1,
                    "when": {"all": [{"fact": "cart.value", "op": "gte", "value": 100}]},
                    "variants": [{"id": "a", "weight": 1, "text": {"en": "Hi"}}],
                }
                matching = await api.post(
                    f"/api/v1/sites/{site_id}/rules/matching", json=big_carts, headers=headers
                )
                assert matching.status_code == 200, matching.text
                expected = sum(1 for f in facts if (f.cart_value or -1) >= 100)
                body = matching.json()
                assert (body["matching"], body["online"], body["exact"]) == (expected, 1200, True)
                assert 0 <= body["would_invite"] <= expected  # the gates apply on top

                for params, message in [
                    ({"cursor": "!!"}, "'cursor' is not valid"),
                    (
                        {"sort": "age"},
                        "'sort' must be one of on_site, name, page, cart, state, "
                        "returning, country, device, lang, page_views (prefix '-' to reverse)",
                    ),
                    ({"returning": "maybe"}, "'returning' must be true or false"),
                ]:
                    bad = await api.get(
                        f"/api/v1/sites/{site_id}/visitors", params=params, headers=headers
                    )
                    assert bad.status_code == 422
                    assert bad.json()["error"]["details"][0]["message"] == message
                bad = await api.get(
                    f"/api/v1/sites/{site_id}/visitors", params={"limit": "0"}, headers=headers
                )
                assert bad.status_code == 422
                assert bad.json()["error"]["details"][0]["path"] == "limit"

            agent, _ = await chat.agent_socket()
            view = await agent.request(
                view_frame(site_id, query={"country": "DE", "cart_min": 100}, limit=200)
            )
            assert (view["total"], sorted(view["ids"])) == (len(expected_de), expected_de)
            assert view["counts"]["online"] == 1200
            everyone = await agent.request(view_frame(site_id, offset=1150, limit=100))
            assert (everyone["total"], len(everyone["ids"])) == (1200, 50)
            # 300 leave at once: the next frame's counts are exact again.
            await load.leave(list(load.states)[:300])
            after = await agent.expect(
                lambda f: f.get("type") == "visitor_view" and f["counts"]["online"] == 900
            )
            assert after["total"] == 900 and after["ids"] == []  # offset 1150 is past the end
            await agent.close()
        finally:
            await broker.close()
