"""Fault windows against a real `beckon serve`: every window answers with a code, and a
fault never slows what it need not.

- A private PostgreSQL stopped, then held "starting up" (every connection refused with
  SQLSTATE 57P03), then started again, under a chat that keeps talking: while it is
  down the chat gets only `unavailable` errors and no ack, REST answers 503 JSON; after
  the restart messages are acked again, and nothing acked is lost.
- A private Redis killed under a chat: acks of stored messages still come, none waiting
  on the failed publish of the one before; once Redis is back, another tab of the
  visitor gets what was published while it was down (re-sync from the Store).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import RedisServer
from tests.private_postgres import PrivatePostgres
from tests.waiting import wait_until
from tests.ws_client import WsClient, ws_url

STREAM_PACE_S = 0.1  # between a chat's messages: well under 20 frames/s
UNAVAILABLE = {"code": "unavailable", "message": "temporarily unavailable; retry"}
REST_UNAVAILABLE = {
    "error": {"code": "unavailable", "message": "the store is unavailable; retry shortly"}
}


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        await pg.init()
        await pg.start()
        yield pg
    finally:
        await pg.destroy()


async def _say(visitor: WsClient, cid: str, client_msg_id: str) -> dict:
    """Send one message; the reply carrying its ref (the stored echo, or an error)."""
    frame = {"type": "message", "conversation_id": cid, "client_msg_id": client_msg_id}
    reply = await visitor.request({**frame, "text": client_msg_id}, timeout=30)
    return {k: v for k, v in reply.items() if k != "ref"}


async def _down_window(
    chat: ChatSite, visitor: WsClient, rest: httpx.AsyncClient, cid: str, names: list[str]
) -> None:
    for name in names:
        reply = await _say(visitor, cid, name)
        assert reply == {"type": "error", **UNAVAILABLE}, name
    # A socket arriving now cannot be welcomed: it is told to come back (1013).
    url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
    newcomer = await WsClient.connect(url)
    await newcomer.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
    assert await newcomer.closed() == (1013, "temporarily unavailable; reconnect")
    assert not [f for f in newcomer.frames if f["type"] == "welcome"]
    response = await rest.get(f"/api/v1/conversations/{cid}/messages")
    assert (response.status_code, response.json()) == (503, REST_UNAVAILABLE)
    assert response.headers["content-type"] == "application/json"


async def test_postgres_stopped_starting_up_and_back_mid_chat(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    pg = private_postgres
    env = {"BECKON_DATABASE_URL": pg.url}
    async with running_node(tmp_path, env=env) as node:
        chat = await make_chat_site(node)
        visitor, _ = await chat.visitor()
        cid = (await visitor.request({"type": "chat_start", "text": "hello"}))["id"]
        await visitor.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
        headers = {"Authorization": f"Bearer {chat.admin_token}"}
        async with httpx.AsyncClient(base_url=node.url, headers=headers, timeout=30) as rest:
            # Mid-stream: the chat keeps talking while PostgreSQL stops (fast mode: its
            # sessions are cut, statements in flight fail).
            replies = [await _say(visitor, cid, f"s{n}") for n in range(1, 4)]
            stopping = asyncio.create_task(pg.stop())
            while not (stopping.done() and replies[-1]["type"] == "error"):
                await asyncio.sleep(STREAM_PACE_S)  # a chat's pace, under the rate limit
                replies.append(await _say(visitor, cid, f"s{len(replies) + 1}"))
            await stopping
            assert {r["type"] for r in replies[:3]} == {"message"}
            refused = [r for r in replies if r["type"] != "message"]
            assert refused == [{"type": "error", **UNAVAILABLE}] * len(refused)
            acked = [r for r in replies if r["type"] == "message"]
            assert [a["seq"] for a in acked] == list(range(2, 2 + len(acked)))

            await _down_window(chat, visitor, rest, cid, ["down-1", "down-2"])

            await pg.start(starting_up=True)  # up, but refusing with 57P03
            await _down_window(chat, visitor, rest, cid, ["starting-1", "starting-2"])

            await pg.stop()
            await pg.start()  # back: the pool reconnects on its next checkout

            async def back() -> dict:
                return await _say(visitor, cid, "back-1")  # the same id on each retry

            reply = await wait_until(
                back, lambda r: r["type"] == "message", 30, "an ack after the restart"
            )
            acked.append(reply)
            acked.append(await _say(visitor, cid, "back-2"))
            assert [a["type"] for a in acked[-2:]] == ["message"] * 2
            # Nothing acked is lost, and nothing refused was stored.
            stored = (await rest.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
        by_id = {m.get("client_msg_id"): m["seq"] for m in stored}
        assert {a["client_msg_id"]: a["seq"] for a in acked} == {
            a["client_msg_id"]: by_id.get(a["client_msg_id"]) for a in acked
        }
        assert not {"down-1", "down-2", "starting-1", "starting-2"} & set(by_id)
        await visitor.close()


def _deferred(node: BeckonProcess, cid: str) -> int:
    """Failed publishes on the conversation's channel so far (the node logs each)."""
    return node.log_path.read_text().count(f"publish on conv:{cid} deferred to re-sync")


