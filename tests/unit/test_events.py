"""EventBus: emit hands events to each listener's own queue (no task per event); an
emitter never waits; a failing listener is logged and later events still reach it; each
listener sees its events in emit order; drain waits for all of it; a listener that falls
MAX_BEHIND events behind loses the newest ones, with a warning and a count."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from server.events import MAX_BEHIND, EventBus
from tests.waiting import next_loop_turn

GUARD_S = 5.0  # a guard against a hang, not a measure


class Recorder:
    """A listener that records what it saw; `gate` (when given) holds each call open."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.started: list[Any] = []
        self.gate = gate
        self.called = asyncio.Event()

    async def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.started.append(data["n"])
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        self.seen.append((kind, data["n"]))


async def drained(bus: EventBus) -> None:
    async with asyncio.timeout(GUARD_S):
        await bus.drain()


async def test_emit_creates_no_task_per_event_and_never_waits() -> None:
    bus = EventBus()
    gate = asyncio.Event()
    slow = Recorder(gate)
    bus.on("message.created", slow)
    before = len(asyncio.all_tasks())
    for n in range(100):
        bus.emit("message.created", {"n": n})  # returns while the listener is held
    await next_loop_turn()
    assert len(asyncio.all_tasks()) == before + 1  # one consumer for the listener
    assert slow.started == [0]
    gate.set()
    await drained(bus)
    assert slow.seen == [("message.created", n) for n in range(100)]


async def test_each_listener_sees_its_events_in_emit_order_one_at_a_time() -> None:
    bus = EventBus()
    gate = asyncio.Event()
    listener = Recorder(gate)
    for kind in ("conversation.started", "message.created", "conversation.closed"):
        bus.on(kind, listener)  # one listener for three kinds: one queue
    bus.emit("conversation.started", {"n": 1})
    bus.emit("message.created", {"n": 2})
    bus.emit("conversation.closed", {"n": 3})
    async with asyncio.timeout(GUARD_S):
        await listener.called.wait()
    await next_loop_turn()
    assert listener.started == [1]  # the next event waits for this one
    gate.set()
    await drained(bus)
    assert listener.seen == [
        ("conversation.started", 1),
        ("message.created", 2),
        ("conversation.closed", 3),
    ]


async def test_a_slow_listener_does_not_hold_up_another() -> None:
    bus = EventBus()
    held = Recorder(asyncio.Event())
    quick = Recorder()
    bus.on("message.created", held)
    bus.on("message.created", quick)
    bus.emit("message.created", {"n": 1})
    bus.emit("message.created", {"n": 2})
    async with asyncio.timeout(GUARD_S):
        while len(quick.seen) < 2:
            quick.called.clear()
            await quick.called.wait()
    assert held.seen == []
    assert held.gate is not None
    held.gate.set()
    await drained(bus)
    assert held.seen == quick.seen == [("message.created", 1), ("message.created", 2)]


async def test_a_failing_listener_is_logged_and_gets_later_events(caplog) -> None:
    bus = EventBus()
    seen: list[int] = []

    async def flaky(kind: str, data: dict[str, Any]) -> None:
        if data["n"] == 1:
            raise RuntimeError("listener bug")
        seen.append(data["n"])

    bus.on("survey.submitted", flaky)
    with caplog.at_level(logging.ERROR, logger="beckon.events"):
        for n in range(3):
            bus.emit("survey.submitted", {"n": n})
        await drained(bus)
    assert seen == [0, 2]
    failures = [r for r in caplog.records if r.getMessage().endswith("failed on survey.submitted")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and str(failures[0].exc_info[1]) == "listener bug"


async def test_drain_waits_for_events_listeners_emit_and_leaves_no_task() -> None:
    bus = EventBus()
    later = Recorder()

    async def chained(kind: str, data: dict[str, Any]) -> None:
        await next_loop_turn()
        bus.emit("conversion.recorded", {"n": data["n"] * 10})

    bus.on("invitation.accepted", chained)
    bus.on("conversion.recorded", later)
    before = len(asyncio.all_tasks())
    bus.emit("invitation.accepted", {"n": 1})
    bus.emit("invitation.accepted", {"n": 2})
    await drained(bus)
    assert later.seen == [("conversion.recorded", 10), ("conversion.recorded", 20)]
    assert len(asyncio.all_tasks()) == before  # shutdown leaves nothing running
    bus.emit("conversion.recorded", {"n": 3})  # and the bus still works after
    await drained(bus)
    assert later.seen[-1] == ("conversion.recorded", 3)


async def test_a_listener_far_behind_loses_the_newest_events_with_a_warning(caplog) -> None:
    bus = EventBus(max_behind=3)
    gate = asyncio.Event()
    stuck = Recorder(gate)
    bus.on("message.created", stuck)
    bus.emit("message.created", {"n": 0})
    async with asyncio.timeout(GUARD_S):
        await stuck.called.wait()  # 0 is being handled; 1-3 fill the queue
    with caplog.at_level(logging.WARNING, logger="beckon.events"):
        for n in range(1, 7):
            bus.emit("message.created", {"n": n})
        assert bus.dropped == 3
        gate.set()
        await drained(bus)
    assert [n for _, n in stuck.seen] == [0, 1, 2, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one when it starts dropping, one when it has caught up
    assert "3 events behind: dropping new events (this one: message.created)" in warnings[0]
    assert "caught up after dropping 3 events" in warnings[1]
    bus.emit("message.created", {"n": 7})
    await drained(bus)
    assert stuck.seen[-1] == ("message.created", 7)
    assert MAX_BEHIND == 10_000


def test_unknown_kinds_are_refused() -> None:
    bus = EventBus()
    with pytest.raises(ValueError, match=r"^unknown event kind 'message.sent'$"):
        bus.on("message.sent", Recorder())
    with pytest.raises(ValueError, match=r"^unknown event kind 'message.sent'$"):
        bus.emit("message.sent", {})
    with pytest.raises(ValueError, match=r"^max_behind must be >= 1, got 0$"):
        EventBus(max_behind=0)


async def test_a_listener_raising_cancelled_error_does_not_end_its_consumer(caplog) -> None:
    bus = EventBus()
    seen: list[int] = []

    async def cancelled_inside(kind: str, data: dict[str, Any]) -> None:
        if data["n"] == 1:
            raise asyncio.CancelledError  # e.g. a timeout of its own it did not catch
        seen.append(data["n"])

    bus.on("conversation.missed", cancelled_inside)
    with caplog.at_level(logging.ERROR, logger="beckon.events"):
        for n in range(3):
            bus.emit("conversation.missed", {"n": n})
        await drained(bus)
    assert seen == [0, 2]
    assert any(
        r.getMessage().endswith("was cancelled on conversation.missed") for r in caplog.records
    )
