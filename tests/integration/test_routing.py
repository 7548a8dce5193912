"""Routing: capacity, queue positions, atomic claims, offers, orphaned chats, transfer,
offline messages and surveys — on one node (embedded) and on two nodes (Redis + PG)."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.chat_setup import make_chat_site
from tests.routing_setup import add_agents, deployment, online_agent, set_site
from tests.ws_client import WsClient

KINDS = ["single", "cluster"]


def _frames(client: WsClient, conversation_id: str) -> list[dict]:
    return [
        f
        for f in client.frames
        if f.get("type") == "conversation" and f.get("id") == conversation_id
    ]


async def _latest_conversation(
    client: WsClient, conversation_id: str, match, timeout: float = 15
) -> dict:  # type: ignore[no-untyped-def]
    """Wait until the newest `conversation` frame for the chat satisfies `match`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        seen = _frames(client, conversation_id)
        if seen and match(seen[-1]):
            return seen[-1]
        remaining = deadline - loop.time()
        assert remaining > 0, f"last frames: {seen[-3:]}"
        try:
            await client.pump(timeout=remaining)
        except TimeoutError:
            continue


async def _settle(
    visitors: list[WsClient],
    ids: list[str],
    done,
    timeout: float = 20,  # type: ignore[no-untyped-def]
) -> list[dict]:
    """Read what the visitors receive until their latest conversation frames satisfy
    `done` (the system has settled), or fail after `timeout`."""

    async def drain(client: WsClient) -> None:
        try:
            while True:
                await client.pump(timeout=0.2)
        except TimeoutError:
            pass

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        latest = [(_frames(v, cid) or [None])[-1] for v, cid in zip(visitors, ids, strict=True)]
        if all(latest) and done(latest):
            return latest  # type: ignore[return-value]
        assert loop.time() < deadline, " ".join(
            f"{(f or {}).get('status')}:{(f or {}).get('queue_position')}" for f in latest
        )
        await asyncio.gather(*(drain(v) for v in visitors))


