"""Webhooks end to end: real `beckon serve` nodes and a local receiver on 127.0.0.1.

Retries are shortened with BECKON_WEBHOOK_RETRY_BASE_S; every wait is on an event or
a polled condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.cluster import cluster
from tests.conftest import create_pg_database, drop_pg_database, subprocess_env
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver, verify

pytestmark = pytest.mark.asyncio(loop_scope="module")
RETRY_BASE_S = 0.4
FAST = {
    "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    "BECKON_WEBHOOK_RETRY_BASE_S": str(RETRY_BASE_S),
    "BECKON_WEBHOOK_POLL_S": "0.1",
}


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15) -> Any:
    """Poll `check` until it returns something truthy (or fail after `timeout`)."""
    return await wait_until(check, bool, timeout, "the webhook outcome")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("webhooks")
    process = BeckonProcess({**subprocess_env(tmp), **FAST}, tmp)
    await process.create_admin()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chat(node: BeckonProcess) -> ChatSite:
    return await make_chat_site(node)


def admin(chat: ChatSite) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=chat.server_url,
        headers={"Authorization": f"Bearer {chat.admin_token}"},
        timeout=10,
    )


async def create_hook(chat: ChatSite, url: str, events: list[str]) -> dict[str, Any]:
    async with admin(chat) as client:
        response = await client.post(
            f"/api/v1/sites/{chat.site['id']}/webhooks", json={"url": url, "events": events}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def delivery_log(chat: ChatSite, hook_id: str) -> list[dict[str, Any]]:
    async with admin(chat) as client:
        response = await client.get(
            f"/api/v1/sites/{chat.site['id']}/webhooks/{hook_id}/deliveries"
        )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def send_test(chat: ChatSite, hook_id: str) -> str:
    async with admin(chat) as client:
        response = await client.post(f"/api/v1/sites/{chat.site['id']}/webhooks/{hook_id}/test")
    assert response.status_code == 202, response.text
    return response.json()["delivery_id"]


async def test_events_arrive_signed_with_the_documented_algorithm(chat: ChatSite) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        hook = await create_hook(
            chat, receiver.url, ["conversation.started", "conversation.closed", "survey.submitted"]
        )
        assert hook["secret"].startswith("whsec_") and hook["events"] == [
            "conversation.started",
            "conversation.closed",
            "survey.submitted",
        ]
        visitor, _ = await chat.visitor()
        conv = await visitor.request({"type": "chat_start", "text": "Where is my order?"})
        agent, _ = await chat.agent_socket()
        await agent.request({"type": "accept", "conversation_id": conv["id"]})
        await agent.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "text": "Let me check",
                "client_msg_id": "a1",
            }
        )
        await agent.request(
            {
                "type": "message",
                "conversation_id": conv["id"],
                "text": "psst",
                "internal": True,
                "client_msg_id": "a2",
            }
        )
        await agent.request({"type": "close", "conversation_id": conv["id"]})
        await visitor.request(
            {"type": "survey", "conversation_id": conv["id"], "kind": "csat", "score": 5}
        )
        got = await receiver.wait_for(lambda rs: len(rs) >= 3)
        by_event = {r.headers["x-beckon-event"]: r for r in got}
        assert set(by_event) == {"conversation.started", "conversation.closed", "survey.submitted"}
        for received in got:
            assert verify(hook["secret"], received)
            assert not verify("whsec_wrong", received)
            t = int(received.headers["x-beckon-signature"].split(",")[0][2:])
            assert abs(time.time() - t) < 60
            assert received.headers["content-type"] == "application/json"
            assert received.headers["x-beckon-delivery"].startswith("wd_")
        started = orjson.loads(by_event["conversation.started"].body)
        assert started["type"] == "conversation.started" and started["site_id"] == chat.site["id"]
        assert started["data"]["conversation"]["id"] == conv["id"]
        closed = orjson.loads(by_event["conversation.closed"].body)
        # The transcript, without the internal note.
        assert [m["text"] for m in closed["data"]["transcript"]] == [
            "Where is my order?",
            "Let me check",
        ]
        assert closed["data"]["by"] == "agent"
        survey = orjson.loads(by_event["survey.submitted"].body)
        assert (survey["data"]["kind"], survey["data"]["score"]) == ("csat", 5)
        # The secret is shown once: never again in the list.
        async with admin(chat) as client:
            listed = (await client.get(f"/api/v1/sites/{chat.site['id']}/webhooks")).json()
        mine = next(h for h in listed["items"] if h["id"] == hook["id"])
        assert "secret" not in mine and mine["secret_hint"] == "…" + hook["secret"][-4:]
        log = await delivery_log(chat, hook["id"])
        assert {d["status"] for d in log} == {"delivered"}
        assert all(d["attempt_log"][-1]["status_code"] == 200 for d in log)
    finally:
        await receiver.stop()


async def test_receiver_down_then_failing_then_up_is_delivered_once(chat: ChatSite) -> None:
    receiver = Receiver()  # not started: its port refuses connections
    hook = await create_hook(chat, receiver.url, ["survey.submitted"])
    delivery_id = await send_test(chat, hook["id"])

    async def attempts(n: int) -> list[dict[str, Any]] | None:
        log = await delivery_log(chat, hook["id"])
        entry = next(d for d in log if d["id"] == delivery_id)
        return entry if len(entry["attempt_log"]) >= n else None

    entry = await eventually(lambda: attempts(2))
    assert entry["status"] == "pending" and entry["last_status_code"] is None
    assert entry["attempt_log"][0]["error"]
    receiver.status = 503  # up, but failing
    await receiver.start()
    try:
        await receiver.wait_for(lambda rs: len(rs) >= 1, timeout=20)
        receiver.status = 200
        await receiver.wait_for(lambda rs: len(rs) >= 2, timeout=20)

        async def delivered() -> dict[str, Any] | None:
            log = await delivery_log(chat, hook["id"])
            found = next(d for d in log if d["id"] == delivery_id)
            return found if found["status"] == "delivered" else None

        entry = await eventually(delivered)
        codes = [a["status_code"] for a in entry["attempt_log"]]
        assert codes[-2:] == [503, 200] and codes[:-2] == [None] * (len(codes) - 2)
        assert entry["attempts"] == len(codes)
        # Exponential backoff: the gap before retry n is at least base × 2^(n-1).
        times = [a["ts"] for a in entry["attempt_log"]]
        for n, (a, b) in enumerate(itertools.pairwise(times), start=1):
            assert b - a >= RETRY_BASE_S * 1000 * 2 ** (n - 1) * 0.95, (n, times)
        # Delivered once: one 200, and nothing is sent after success.
        assert len([r for r in receiver.of(delivery_id)]) == 2  # the 503 and the 200
        assert verify(hook["secret"], receiver.of(delivery_id)[-1])
        assert orjson.loads(receiver.of(delivery_id)[-1].body)["type"] == "webhook.test"
    finally:
        await receiver.stop()


async def test_webhook_api_misuse(chat: ChatSite, node: BeckonProcess) -> None:
    site = chat.site["id"]
    async with admin(chat) as client:
        bad = await client.post(
            f"/api/v1/sites/{site}/webhooks", json={"url": "http://x.test/", "events": ["nope"]}
        )
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"].startswith(
            "events"
        )
        scheme = await client.post(
            f"/api/v1/sites/{site}/webhooks",
            json={"url": "ftp://example.com/x", "events": ["survey.submitted"]},
        )
        assert scheme.status_code == 422
        assert scheme.json()["error"]["details"] == [
            {"path": "url", "message": "the URL must start with https:// or http://"}
        ]
        creds = await client.post(
            f"/api/v1/sites/{site}/webhooks",
            json={"url": "https://u:p@example.com/x", "events": ["survey.submitted"]},
        )
        assert (
            creds.json()["error"]["details"][0]["message"] == "the URL must not carry credentials"
        )
        missing = await client.get(f"/api/v1/sites/{site}/webhooks/wh_nope/deliveries")
        assert missing.status_code == 404
    hook = await create_hook(chat, "http://127.0.0.1:9/hook", ["conversation.started"])
    async with admin(chat) as client:
        gone = await client.delete(f"/api/v1/sites/{site}/webhooks/{hook['id']}")
        assert gone.status_code == 200
        again = await client.delete(f"/api/v1/sites/{site}/webhooks/{hook['id']}")
        assert again.status_code == 404
    # Agents (and marketers) cannot see or create webhooks.
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as client:
        auth = {"Authorization": f"Bearer {chat.agent_token}"}
        listed = await client.get(f"/api/v1/sites/{site}/webhooks", headers=auth)
        assert listed.status_code == 403


PRIVATE_TARGETS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://100.64.0.1/hook",
]


async def test_private_targets_are_refused_at_save(tmp_path: Path) -> None:
    process = BeckonProcess(subprocess_env(tmp_path), tmp_path)  # the default: refuse
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        async with admin(chat) as client:
            for url in PRIVATE_TARGETS:
                response = await client.post(
                    f"/api/v1/sites/{chat.site['id']}/webhooks",
                    json={"url": url, "events": ["conversation.started"]},
                )
                assert response.status_code == 422, url
                detail = response.json()["error"]["details"][0]
                assert detail["path"] == "url" and "refused" in detail["message"], url
    finally:
        await process.stop()


async def test_refused_at_send_when_the_setting_changes(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    env = {**subprocess_env(tmp_path), **FAST}
    process = BeckonProcess(env, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        hook = await create_hook(chat, receiver.url, ["survey.submitted"])
        await process.stop()
        process.env["BECKON_ALLOW_PRIVATE_TARGETS"] = "false"
        await process.start()
        delivery_id = await send_test(chat, hook["id"])

        async def refused() -> dict[str, Any] | None:
            log = await delivery_log(chat, hook["id"])
            entry = next(d for d in log if d["id"] == delivery_id)
            return entry if entry["attempt_log"] else None

        entry = await eventually(refused)
        assert entry["attempt_log"][0]["status_code"] is None
        assert entry["attempt_log"][0]["error"].startswith("refused: 127.0.0.1 resolves to")
        assert receiver.of(delivery_id) == []
    finally:
        await process.stop()
        await receiver.stop()


async def test_pending_delivery_survives_a_killed_node(tmp_path: Path) -> None:
    receiver = Receiver()  # down for now
    process = BeckonProcess({**subprocess_env(tmp_path), **FAST}, tmp_path)
    await process.create_admin()
    await process.start()
    try:
        chat = await make_chat_site(process)
        hook = await create_hook(chat, receiver.url, ["survey.submitted"])
        delivery_id = await send_test(chat, hook["id"])

        async def failed_once() -> bool:
            log = await delivery_log(chat, hook["id"])
            return bool(log and log[0]["attempt_log"])

        await eventually(failed_once)
        await process.kill()  # SIGKILL: no shutdown, the outbox row stays pending
        await receiver.start()
        await process.start()
        got = await receiver.wait_for(lambda rs: len(receiver.of(delivery_id)) >= 1, timeout=20)
        assert verify(hook["secret"], got[0])

        async def delivered() -> bool:
            log = await delivery_log(chat, hook["id"])
            return log[0]["status"] == "delivered"

        await eventually(delivered)
        assert len(receiver.of(delivery_id)) == 1
    finally:
        await process.stop()
        await receiver.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_nodes_send_each_delivery_exactly_once(tmp_path: Path, redis_prefix: str) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        async with cluster(tmp_path, prefix=redis_prefix, extra_env=FAST) as nodes:
            chat = await make_chat_site(nodes[0])
            hook = await create_hook(chat, receiver.url, ["survey.submitted"])
            ids = []
            async with httpx.AsyncClient(timeout=10) as client:
                auth = {"Authorization": f"Bearer {chat.admin_token}"}
                for n in range(40):
                    node = nodes[n % 2]
                    response = await client.post(
                        f"{node.url}/api/v1/sites/{chat.site['id']}/webhooks/{hook['id']}/test",
                        headers=auth,
                    )
                    ids.append(response.json()["delivery_id"])
            await receiver.wait_for(lambda rs: len(rs) >= 40, timeout=30)

            async def all_delivered() -> bool:
                log = await delivery_log(chat, hook["id"])
                return len(log) == 40 and {d["status"] for d in log} == {"delivered"}

            await eventually(all_delivered)
            sent = [r.headers["x-beckon-delivery"] for r in receiver.requests]
            assert sorted(sent) == sorted(ids)  # each once, none twice
    finally:
        await receiver.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_an_endpoint_added_on_one_node_gets_events_from_the_other(
    tmp_path: Path, redis_prefix: str
) -> None:
    # Node 2 caches which events the site's endpoints want; adding one on node 1 must
    # reach node 2's cache at once (the announcement), not after the cache expires.
    receiver = Receiver()
    await receiver.start()
    try:
        async with cluster(tmp_path, prefix=redis_prefix, extra_env=FAST) as nodes:
            chat = await make_chat_site(nodes[0])
            visitor, _ = await chat.visitor(node_url=nodes[1].url)
            conv = await visitor.request({"type": "chat_start", "text": "before any endpoint"})
            before = {"conversation_id": conv["id"], "client_msg_id": "m1", "text": "still none"}
            assert (await visitor.request({"type": "message", **before}))["type"] == "message"
            await create_hook(chat, receiver.url, ["message.created"])
            after = {"conversation_id": conv["id"], "client_msg_id": "m2", "text": "after"}
            assert (await visitor.request({"type": "message", **after}))["type"] == "message"
            received = await receiver.wait_for(lambda rs: len(rs) >= 1, timeout=10)
            texts = [orjson.loads(r.body)["data"]["message"]["text"] for r in received]
            assert texts == ["after"]
            await visitor.close()
    finally:
        await receiver.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_delivery_written_on_one_node_is_sent_at_once_by_another(
    tmp_path: Path, redis_prefix: str
) -> None:
    # Node 1 writes deliveries but does not send them (BECKON_WEBHOOK_SENDS=false); node 2,
    # idle, polls the outbox only every 30 s: the broker notice of node 1's write is what
    # must wake it. Default poll, so nothing else makes node 2 look sooner.
    receiver = Receiver()
    await receiver.start()
    database = await create_pg_database()
    env = {
        **subprocess_env(tmp_path),
        "BECKON_DATABASE_URL": database,
        "BECKON_BROKER_URL": "redis://127.0.0.1:6379/0",
        "BECKON_BROKER_PREFIX": redis_prefix,
        "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    }
    writer = BeckonProcess({**env, "BECKON_WEBHOOK_SENDS": "false"}, tmp_path)
    sender = BeckonProcess(env, tmp_path)
    try:
        await writer.create_admin()
        await writer.start("--no-bootstrap")
        await sender.start("--no-bootstrap")
        chat = await make_chat_site(writer)
        hook = await create_hook(chat, receiver.url, ["survey.submitted", "message.created"])
        # Written by the API (the test delivery) ...
        delivery_id = await send_test(chat, hook["id"])
        # (20 s: a loaded machine's margin, still inside node 2's 30 s idle poll.)
        got = await receiver.wait_for(lambda rs: receiver.of(delivery_id) != [], timeout=20)
        assert verify(hook["secret"], got[0])
        # ... and by the events listener (a visitor's message on the writing node).
        visitor, _ = await chat.visitor(node_url=writer.url)
        conv = await visitor.request({"type": "chat_start", "text": "hello"})
        frame = {"conversation_id": conv["id"], "client_msg_id": "m1", "text": "woken"}
        assert (await visitor.request({"type": "message", **frame}))["type"] == "message"
        await visitor.close()

        def has_woken(requests: list[Any]) -> bool:
            return any(b"woken" in r.body for r in requests)

        await receiver.wait_for(has_woken, timeout=20)
        log = await delivery_log(chat, hook["id"])
        by_id = {d["id"]: d for d in log}
        assert by_id[delivery_id]["status"] == "delivered"
    finally:
        await writer.stop()
        await sender.stop()
        await drop_pg_database(database)
        await receiver.stop()
