"""SIGTERM on one node (server/graceful.py): the webhook delivery in flight finishes and
is recorded, and BECKON_SHUTDOWN_TIMEOUT_S bounds the wait on a target that hangs.
(Sockets closing with 1012 after their ack: tests/unit/test_ws_protocol.py and
tests/integration/test_rolling_restart.py.)"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx

from tests.beckon_process import BeckonProcess
from tests.chat_setup import ChatSite, make_chat_site
from tests.conftest import subprocess_env
from tests.webhook_receiver import Receiver

FAST = {"BECKON_ALLOW_PRIVATE_TARGETS": "true", "BECKON_WEBHOOK_POLL_S": "0.1"}
SLOW_TARGET_S = 1.5  # answers well after the node has begun shutting down
HUNG_TARGET_S = 60.0  # answers long after any bound
GRACEFUL_EXIT = -signal.SIGTERM  # uvicorn re-raises the signal once it has shut down


async def _test_delivery(chat: ChatSite, receiver: Receiver) -> str:
    """A `webhook.test` delivery to `receiver`, in flight once this returns."""
    async with httpx.AsyncClient(
        base_url=chat.server_url, headers={"Authorization": f"Bearer {chat.admin_token}"}
    ) as client:
        hook = await client.post(
            f"/api/v1/sites/{chat.site['id']}/webhooks",
            json={"url": receiver.url, "events": ["conversation.started"]},
        )
        assert hook.status_code == 201, hook.text
        sent = await client.post(
            f"/api/v1/sites/{chat.site['id']}/webhooks/{hook.json()['id']}/test"
        )
    assert sent.status_code == 202, sent.text
    delivery_id = sent.json()["delivery_id"]
    await receiver.wait_for(lambda requests: len(receiver.of(delivery_id)) == 1)
    return delivery_id


def _outbox_row(directory: Path, delivery_id: str) -> tuple[str, int]:
    with sqlite3.connect(directory / "beckon.db") as db:
        row = db.execute(
            "SELECT status, attempts FROM webhook_outbox WHERE id = ?", (delivery_id,)
        ).fetchone()
    return row[0], row[1]


async def test_sigterm_waits_for_the_delivery_in_flight(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.answer_after_s = SLOW_TARGET_S
    await receiver.start()
    node = BeckonProcess({**subprocess_env(tmp_path), **FAST}, tmp_path)
    try:
        await node.create_admin()
        await node.start()
        chat = await make_chat_site(node)
        delivery_id = await _test_delivery(chat, receiver)
        assert await node.stop() == GRACEFUL_EXIT  # SIGTERM while the target is answering
        # Recorded as delivered on its one attempt: not left leased, to be sent again by
        # another node once the lease runs out.
        assert _outbox_row(tmp_path, delivery_id) == ("delivered", 1)
        assert len(receiver.of(delivery_id)) == 1
        assert "cut short" not in node.log()
    finally:
        await node.stop()
        await receiver.stop()


async def test_shutdown_timeout_bounds_a_hung_delivery(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.answer_after_s = HUNG_TARGET_S
    await receiver.start()
    env = {**subprocess_env(tmp_path), **FAST, "BECKON_SHUTDOWN_TIMEOUT_S": "2"}
    node = BeckonProcess(env, tmp_path)
    try:
        await node.create_admin()
        await node.start()
        chat = await make_chat_site(node)
        delivery_id = await _test_delivery(chat, receiver)
        # Exits by itself (stop() would SIGKILL after 15 s: -9), the delivery cut short.
        assert await node.stop() == GRACEFUL_EXIT
        assert (
            "shutdown: work still in flight after 1 s (BECKON_SHUTDOWN_TIMEOUT_S/2) was cut short"
            in node.log()
        )
        # Not recorded: still pending, so a node retries it once its lease runs out.
        assert _outbox_row(tmp_path, delivery_id) == ("pending", 0)
    finally:
        await node.stop()
        await receiver.stop()