@pytest.mark.parametrize("kind", KINDS)
async def test_capacity_queue_positions_and_drain(kind, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment(kind, tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        agents = await add_agents(chat, 3, capacity=2)
        sockets = [
            await online_agent(chat, nodes[i % len(nodes)].url, a["token"])
            for i, a in enumerate(agents)
        ]
        visitors = [(await chat.visitor(nodes[i % len(nodes)].url))[0] for i in range(20)]
        starts = await asyncio.gather(
            *(v.request({"type": "chat_start", "text": f"v{i}"}) for i, v in enumerate(visitors))
        )
        ids = [s["id"] for s in starts]

        # Exactly six are taken (3 agents × 2); fourteen wait with positions 1..14.
        def settled(latest: list[dict]) -> bool:
            active = [f for f in latest if f["status"] == "active"]
            places = sorted(f.get("queue_position") or 0 for f in latest if f["status"] == "queued")
            return len(active) == 6 and places == list(range(1, 15))

        finals = await _settle(visitors, ids, settled)
        active = [f for f in finals if f["status"] == "active"]
        waiting = sorted(f["queue_position"] for f in finals if f["status"] == "queued")
        assert len(active) == 6
        per_agent = {}
        for f in active:
            per_agent[f["agent"]["id"]] = per_agent.get(f["agent"]["id"], 0) + 1
        assert sorted(per_agent.values()) == [2, 2, 2]
        assert waiting == list(range(1, 15))
        # Closing one chat hands the head of the queue to that agent; positions move up.
        by_position = {f["queue_position"]: f["id"] for f in finals if f["status"] == "queued"}
        first_active = active[0]
        owner = sockets[[a["id"] for a in agents].index(first_active["agent"]["id"])]
        await owner.request({"type": "close", "conversation_id": first_active["id"]})
        head = by_position[1]
        head_visitor = visitors[ids.index(head)]
        taken = await _latest_conversation(head_visitor, head, lambda f: f["status"] == "active")
        assert taken["agent"]["id"] == first_active["agent"]["id"]
        second = by_position[2]
        moved = await _latest_conversation(
            visitors[ids.index(second)], second, lambda f: f.get("queue_position") == 1
        )
        assert moved["estimated_wait_s"] >= 0
        for client in visitors + sockets:
            await client.close()


async def test_a_thousand_concurrent_claims_across_two_nodes(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("cluster", tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        agents = await add_agents(chat, 20, capacity=3)
        conversation_ids = []
        for i in range(100):
            visitor, _ = await chat.visitor(nodes[i % 2].url)
            conversation_ids.append((await visitor.request({"type": "chat_start"}))["id"])
            await visitor.close()
        sockets = [
            (await chat.agent_socket(nodes[i % 2].url, token=a["token"]))[0]
            for i, a in enumerate(agents)
        ]
        rng = random.Random(7)

        async def claim_all(index: int, socket: WsClient) -> list[str]:
            won = []
            for cid in rng.sample(conversation_ids, 50):
                await asyncio.sleep(1 / 18)  # under the per-socket frame rate limit
                reply = await socket.request({"type": "accept", "conversation_id": cid})
                if reply["type"] == "conversation":
                    won.append(cid)
                else:
                    assert reply["code"] == "conflict", reply
            return won

        results = await asyncio.gather(*(claim_all(i, s) for i, s in enumerate(sockets)))
        claims = sum(50 for _ in sockets)
        won = [cid for wins in results for cid in wins]
        print(
            f"claims tried: {claims}, won: {len(won)}, double assignments: "
            f"{len(won) - len(set(won))}, capacity breaches: "
            f"{sum(1 for w in results if len(w) > 3)}"
        )
        assert claims == 1000
        assert len(won) == len(set(won))  # no chat assigned twice
        assert all(len(w) <= 3 for w in results)  # nobody above capacity
        async with httpx.AsyncClient(base_url=nodes[1].url) as client:
            listed = (
                await client.get(
                    f"/api/v1/sites/{chat.site['id']}/conversations",
                    params={"status": "active", "limit": "200"},
                    headers={"Authorization": f"Bearer {chat.admin_token}"},
                )
            ).json()["items"]
        assert sorted(c["id"] for c in listed) == sorted(won)
        for socket in sockets:
            await socket.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_offer_expires_moves_on_and_can_be_declined(kind, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment(kind, tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        await set_site(chat, settings={"routing": "offer"})
        agents = sorted(await add_agents(chat, 2, capacity=2), key=lambda a: a["id"])
        first = await online_agent(chat, nodes[0].url, agents[0]["token"])
        second = await online_agent(chat, nodes[-1].url, agents[1]["token"])
        visitor, _ = await chat.visitor(nodes[0].url)
        conv = await visitor.request({"type": "chat_start", "text": "hello"})
        offer = await first.expect("offer")
        assert offer["conversation_id"] == conv["id"] and offer["expires_ts"] > 0
        # Ignored: after the timeout it moves to the other agent.
        moved = await second.expect("offer", timeout=15)
        assert moved["conversation_id"] == conv["id"]
        declined = await second.request({"type": "decline", "conversation_id": conv["id"]})
        assert declined["type"] == "declined"
        again = await first.expect("offer", timeout=15)
        assert again["conversation_id"] == conv["id"]
        accepted = await first.request({"type": "accept", "conversation_id": conv["id"]})
        assert accepted["status"] == "active"
        late = await second.request({"type": "decline", "conversation_id": conv["id"]})
        assert late["code"] == "conflict"
        for client in (first, second, visitor):
            await client.close()


async def test_chats_of_a_killed_agent_node_go_back_to_the_front(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("cluster", tmp_path, redis_prefix) as (one, two):
        chat = await make_chat_site(one)
        (agent,) = await add_agents(chat, 1, capacity=1)
        socket = await online_agent(chat, one.url, agent["token"])
        early, _ = await chat.visitor(two.url)
        early_conv = await early.request({"type": "chat_start", "text": "first"})
        await _latest_conversation(early, early_conv["id"], lambda f: f["status"] == "active")
        later, _ = await chat.visitor(two.url)
        later_conv = await later.request({"type": "chat_start", "text": "second"})
        await _latest_conversation(later, later_conv["id"], lambda f: f.get("queue_position") == 1)
        await one.kill()  # the agent's node dies with the chat open
        back = await _latest_conversation(
            early, early_conv["id"], lambda f: f.get("queue_position") == 1, timeout=30
        )
        assert back["status"] == "queued"
        pushed = await _latest_conversation(
            later, later_conv["id"], lambda f: f.get("queue_position") == 2, timeout=30
        )
        assert pushed["status"] == "queued"
        for client in (early, later, socket):
            await client.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_transfer_keeps_history_and_moves_access(kind, tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment(kind, tmp_path, redis_prefix) as nodes:
        chat = await make_chat_site(nodes[0])
        ana, ben = await add_agents(chat, 2, capacity=2)
        ana_socket, _ = await chat.agent_socket(nodes[0].url, token=ana["token"])
        visitor, _ = await chat.visitor(nodes[0].url)
        conv = await visitor.request({"type": "chat_start", "text": "help"})
        reply = await ana_socket.request({"type": "accept", "conversation_id": conv["id"]})
        assert reply["status"] == "active"
        ben_socket = await online_agent(chat, nodes[-1].url, ben["token"])
        await ana_socket.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "client_msg_id": "a1",
                "text": "one moment",
            }
        )
        moved = await ana_socket.request(
            {"type": "transfer", "conversation_id": conv["id"], "agent_id": ben["id"]}
        )
        assert moved["type"] == "transferred"
        assigned = await ben_socket.expect(
            lambda f: f.get("type") == "conversation" and f.get("id") == conv["id"]
        )
        assert assigned["agent"]["id"] == ben["id"]
        history = [(await ben_socket.expect("message"))["seq"] for _ in range(3)]
        assert history == [1, 2, 3]  # visitor, ana, and the system note
        note = await visitor.expect(lambda f: f.get("type") == "message" and f["seq"] == 3)
        assert note["author"] == {"kind": "system"} and "transferred" in note["text"]
        denied = await ana_socket.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "client_msg_id": "a2",
                "text": "still here?",
            }
        )
        assert denied["code"] == "forbidden"
        ok = await ben_socket.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "client_msg_id": "b1",
                "text": "Ben here",
            }
        )
        assert ok["seq"] == 4
        to_dept = await ben_socket.request(
            {"type": "transfer", "conversation_id": conv["id"], "department": "nowhere"}
        )
        assert to_dept["code"] == "invalid_frame"
        back = await ben_socket.request(
            {"type": "transfer", "conversation_id": conv["id"], "department": "sales"}
        )
        assert back["type"] == "transferred"
        for client in (ana_socket, ben_socket, visitor):
            await client.close()


async def test_offline_messages_and_nothing_lost_when_the_last_agent_leaves(
    tmp_path, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        visitor, welcome = await chat.visitor()
        assert welcome["online"] is False
        saved = await visitor.request(
            {
                "type": "offline_message",
                "name": "Eva",
                "email": "eva@example.com",
                "text": "Call me back",
            }
        )
        assert saved["type"] == "offline_message_saved"
        bad = await visitor.request({"type": "offline_message", "email": "nope", "text": "x"})
        assert bad["code"] == "invalid_frame"
        (agent,) = await add_agents(chat, 1, capacity=2)
        socket = await online_agent(chat, node.url, agent["token"])
        assert (await visitor.expect("availability")) == {"type": "availability", "online": True}
        # The agent leaves as a chat starts: the chat stays queued, never vanishes.
        start = visitor.request({"type": "chat_start", "text": "anyone?"})
        offline = socket.request({"type": "status", "status": "offline"})
        conv, _ = await asyncio.gather(start, offline)
        async with httpx.AsyncClient(base_url=node.url) as client:
            auth = {"Authorization": f"Bearer {chat.agent_token}"}
            stored = (
                await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=auth)
            ).json()["items"]
            assert [m["text"] for m in stored] == ["anyone?"]
            listed = (
                await client.get(f"/api/v1/sites/{chat.site['id']}/offline-messages", headers=auth)
            ).json()["items"]
            assert [(m["name"], m["email"], m["text"]) for m in listed] == [
                ("Eva", "eva@example.com", "Call me back")
            ]
        status = (await client_get_conversation(node.url, chat, conv["id"]))["status"]
        assert status in ("queued", "active")
        await visitor.close()
        await socket.close()


async def client_get_conversation(url: str, chat, conversation_id: str) -> dict:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=url) as client:
        return (
            await client.get(
                f"/api/v1/conversations/{conversation_id}",
                headers={"Authorization": f"Bearer {chat.admin_token}"},
            )
        ).json()


async def test_surveys(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        visitor, _ = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "hi"})
        early = await visitor.request(
            {"type": "survey", "conversation_id": conv["id"], "kind": "csat", "score": 5}
        )
        assert early["code"] == "conflict"
        agent, _ = await chat.agent_socket()
        await agent.request({"type": "accept", "conversation_id": conv["id"]})
        await agent.request({"type": "close", "conversation_id": conv["id"]})
        closed = await visitor.expect("closed")
        assert closed["survey"] == ["csat", "nps"]
        ok = await visitor.request(
            {
                "type": "survey",
                "conversation_id": conv["id"],
                "kind": "csat",
                "score": 5,
                "comment": "great",
            }
        )
        assert ok["type"] == "survey_saved"
        again = await visitor.request(
            {"type": "survey", "conversation_id": conv["id"], "kind": "csat", "score": 4}
        )
        assert (again["code"], again["message"]) == (
            "conflict",
            "the csat survey was already answered",
        )
        for kind, score in (("csat", 6), ("nps", 11), ("ces", 0)):
            bad = await visitor.request(
                {"type": "survey", "conversation_id": conv["id"], "kind": kind, "score": score}
            )
            assert bad["code"] == "invalid_frame"
        nps = await visitor.request(
            {"type": "survey", "conversation_id": conv["id"], "kind": "nps", "score": 9}
        )
        assert nps["type"] == "survey_saved"
        stranger, _ = await chat.visitor()
        theirs = await stranger.request(
            {"type": "survey", "conversation_id": conv["id"], "kind": "ces", "score": 3}
        )
        assert theirs["code"] == "not_found"
        for client in (visitor, agent, stranger):
            await client.close()