async def test_acks_do_not_wait_on_a_dead_redis_and_resync_fills_the_gap(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path)
    await redis.start()
    try:
        env = {"BECKON_BROKER_URL": redis.url, "BECKON_LOG_LEVEL": "WARNING"}
        async with running_node(tmp_path, env=env) as node:
            chat = await make_chat_site(node)
            visitor, welcome = await chat.visitor()
            cid = (await visitor.request({"type": "chat_start", "text": "hello"}))["id"]
            await visitor.expect(lambda f: f["type"] == "message" and f["seq"] == 1)
            tab, tab_welcome = await chat.visitor(visitor_token=welcome["visitor_token"])
            assert tab_welcome["conversation"]["id"] == cid  # the tab follows the chat
            for client in (visitor, tab):  # a round trip: what came before is done
                assert (await client.request({"type": "ping"}))["type"] == "pong"

            await redis.kill()
            # Typing and a read receipt first: frames that only publish do not hold the
            # socket either (each waited the broker's retry window before).
            await visitor.send({"type": "typing", "conversation_id": cid, "on": True})
            await visitor.send({"type": "read", "conversation_id": cid, "seq": 1})
            names = [f"m{i}" for i in range(1, 5)]
            for name in names:  # back to back: none waits for the previous ack
                frame = {"type": "message", "conversation_id": cid, "client_msg_id": name}
                await visitor.send({**frame, "text": name, "ref": name})
            acks = [await visitor.expect(lambda f, n=n: f.get("ref") == n) for n in names]
            failed_by_last_ack = _deferred(node, cid)
            assert [(a["type"], a["seq"]) for a in acks] == [("message", s) for s in (2, 3, 4, 5)]
            # Each failed publish takes the broker's retry window (~1 s). Had each frame
            # waited for its own publish, the last ack would come after five failures;
            # handed over without waiting, at most the first has failed.
            assert failed_by_last_ack <= 1, node.log()
            assert await _eventually_deferred(node, cid, 6)
            # A visitor arriving now cannot be welcomed (presence is in Redis): 1013.
            url = ws_url(chat.server_url, f"/ws/visitor?site={chat.site['key']}")
            newcomer = await WsClient.connect(url)
            await newcomer.send({"type": "hello", "page": {"url": "https://shop.example.com/"}})
            assert await newcomer.closed() == (1013, "temporarily unavailable; reconnect")

            await redis.start()  # the same port: the node reconnects and re-syncs
            got = [await tab.expect(lambda f, s=s: f.get("seq") == s, 30) for s in (2, 3, 4, 5)]
            assert [g["text"] for g in got] == names
            await tab.close()
            await visitor.close()
    finally:
        await redis.kill()


async def _eventually_deferred(node: BeckonProcess, cid: str, count: int) -> bool:
    """Every publish did fail in the end (counted and logged, not dropped silently)."""

    async def probe() -> int:
        return _deferred(node, cid)

    await wait_until(probe, lambda n: n >= count, 30, f"{count} failed publishes logged")
    return True
