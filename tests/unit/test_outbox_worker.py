"""The outbox loop's idle behaviour (server/outbox_worker.py): with nothing waiting it
sleeps long, and a notice on the broker — a row written on any node — wakes it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from server.broker.memory_broker import MemoryBroker
from server.ids import now_ms
from server.outbox_worker import IDLE_POLL_S, OutboxWorker
from server.settings import SettingsError
from server.webhook_worker import WebhookConfig
from tests.waiting import next_loop_turn, settled

log = logging.getLogger("test.outbox")


class CountingWorker(OutboxWorker):
    """Claims nothing; counts its passes; `due` is what the Store would say is next."""

    name = "test"

    def __init__(self, poll_s: float = 0.05, idle_poll_s: float = IDLE_POLL_S) -> None:
        super().__init__(None, poll_s, log, idle_poll_s)  # type: ignore[arg-type]
        self.passes = 0
        self.due: int | None = None

    async def run_once(self) -> bool:
        self.passes += 1
        return False

    async def next_due_ts(self) -> int | None:
        return self.due


@pytest_asyncio.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    broker = MemoryBroker()
    await broker.start()
    yield broker
    await broker.close()


async def test_nothing_waiting_sleeps_the_idle_poll_not_the_short_one() -> None:
    worker = CountingWorker(poll_s=1.0)
    assert await worker._idle_s() == IDLE_POLL_S


async def test_a_due_but_held_row_is_looked_at_again_after_the_short_poll() -> None:
    worker = CountingWorker(poll_s=1.0)
    worker.due = now_ms() - 5  # due, but leased by another node
    assert await worker._idle_s() == 1.0


async def test_a_row_due_later_wakes_the_worker_at_its_due_time() -> None:
    worker = CountingWorker(poll_s=1.0)
    worker.due = now_ms() + 5_000  # a retry's back-off
    assert 4.0 < await worker._idle_s() <= 5.0
    worker.due = now_ms() + 3_600_000  # an hour: the idle poll still comes first
    assert await worker._idle_s() == IDLE_POLL_S


async def test_an_idle_poll_shorter_than_the_poll_is_raised_to_it() -> None:
    assert CountingWorker(poll_s=2.0, idle_poll_s=0.5).idle_poll_s == 2.0


async def test_a_store_that_cannot_answer_is_asked_again_after_the_short_poll() -> None:
    class Failing(CountingWorker):
        async def next_due_ts(self) -> int | None:
            raise RuntimeError("store away")

    assert await Failing(poll_s=1.0)._idle_s() == 1.0


async def test_a_row_written_on_another_node_wakes_this_nodes_idle_worker(
    broker: MemoryBroker,
) -> None:
    writer, sender = CountingWorker(), CountingWorker(idle_poll_s=600.0)
    await writer.follow(broker)  # the writing node's worker is never started
    await sender.follow(broker)
    sender.start()
    try:
        await settled(lambda: sender.passes == 1)
        assert sender.passes == 1  # asleep for the idle poll now
        writer.wake()
        await settled(lambda: sender.passes == 2, timeout=5)
    finally:
        await sender.finish()
        await sender.close()
        await writer.close()


async def test_wake_without_a_broker_wakes_only_this_node() -> None:
    worker = CountingWorker(idle_poll_s=600.0)
    worker.start()
    try:
        await settled(lambda: worker.passes == 1)
        worker.wake()
        await settled(lambda: worker.passes == 2, timeout=5)
    finally:
        await worker.finish()
        await worker.close()


async def test_a_broker_that_is_down_still_wakes_this_node_and_logs(
    broker: MemoryBroker, caplog: pytest.LogCaptureFixture
) -> None:
    worker = CountingWorker(idle_poll_s=600.0)
    await worker.follow(broker)
    worker.start()
    try:
        await settled(lambda: worker.passes == 1)
        await broker.close()
        with caplog.at_level(logging.WARNING, logger="test.outbox"):
            worker.wake()  # no exception: the row is stored, the others poll for it
            await settled(lambda: worker.passes == 2, timeout=5)
        assert "the other nodes were not woken" in caplog.text
    finally:
        await worker.finish()
        await worker.close()


async def test_close_stops_listening_to_notices(broker: MemoryBroker) -> None:
    writer, sender = CountingWorker(), CountingWorker(idle_poll_s=600.0)
    await writer.follow(broker)
    await sender.follow(broker)
    await sender.close()
    writer.wake()
    await next_loop_turn()
    assert not sender._wake.is_set()
    await writer.close()


async def test_a_bad_sends_flag_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="BECKON_WEBHOOK_SENDS: expected true or false"):
        WebhookConfig.from_env({"BECKON_WEBHOOK_SENDS": "maybe"})
    assert WebhookConfig.from_env({"BECKON_WEBHOOK_SENDS": "False"}).sends is False
    assert WebhookConfig.from_env({}).sends is True