async def test_canned_replies_and_search(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        visitor, _ = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "My parcel tracking 77X"})
        other, _ = await chat.visitor()
        await other.request({"type": "chat_start", "text": "refund please"})
        async with httpx.AsyncClient(base_url=node.url) as client:
            agent = {"Authorization": f"Bearer {chat.agent_token}"}
            admin = {"Authorization": f"Bearer {chat.admin_token}"}
            base = f"/api/v1/sites/{chat.site['id']}"
            found = (
                await client.get(f"{base}/conversations", params={"q": "PARCEL"}, headers=agent)
            ).json()["items"]
            assert [c["id"] for c in found] == [conv["id"]]
            weird = await client.get(
                f"{base}/conversations", params={"q": '" OR * NEAR('}, headers=agent
            )
            assert weird.status_code == 200 and weird.json()["items"] == []
            shared = await client.post(
                f"{base}/canned-replies",
                headers=admin,
                json={"shortcut": "hi", "text": "Hello {visitor.name}!", "scope": "site"},
            )
            assert shared.status_code == 201
            mine = await client.post(
                f"{base}/canned-replies", headers=agent, json={"shortcut": "bye", "text": "Bye!"}
            )
            assert mine.status_code == 201 and mine.json()["scope"] == "agent"
            denied = await client.post(
                f"{base}/canned-replies",
                headers=agent,
                json={"shortcut": "x", "text": "y", "scope": "site"},
            )
            assert denied.status_code == 403
            listed = (await client.get(f"{base}/canned-replies", headers=agent)).json()["items"]
            assert [r["shortcut"] for r in listed] == ["bye", "hi"]
            edit = await client.patch(
                f"{base}/canned-replies/{shared.json()['id']}", headers=agent, json={"text": "x"}
            )
            assert edit.status_code == 403
            gone = await client.delete(f"{base}/canned-replies/{mine.json()['id']}", headers=agent)
            assert gone.status_code == 200
        await visitor.close()
        await other.close()


