"""Every piece of visitor-controlled state is bounded across frames, sockets and visits
(docs/security.md, "Visitor-controlled state: every bound"), against a
real `beckon serve`: past a bound, an `error` frame with its code and nothing kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.ws_client import WsClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_SUMMARY_BYTES = 8192 + 6 * 1024
UNDER_RATE_S = 1 / 15  # the per-socket frame rate is 20/s: pacing, not waiting
BOUNDS_ENV = {
    "BECKON_VISITOR_MAX_EVENT_NAMES": "3",
    "BECKON_VISITOR_OFFLINE_MESSAGES_PER_HOUR": "2",
    "BECKON_VISITOR_CHAT_STARTS_PER_HOUR": "2",
    "BECKON_VISITOR_CONVERSIONS_PER_HOUR": "2",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("bounds"), env=BOUNDS_ENV) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _rest(chat: ChatSite, path: str) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as client:
        response = await client.get(
            "/api/v1" + path, headers={"Authorization": f"Bearer {chat.admin_token}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


def _errors(client: WsClient, code: str) -> list[dict]:
    return [f for f in client.frames if f.get("type") == "error" and f.get("code") == code]


async def test_attributes_across_1000_frames_stay_at_the_cap(chat: ChatSite) -> None:
    # One visitor, eight tabs, 125 frames each of five new keys: 5,000 keys offered in
    # 1,000 frames; the visitor keeps 50.
    first, welcome = await chat.visitor()
    vid, token = welcome["visitor_id"], welcome["visitor_token"]
    tabs = [first] + [(await chat.visitor(visitor_token=token))[0] for _ in range(7)]

    async def flood(tab: int, client: WsClient) -> None:
        for frame in range(125):
            keys = {f"k{tab}_{frame}_{n}": "v" for n in range(5)}
            await client.send({"type": "attributes", **keys})
            await asyncio.sleep(UNDER_RATE_S)
        assert (await client.request({"type": "ping"}))["type"] == "pong"

    await asyncio.gather(*(flood(tab, c) for tab, c in enumerate(tabs)))
    refused = [e for c in tabs for e in _errors(c, "limit_reached")]
    # (a loaded machine may bunch a tab's frames past its rate limit: those are refused
    # as `rate_limited` and kept no more than the others)
    slowed = [e for c in tabs for e in _errors(c, "rate_limited")]
    assert 1000 - len(refused) - len(slowed) == 10  # 10 frames of 5 keys fill the 50
    assert len(refused) >= 900
    assert {e["message"] for e in refused} == {"at most 50 attributes per visitor"}
    context = await _rest(chat, f"/sites/{chat.site['id']}/visitors/{vid}")
    assert len(context["attributes"]) == 50  # the Store's row and the live facts
    # overwriting a key it has, or clearing one, is still fine
    key = next(iter(context["attributes"]))
    await first.send({"type": "attributes", key: "changed", "ref": "over"})
    assert (await first.request({"type": "ping"}))["type"] == "pong"
    assert not [f for f in first.frames if f.get("ref") == "over"]
    # a hello that would pass the cap keeps the visitor, not the attributes
    again, welcome = await chat.visitor(visitor_token=token, attributes={"brand_new": 1})
    assert welcome["visitor_id"] == vid
    assert _errors(again, "limit_reached") == [
        {
            "type": "error",
            "code": "limit_reached",
            "message": "at most 50 attributes per visitor",
            "ref": "hello",
        }
    ]
    context = await _rest(chat, f"/sites/{chat.site['id']}/visitors/{vid}")
    assert len(context["attributes"]) == 50 and "brand_new" not in context["attributes"]
    assert context["attributes"][key] == "changed"
    for client in [*tabs, again]:
        await client.close()


async def test_a_watching_console_gets_at_most_a_summary_a_second(chat: ChatSite) -> None:
    agent, _ = await chat.agent_socket()
    listed = await agent.request({"type": "watch", "site_id": chat.site["id"]})
    assert listed["type"] == "visitor_view"  # the console's live list (server/hub/visitor_views.py)
    visitor, welcome = await chat.visitor()
    vid = welcome["visitor_id"]
    # A heavy summary: 40 attributes of 150 characters (~7 KB, under the byte bound).
    await visitor.send({"type": "attributes", **{f"a{n}": "x" * 150 for n in range(40)}})
    loop = asyncio.get_running_loop()
    started = loop.time()
    views = 60
    for n in range(views):
        await visitor.send({"type": "page_view", "url": f"https://shop.example.com/p/{n}"})
        await asyncio.sleep(UNDER_RATE_S)
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    last_url = f"https://shop.example.com/p/{views - 1}"

    def rows_of_vid(frame: dict) -> list[dict]:
        if frame.get("type") != "visitor_view":
            return []
        return [row for row in frame.get("rows", ()) if row["id"] == vid]

    def last_summary(frame: dict) -> bool:
        return any(row["page"]["url"] == last_url for row in rows_of_vid(frame))

    # The latest state arrives within the window after the last change.
    await agent.expect(last_summary, timeout=5)
    elapsed = loop.time() - started
    summaries = [row for f in agent.frames for row in rows_of_vid(f)] + [None]  # + the last
    sent_bytes = sum(len(orjson.dumps(row)) for row in summaries if row is not None)
    # One per second at most (the first at once, the last at its window's end) — not one
    # per page view: 61 summaries of ~7 KB before. A summary is at most the attribute
    # bound plus the page, referrer and title the wire models bound.
    assert len(summaries) <= elapsed + 3, (len(summaries), elapsed)
    assert len(summaries) < views / 2
    assert sent_bytes <= (elapsed + 3) * MAX_SUMMARY_BYTES
    await visitor.close()
    await agent.close()


async def test_custom_event_names_and_cart_items(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    for name in ("a", "b", "c", "a", "scroll"):
        props = {"depth": 10} if name == "scroll" else {}
        await visitor.send({"type": "track", "event": name, "props": props})
    error = await visitor.request({"type": "track", "event": "d"})
    assert error == {
        "type": "error",
        "code": "limit_reached",
        "message": "at most 3 distinct track events per visit",
        "ref": error["ref"],
    }
    assert len(_errors(visitor, "limit_reached")) == 0  # only the fourth name
    error = await visitor.request({"type": "cart", "value": 10, "currency": "EUR", "items": 10_001})
    assert (error["code"], error["message"]) == (
        "limit_reached",
        "cart.items must be at most 10000",
    )
    await visitor.send({"type": "cart", "value": 10, "currency": "EUR", "items": 10_000})
    assert (await visitor.request({"type": "ping"}))["type"] == "pong"
    assert not _errors(visitor, "limit_reached")
    await visitor.close()


async def test_offline_messages_per_visitor_across_sockets(chat: ChatSite) -> None:
    visitor, welcome = await chat.visitor()
    frame = {"type": "offline_message", "email": "eve@example.com", "text": "call me"}
    for _ in range(2):
        assert (await visitor.request(frame))["type"] == "offline_message_saved"
    error = await visitor.request(frame)
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "at most 2 offline messages per hour per visitor",
    )
    # another tab of the same visitor shares the count
    tab, _ = await chat.visitor(visitor_token=welcome["visitor_token"])
    assert (await tab.request(frame))["code"] == "rate_limited"
    stored = await _rest(chat, f"/sites/{chat.site['id']}/offline-messages")
    assert len([m for m in stored["items"] if m["visitor_id"] == welcome["visitor_id"]]) == 2
    await visitor.close()
    await tab.close()


async def test_chat_starts_per_visitor(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()
    conv = await visitor.request({"type": "chat_start"})
    # asking again while it is open returns the same conversation and costs nothing
    assert (await visitor.request({"type": "chat_start"}))["id"] == conv["id"]
    assert (await visitor.request({"type": "close", "conversation_id": conv["id"]}))[
        "type"
    ] == "closed"
    second = await visitor.request({"type": "chat_start"})
    assert second["type"] == "conversation" and second["id"] != conv["id"]
    await visitor.request({"type": "close", "conversation_id": second["id"]})
    error = await visitor.request({"type": "chat_start", "text": "third"})
    assert (error["type"], error["code"], error["message"]) == (
        "error",
        "rate_limited",
        "at most 2 new conversations per hour per visitor",
    )
    await visitor.close()


async def test_conversions_per_visitor(chat: ChatSite) -> None:
    visitor, _ = await chat.visitor()

    def conversion(order: str) -> dict:
        props = {"value": 10, "currency": "EUR", "order_id": order}
        return {"type": "track", "event": "conversion", "props": props}

    await visitor.send(conversion("o-1"))
    error = await visitor.request(conversion("o-1"))
    assert (error["code"], error["message"]) == ("conflict", "this order_id was already recorded")
    await visitor.send(conversion("o-2"))  # the duplicate was not counted
    error = await visitor.request(conversion("o-3"))
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "at most 2 conversions per hour per visitor",
    )
    assert len([f for f in visitor.frames if f.get("type") == "error"]) == 0
    await visitor.close()


async def test_behaviour_events_per_socket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Each behaviour frame is a row of the visit log (the backtests' input).
    env = {"BECKON_VISITOR_EVENTS_PER_HOUR": "5"}
    async with running_node(tmp_path, env=env) as node:
        chat = await make_chat_site(node)
        visitor, _ = await chat.visitor()
        for n in range(5):
            await visitor.send({"type": "page_view", "url": f"https://shop.example.com/{n}"})
        error = await visitor.request({"type": "track", "event": "sixth"})
        assert (error["code"], error["message"]) == (
            "rate_limited",
            "at most 5 behaviour events per hour per socket",
        )
        assert not [f for f in visitor.frames if f.get("type") == "error"]
        # chatting is not behaviour: it goes on
        assert (await visitor.request({"type": "chat_start"}))["type"] == "conversation"
        await visitor.close()
