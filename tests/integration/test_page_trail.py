"""The visitor's page trail: kept with the visitor's state, bounded,
restarted by a new visit, in `GET …/visitors/{id}` as `pages`, and sent live to the
agents of the visitor's open chat as `visitor_page` frames (never to the visitor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from invitations import VisitorFacts, apply_event
from server.chat import page_trail
from server.chat.page_trail import MAX_TRAIL_PAGES
from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import online_agent


def page_view(url: str, title: str | None = None) -> dict:
    return {"type": "page_view", "url": url, **({"title": title} if title else {})}


def walk(events: list[tuple[float, dict]]) -> list[dict]:
    facts, trail = VisitorFacts("vi_1"), []
    for now, event in events:
        after = apply_event(facts, event, now)
        trail = page_trail.advance(trail, facts, after) or trail
        facts = after
    return trail


# -- the pure part -------------------------------------------------------------------------
def test_pages_enter_in_order_with_when_each_was_opened() -> None:
    trail = walk(
        [
            (1000.0, page_view("https://s.example/", "Home")),
            (1012.5, page_view("https://s.example/p/lamp?c=oak", "Lamp")),
            (1013.0, {"type": "track", "event": "scroll", "props": {"depth": 50}}),
            (1040.0, page_view("https://s.example/cart")),
        ]
    )
    assert trail == [
        {"url": "https://s.example/", "path": "/", "title": "Home", "ts": 1_000_000},
        {
            "url": "https://s.example/p/lamp?c=oak",
            "path": "/p/lamp",
            "title": "Lamp",
            "ts": 1_012_500,
        },
        {"url": "https://s.example/cart", "path": "/cart", "title": None, "ts": 1_040_000},
    ]


def test_the_same_page_again_is_no_new_page_but_a_late_title_is_kept() -> None:
    trail = walk(
        [
            (1000.0, page_view("https://s.example/a")),
            (1001.0, page_view("https://s.example/a", "A page")),  # the widget's own view
        ]
    )
    assert [(p["url"], p["title"]) for p in trail] == [("https://s.example/a", "A page")]


def test_bounded_to_the_last_pages_and_a_new_visit_starts_afresh() -> None:
    views = [(1000.0 + i, page_view(f"https://s.example/{i}")) for i in range(MAX_TRAIL_PAGES + 5)]
    trail = walk(views)
    assert len(trail) == MAX_TRAIL_PAGES
    assert trail[0]["path"] == "/5" and trail[-1]["path"] == f"/{MAX_TRAIL_PAGES + 4}"
    later = walk([*views, (1000.0 + 3600, page_view("https://s.example/back"))])
    assert [p["path"] for p in later] == ["/back"]


def test_a_stored_trail_of_another_shape_reads_as_empty() -> None:
    assert page_trail.valid(None) == [] and page_trail.valid({"url": "x"}) == []
    assert page_trail.valid([{"url": "u", "ts": 1}, 3, {"no": "url"}]) == [{"url": "u", "ts": 1}]


# -- live, against a real server -----------------------------------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BeckonProcess]:
    async with running_node(Path(tmp_path_factory.mktemp("trail"))) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_agent_of_the_chat_gets_each_new_page_and_rest_has_the_trail(
    chat: ChatSite, node: BeckonProcess
) -> None:
    agent = await online_agent(chat, node.url, chat.agent_token)
    visitor, _ = await chat.visitor(page={"url": "https://shop.example.com/", "title": "Home"})
    await visitor.send(page_view("https://shop.example.com/p/lamp", "Lamp"))
    conv = await visitor.request({"type": "chat_start", "text": "Hello"})
    assert conv["type"] == "conversation"
    await agent.expect(lambda f: f.get("type") == "conversation" and f.get("id") == conv["id"])
    await agent.expect(lambda f: f.get("type") == "message" and f.get("text") == "Hello")

    await visitor.send(page_view("https://shop.example.com/cart", "Cart"))
    frame = await agent.expect("visitor_page")
    assert frame["conversation_id"] == conv["id"]
    assert [(p["path"], p["title"]) for p in frame["pages"]] == [
        ("/", "Home"),
        ("/p/lamp", "Lamp"),
        ("/cart", "Cart"),
    ]
    visitor_id = frame["visitor_id"]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        response = await client.get(
            f"/api/v1/sites/{chat.site['id']}/visitors/{visitor_id}",
            headers={"Authorization": f"Bearer {chat.agent_token}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["pages"] == frame["pages"]
    # The visitor's own socket hears nothing of it.
    await visitor.request({"type": "ping"})
    assert not [f for f in visitor.frames if f.get("type") == "visitor_page"]
    await visitor.close()
    await agent.close()
