"""Webhook endpoints are isolated from each other (real `beckon serve`, local receivers):
a receiver that hangs does not delay another site's delivery, at most
BECKON_WEBHOOK_MAX_IN_FLIGHT attempts go to one endpoint at once, every attempt has one
overall deadline, repeated failures pause an endpoint (the reason in the API), and
resuming it delivers what waited.

Every wait is on an arrival or a polled answer with a deadline, never a fixed sleep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAST = {
    "BECKON_ALLOW_PRIVATE_TARGETS": "true",
    "BECKON_WEBHOOK_RETRY_BASE_S": "0.2",
    "BECKON_WEBHOOK_POLL_S": "0.1",
}


async def _node(tmp: Path, env: dict[str, str]) -> BeckonProcess:
    process = BeckonProcess({**subprocess_env(tmp), **FAST, **env}, tmp)
    await process.create_admin()
    await process.start()
    return process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory) -> AsyncIterator[BeckonProcess]:  # type: ignore[no-untyped-def]
    # A deadline far beyond the test's waits: a held request stays in flight throughout.
    env = {"BECKON_WEBHOOK_DEADLINE_S": "120", "BECKON_WEBHOOK_MAX_IN_FLIGHT": "2"}
    process = await _node(tmp_path_factory.mktemp("isolation"), env)
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


async def other_site(chat: ChatSite, name: str) -> str:
    async with admin(chat) as client:
        response = await client.post("/api/v1/sites", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def create_hook(chat: ChatSite, site_id: str, url: str) -> dict[str, Any]:
    async with admin(chat) as client:
        response = await client.post(
            f"/api/v1/sites/{site_id}/webhooks", json={"url": url, "events": ["survey.submitted"]}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def send_test(chat: ChatSite, site_id: str, hook_id: str) -> str:
    async with admin(chat) as client:
        response = await client.post(f"/api/v1/sites/{site_id}/webhooks/{hook_id}/test")
    assert response.status_code == 202, response.text
    return response.json()["delivery_id"]


async def hook_state(chat: ChatSite, site_id: str, hook_id: str) -> dict[str, Any]:
    async with admin(chat) as client:
        response = await client.get(f"/api/v1/sites/{site_id}/webhooks")
    assert response.status_code == 200, response.text
    return next(h for h in response.json()["items"] if h["id"] == hook_id)


async def attempts_of(chat: ChatSite, site_id: str, hook_id: str) -> list[dict[str, Any]]:
    async with admin(chat) as client:
        response = await client.get(f"/api/v1/sites/{site_id}/webhooks/{hook_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_hanging_receiver_does_not_delay_another_sites_delivery(chat: ChatSite) -> None:
    slow, fast = Receiver(), Receiver()
    slow.hold = True
    await slow.start()
    await fast.start()
    try:
        slow_site = await other_site(chat, "Slow shop")
        slow_hook = await create_hook(chat, slow_site, slow.url)
        fast_hook = await create_hook(chat, chat.site["id"], fast.url)
        for _ in range(6):
            await send_test(chat, slow_site, slow_hook["id"])
        # The worker is now inside attempts to the hanging receiver.
        await slow.wait_for(lambda rs: len(rs) >= 2)
        delivery_id = await send_test(chat, chat.site["id"], fast_hook["id"])
        await fast.wait_for(lambda rs: len(fast.of(delivery_id)) == 1, timeout=20)
        # Delivered while every request to the slow receiver was still unanswered, and
        # no more than BECKON_WEBHOOK_MAX_IN_FLIGHT (2) of its 6 were ever under way.
        assert slow.answered == 0
        assert len(slow.requests) == 2
        slow_log = await attempts_of(chat, slow_site, slow_hook["id"])
        assert [d["attempt_log"] for d in slow_log] == [[]] * 6  # none finished, none given up

        async def fast_delivered() -> list[dict[str, Any]]:
            return await attempts_of(chat, chat.site["id"], fast_hook["id"])

        log = await wait_until(
            fast_delivered, lambda ds: ds and ds[0]["status"] == "delivered", 10, "the log"
        )
        assert log[0]["attempt_log"][0]["status_code"] == 200
        # Released, the slow receiver gets the rest, two at a time.
        slow.release()
        await slow.wait_for(lambda rs: len(rs) >= 6, timeout=20)
    finally:
        await slow.stop()
        await fast.stop()


async def test_repeated_failures_pause_the_endpoint_and_resume_delivers_what_waited(
    tmp_path: Path,
) -> None:
    process = await _node(
        tmp_path, {"BECKON_WEBHOOK_PAUSE_AFTER": "3", "BECKON_WEBHOOK_DEADLINE_S": "1"}
    )
    failing, witness = Receiver(), Receiver()
    failing.status = 500
    await failing.start()
    await witness.start()
    try:
        chat = await make_chat_site(process)
        site = chat.site["id"]
        hook = await create_hook(chat, site, failing.url)
        first = await send_test(chat, site, hook["id"])

        async def paused() -> dict[str, Any]:
            return await hook_state(chat, site, hook["id"])

        state = await wait_until(paused, lambda h: h["paused"], 20, "the endpoint to pause")
        assert state["paused_reason"] == (
            "paused after 3 failed attempts in a row; the last: HTTP 500"
        )
        assert state["failures"] == 3 and isinstance(state["paused_ts"], int)
        assert len(failing.of(first)) == 3
        # While paused, nothing goes: a delivery queued now waits. (A delivery to another
        # endpoint arriving proves the worker has had its passes since.)
        waiting = await send_test(chat, site, hook["id"])
        other = await create_hook(chat, site, witness.url)
        seen = await send_test(chat, site, other["id"])
        await witness.wait_for(lambda rs: len(witness.of(seen)) == 1)
        assert failing.of(waiting) == [] and len(failing.requests) == 3
        # Resume: the waiting deliveries (the first one's retry too) go at once.
        failing.status = 200
        async with admin(chat) as client:
            response = await client.post(f"/api/v1/sites/{site}/webhooks/{hook['id']}/resume")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["paused"], body["paused_reason"], body["failures"]) == (False, None, 0)
        assert body["waiting"] == 2
        await failing.wait_for(lambda rs: len(failing.of(waiting)) == 1)
        await failing.wait_for(lambda rs: len(failing.of(first)) == 4)
    finally:
        await process.stop()
        await failing.stop()
        await witness.stop()


async def test_overall_deadline_and_pause_by_api(tmp_path: Path) -> None:
    process = await _node(tmp_path, {"BECKON_WEBHOOK_DEADLINE_S": "1"})
    hanging = Receiver()
    hanging.hold = True
    await hanging.start()
    try:
        chat = await make_chat_site(process)
        site = chat.site["id"]
        hook = await create_hook(chat, site, hanging.url)
        await send_test(chat, site, hook["id"])

        async def first_attempt() -> list[dict[str, Any]]:
            return await attempts_of(chat, site, hook["id"])

        log = await wait_until(first_attempt, lambda ds: ds and ds[0]["attempt_log"], 20, "log")
        attempt = log[0]["attempt_log"][0]
        assert attempt["status_code"] is None
        assert attempt["error"] == "no answer within the 1 s deadline"
        async with admin(chat) as client:
            url = f"/api/v1/sites/{site}/webhooks/{hook['id']}"
            paused = await client.post(f"{url}/pause")
            assert paused.status_code == 200, paused.text
            assert paused.json()["paused"] is True
            assert paused.json()["paused_reason"] == "paused by admin@example.com"
            again = await client.post(f"{url}/pause")  # already paused: the first reason stays
            assert again.json()["paused_reason"] == "paused by admin@example.com"
            missing = await client.post(f"/api/v1/sites/{site}/webhooks/wh_nope/resume")
            assert missing.status_code == 404
            assert missing.json()["error"] == {"code": "not_found", "message": "no such webhook"}
        # Agents cannot pause or resume.
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
            auth = {"Authorization": f"Bearer {chat.agent_token}"}
            refused = await client.post(f"{url}/resume", headers=auth)
            assert refused.status_code == 403
    finally:
        await process.stop()
        await hanging.stop()