async def test_priority_visitors_go_first_and_leavers_are_missed(tmp_path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    from server.chat.visitor_token import identity_hash
    from tests.waiting import wait_until

    async with deployment("single", tmp_path, redis_prefix) as (node,):
        chat = await make_chat_site(node)
        await set_site(chat, settings={"priority_identified_s": 3600, "abandon_after_s": 10})
        anonymous, _ = await chat.visitor()
        first = await anonymous.request({"type": "chat_start", "text": "first in line"})
        known, _ = await chat.visitor(
            identity={
                "user_id": "u-42",
                "user_hash": identity_hash(chat.site["identity_secret"], "u-42"),
            }
        )
        second = await known.request({"type": "chat_start", "text": "identified"})
        moved = await _latest_conversation(
            known, second["id"], lambda f: f.get("queue_position") == 1
        )
        assert moved["status"] == "queued"
        await _latest_conversation(anonymous, first["id"], lambda f: f.get("queue_position") == 2)
        # The anonymous visitor leaves the site while waiting: missed, reason recorded.
        await anonymous.close()
        async with httpx.AsyncClient(base_url=node.url) as client:
            auth = {"Authorization": f"Bearer {chat.admin_token}"}

            async def conversation() -> dict:
                return (
                    await client.get(f"/api/v1/conversations/{first['id']}", headers=auth)
                ).json()

            missed = await wait_until(
                conversation,
                lambda c: c["status"] == "closed",
                timeout=30,
                what="the abandoned chat to be missed",
            )
        assert (missed["closed_by"], missed["missed_reason"]) == ("system", "visitor_left")
        await known.close()
