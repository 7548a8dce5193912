"""The janitor's sweeps run as often as what they guard needs (server/hub/janitor.py):
waiting chats every tick, orphaned chats every third of the presence TTL, invitations
every few seconds — not a scan of every active chat each second on an idle node."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from server.hub import janitor as janitor_module
from server.hub.janitor import INVITATION_SWEEP_S, Every, Janitor


def test_every_is_due_first_then_once_per_interval() -> None:
    every = Every(5.0)
    assert every.due(100.0)
    assert not every.due(100.0)
    assert not every.due(104.9)
    assert every.due(105.0)
    assert not every.due(106.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


class NoRows:
    async def execute(self, _query: Any) -> list[Any]:
        return []  # nothing queued


class Db:
    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[NoRows]:
        yield NoRows()


class Counted:
    def __init__(self) -> None:
        self.invitation_sweeps = 0
        self.active_reads = 0

    async def expire_due(self) -> int:
        self.invitation_sweeps += 1
        return 0

    async def active(self) -> list[dict[str, Any]]:
        self.active_reads += 1
        return []


async def test_an_idle_node_reads_active_chats_and_invitations_only_at_their_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(janitor_module, "time", clock)
    counted = Counted()
    dispatch = SimpleNamespace(db=Db(), router=SimpleNamespace(broker=None))
    retention = SimpleNamespace(sweep=None)
    janitor = Janitor(
        dispatch,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        presence_ttl_s=45,
        proactive=counted,  # type: ignore[arg-type]
        retention=retention,  # type: ignore[arg-type]
        sweep_every_s=1e9,
    )
    janitor._swept = clock.now  # the retention sweep is not what this test is about
    janitor._active = counted.active  # type: ignore[method-assign]
    clock.now += 46  # past the start-up grace (one TTL)
    for _ in range(10):  # ten ticks within the same 1 s: one read of each
        await janitor.tick()
    assert (counted.invitation_sweeps, counted.active_reads) == (1, 1)
    clock.now += INVITATION_SWEEP_S
    await janitor.tick()
    assert (counted.invitation_sweeps, counted.active_reads) == (2, 1)
    clock.now += 45 / 3
    await janitor.tick()
    assert (counted.invitation_sweeps, counted.active_reads) == (3, 2)


async def test_orphans_are_not_read_during_the_start_up_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(janitor_module, "time", clock)
    counted = Counted()
    janitor = Janitor(
        SimpleNamespace(db=Db(), router=SimpleNamespace(broker=None)),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        presence_ttl_s=3,
        proactive=counted,  # type: ignore[arg-type]
        retention=SimpleNamespace(),  # type: ignore[arg-type]
        sweep_every_s=1e9,
    )
    janitor._swept = clock.now
    janitor._active = counted.active  # type: ignore[method-assign]
    await janitor.tick()
    assert counted.active_reads == 0
    clock.now += 3.5  # one TTL later: the interval (1 s, a third of the TTL) has passed
    await janitor.tick()
    assert counted.active_reads == 1
