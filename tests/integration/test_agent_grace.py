"""An agent whose console drops keeps their chats for the reconnect grace:
nothing is requeued, other agents see no churn, and the console that comes back gets
its chats in `welcome`. An agent who is signed out (session revoked) gets no grace.

No timing is asserted: two other agents, deactivated one after the other, are the
control — the janitor requeues their chats in two rounds, and the first round, complete
before the second starts, looked at the first agent's chat too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from tests.beckon_process import BeckonProcess, running_node
from tests.chat_setup import make_chat_site
from tests.routing_setup import add_agents

# Short presence TTL: the janitor starts requeueing orphans one TTL after the node starts.
ENV = {"BECKON_PRESENCE_TTL_S": "3"}


@pytest_asyncio.fixture
async def node(tmp_path: Path) -> AsyncIterator[BeckonProcess]:
    async with running_node(tmp_path, env=ENV) as process:
        yield process


async def test_a_dropped_console_keeps_its_chats_within_the_grace(node: BeckonProcess) -> None:
    chat = await make_chat_site(node)
    control, later, observer = await add_agents(chat, 3, capacity=3)
    ana, _ = await chat.agent_socket()
    carl, _ = await chat.agent_socket(token=control["token"])
    dora, _ = await chat.agent_socket(token=later["token"])

    kept_visitor, _ = await chat.visitor()
    kept = await kept_visitor.request({"type": "chat_start", "text": "help me"})
    await ana.request({"type": "accept", "conversation_id": kept["id"]})
    requeued_visitor, _ = await chat.visitor()
    requeued = await requeued_visitor.request({"type": "chat_start", "text": "me too"})
    await carl.request({"type": "accept", "conversation_id": requeued["id"]})
    last_visitor, _ = await chat.visitor()
    last = await last_visitor.request({"type": "chat_start", "text": "and me"})
    await dora.request({"type": "accept", "conversation_id": last["id"]})

    # Another agent's console, from when all three chats are taken: it must never see
    # Ana's chat in the queue.
    watcher, welcome = await chat.agent_socket(token=observer["token"])
    assert welcome["queue"] == []

    # Ana's console drops (not a sign-out); Carl is deactivated (signed out everywhere).
    await ana.close()
    auth = {"Authorization": f"Bearer {chat.admin_token}"}
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as admin:
        r = await admin.delete(f"/api/v1/agents/{control['id']}", headers=auth)
        assert r.status_code == 200, r.text
    assert (await carl.closed())[0] == 4401

    # The janitor puts Carl's chat back in the queue; then Dora's, in a later round.
    def queued(conv_id: str):  # type: ignore[no-untyped-def]
        return lambda f: f.get("type") == "queue" and conv_id in [i["id"] for i in f["items"]]

    seen = [await watcher.expect(queued(requeued["id"]), timeout=30)]
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as admin:
        r = await admin.delete(f"/api/v1/agents/{later['id']}", headers=auth)
        assert r.status_code == 200, r.text
    assert (await dora.closed())[0] == 4401
    seen.append(await watcher.expect(queued(last["id"]), timeout=30))
    # Ana's chat never went back: no queue frame ever listed it.
    churn = [f for f in seen + watcher.frames if queued(kept["id"])(f)]
    assert churn == []
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as admin:
        conv = (await admin.get(f"/api/v1/conversations/{kept['id']}", headers=auth)).json()
    assert (conv["status"], conv["agent_id"]) == ("active", chat.agent["id"])
    assert [
        f
        for f in kept_visitor.frames
        if f.get("type") == "conversation" and f["status"] == "queued"
    ] == []

    # Ana's console comes back: the chat is in its welcome, active and hers.
    again, welcome = await chat.agent_socket()
    mine = {c["id"]: c for c in welcome["conversations"]}
    assert mine[kept["id"]]["status"] == "active"
    for client in (again, watcher, kept_visitor, requeued_visitor, last_visitor):
        await client.close()
