"""The visitor brief the console gets with each conversation: read in batches,
shared by the sockets of a node, sent to agents only, and in the REST history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import insert

from server.broker.memory_broker import MemoryBroker
from server.chat import visitor_state
from server.chat import visitor_token as tokens
from server.chat.visitor_briefs import VisitorBriefs
from server.store.database import Database, open_database
from server.store.migrate import upgrade_to_head
from server.store.tables import sites, visitors
from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import ChatSite, make_chat_site
from tests.routing_setup import online_agent, set_site
from tests.waiting import next_loop_turn
from tests.ws_client import WsClient

PAGE = {"url": "https://shop.example.com/cart?step=2", "title": "Your cart"}


# -- the component: batching, sharing, expiry --------------------------------------------
class CountingBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__()
        self.gets: list[str] = []
        self.gate: asyncio.Event | None = None

    async def state_get(self, key: str) -> bytes | None:
        self.gets.append(key)
        if self.gate is not None:
            await self.gate.wait()
        return await super().state_get(key)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path}/briefs.db")
    await upgrade_to_head(db)
    async with db.write() as conn:
        await conn.execute(
            insert(sites).values(
                id="st_1",
                key="sk_1",
                name="Shop",
                allowed_origins=[],
                identity_secret="s" * 64,
                timezone="UTC",
                default_lang="en",
                widget={},
                departments=[],
                business_hours=None,
                settings={},
                created_ts=1,
            )
        )
        for vid, name, user in (("vi_1", "Zoë", None), ("vi_2", None, "u2")):
            await conn.execute(
                insert(visitors).values(
                    id=vid,
                    site_id="st_1",
                    name=name,
                    user_id=user,
                    attributes={},
                    first_seen_ts=1,
                    last_seen_ts=1,
                )
            )
    try:
        yield db
    finally:
        await db.close()


async def test_briefs_batch_share_and_expire(store: Database) -> None:
    broker = CountingBroker()
    await broker.start()
    now = [100.0]
    briefs = VisitorBriefs(store, broker, ttl_s=1.0, clock=lambda: now[0])
    state = await visitor_state.load(broker, "vi_1")
    state.facts = state.facts._replace(page_url=PAGE["url"], cart_value=20.0, cart_currency="EUR")
    await visitor_state.save(broker, state)
    broker.gets.clear()

    got = await briefs.many(["vi_1", "vi_2", "vi_1", "vi_unknown"])
    assert got == {
        "vi_1": {
            "id": "vi_1",
            "name": "Zoë",
            "page": {"url": PAGE["url"]},
            "cart": {"value": 20.0, "currency": "EUR"},
        },
        "vi_2": {"id": "vi_2", "identified": True},
        "vi_unknown": {"id": "vi_unknown"},
    }
    assert sorted(broker.gets) == ["vstate:vi_1", "vstate:vi_2", "vstate:vi_unknown"]

    # Within the TTL: no read at all. After it: read again.
    broker.gets.clear()
    assert await briefs.one("vi_2") == {"id": "vi_2", "identified": True}
    assert broker.gets == []
    now[0] += 1.5
    await briefs.one("vi_2")
    assert broker.gets == ["vstate:vi_2"]

    # Callers asking while a read is in flight share it (one read for ten sockets).
    now[0] += 5
    broker.gets.clear()
    broker.gate = asyncio.Event()
    callers = [asyncio.create_task(briefs.many(["vi_1", "vi_2"])) for _ in range(10)]
    await next_loop_turn()  # every caller reaches the in-flight read
    broker.gate.set()
    results = await asyncio.gather(*callers)
    assert all(r == results[0] for r in results)
    assert sorted(broker.gets) == ["vstate:vi_1", "vstate:vi_2"]
    await broker.close()


async def test_a_failed_read_reaches_every_waiter_and_is_not_kept(store: Database) -> None:
    broker = CountingBroker()
    await broker.start()
    briefs = VisitorBriefs(store, broker)
    broker.gate = asyncio.Event()
    failing = RuntimeError("broker down")

    async def boom(key: str) -> bytes | None:
        await broker.gate.wait()  # type: ignore[union-attr]
        raise failing

    broker.state_get = boom  # type: ignore[method-assign]
    first = asyncio.create_task(briefs.one("vi_1"))
    await next_loop_turn()
    second = asyncio.create_task(briefs.one("vi_1"))
    await next_loop_turn()
    broker.gate.set()
    for task in (first, second):
        with pytest.raises(RuntimeError, match="broker down"):
            await task
    del broker.state_get  # back to the real one: the failure was not cached
    assert await briefs.one("vi_1") == {"id": "vi_1", "name": "Zoë"}
    await broker.close()


async def test_a_cancelled_caller_does_not_cancel_the_shared_read(store: Database) -> None:
    broker = CountingBroker()
    await broker.start()
    briefs = VisitorBriefs(store, broker)
    broker.gate = asyncio.Event()
    leaving = asyncio.create_task(briefs.one("vi_1"))
    await next_loop_turn()
    staying = asyncio.create_task(briefs.one("vi_1"))
    await next_loop_turn()
    leaving.cancel()  # e.g. its socket closed
    with pytest.raises(asyncio.CancelledError):
        await leaving
    broker.gate.set()
    assert await staying == {"id": "vi_1", "name": "Zoë"}
    assert broker.gets == ["vstate:vi_1"]
    await broker.close()


# -- on the wire ---------------------------------------------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    async with running_node(tmp_path_factory.mktemp("briefs")) as process:
        yield process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


async def _shopper(chat: ChatSite, **hello: object) -> tuple[WsClient, str]:
    """A visitor on the cart page with a cart, in Portuguese; returns (client, id)."""
    visitor, welcome = await chat.visitor(page=PAGE, lang="pt-BR", **hello)
    # No reply to `cart`; the socket handles frames in order, so the next request's
    # reply means it was applied.
    await visitor.send({"type": "cart", "value": 129.5, "currency": "EUR", "items": 3})
    return visitor, welcome["visitor_id"]


def _no_brief_reached(visitor: WsClient) -> None:
    leaked = [f for f in visitor.frames if "visitor" in f]
    assert leaked == [], leaked


@pytest.mark.asyncio(loop_scope="module")
async def test_queue_accept_and_rest_carry_the_brief(chat: ChatSite) -> None:
    identity = {
        "user_id": "u-77",
        "user_hash": tokens.identity_hash(chat.site["identity_secret"], "u-77"),
        "name": "Ann Identified",
    }
    visitor, vid = await _shopper(chat, identity=identity)
    agent, welcome = await chat.agent_socket()  # status offline: nothing is assigned
    assert welcome["queue"] == []
    conv = await visitor.request({"type": "chat_start", "text": "Is shipping free?"})
    expected = {
        "id": vid,
        "name": "Ann Identified",
        "identified": True,
        "page": PAGE,
        "cart": {"value": 129.5, "currency": "EUR", "items": 3},
        "lang": "pt-br",
    }
    queue = await agent.expect(lambda f: f["type"] == "queue" and f["items"])
    assert [(i["id"], i["visitor"]) for i in queue["items"]] == [(conv["id"], expected)]

    # A second console connecting now gets it in its welcome.
    other, other_welcome = await chat.agent_socket()
    assert [i["visitor"] for i in other_welcome["queue"]] == [expected]
    await other.close()

    accepted = await agent.request({"type": "accept", "conversation_id": conv["id"]})
    assert accepted["status"] == "active" and accepted["visitor"] == expected
    await visitor.expect(lambda f: f["type"] == "conversation" and f["status"] == "active")

    async with httpx.AsyncClient(base_url=chat.server_url, timeout=10) as api:
        auth = {"Authorization": f"Bearer {chat.agent_token}"}
        one = (await api.get(f"/api/v1/conversations/{conv['id']}", headers=auth)).json()
        listed = (
            await api.get(f"/api/v1/sites/{chat.site['id']}/conversations", headers=auth)
        ).json()["items"]
    assert one["visitor"] == expected
    assert [c["visitor"] for c in listed if c["id"] == conv["id"]] == [expected]

    closed = await agent.request({"type": "close", "conversation_id": conv["id"]})
    assert closed["type"] == "closed"
    await visitor.expect("closed")
    _no_brief_reached(visitor)
    await visitor.close()
    await agent.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_assignment_and_offer_carry_the_brief(chat: ChatSite) -> None:
    agent = await online_agent(chat, chat.server_url, chat.agent_token)
    visitor, vid = await _shopper(chat)
    conv = await visitor.request(
        {"type": "chat_start", "text": "Hi", "prechat": {"name": "Zoë <b>"}}
    )
    assigned = await agent.expect(
        lambda f: f["type"] == "conversation" and f["id"] == conv["id"] and "visitor" in f
    )
    assert assigned["status"] == "active"
    assert assigned["visitor"] == {
        "id": vid,
        "name": "Zoë <b>",
        "page": PAGE,
        "cart": {"value": 129.5, "currency": "EUR", "items": 3},
        "lang": "pt-br",
    }
    await agent.request({"type": "close", "conversation_id": conv["id"]})
    await visitor.expect("closed")
    _no_brief_reached(visitor)
    await visitor.close()

    # Offer routing: the offer's `visitor` is the brief too.
    await set_site(chat, settings={"routing": "offer"})
    try:
        shopper, sid = await _shopper(chat)
        offered = await shopper.request({"type": "chat_start", "text": "Hello"})
        offer = await agent.expect("offer")
        assert offer["conversation_id"] == offered["id"]
        assert offer["visitor"] == {
            "id": sid,
            "page": PAGE,
            "cart": {"value": 129.5, "currency": "EUR", "items": 3},
            "lang": "pt-br",
        }
        await agent.request({"type": "accept", "conversation_id": offered["id"]})
        await agent.request({"type": "close", "conversation_id": offered["id"]})
        await shopper.expect("closed")
        _no_brief_reached(shopper)
        await shopper.close()
    finally:
        await set_site(chat, settings={"routing": "least_busy"})
    await agent.close()
