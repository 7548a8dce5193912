"""server/store/write_turns.py: one turn at a time, urgent waiters first, and a waiter
cancelled before or just after being handed the turn never keeps it."""

from __future__ import annotations

import asyncio

from server.store.write_turns import WriteTurns
from tests.waiting import next_loop_turn


async def _take(turns: WriteTurns, name: str, got: list[str], urgent: bool = False) -> None:
    await turns.acquire(urgent)
    got.append(name)
    turns.release()


async def test_urgent_first_then_arrival_order_and_free_at_the_end() -> None:
    turns, got = WriteTurns(), []
    await turns.acquire()
    tasks = [
        asyncio.create_task(_take(turns, name, got, urgent))
        for name, urgent in [("a", False), ("b", False), ("U", True), ("c", False), ("V", True)]
    ]
    await next_loop_turn()
    turns.release()
    await asyncio.gather(*tasks)
    assert got == ["U", "V", "a", "b", "c"]
    assert not turns.held


async def test_a_waiter_cancelled_takes_no_turn() -> None:
    turns, got = WriteTurns(), []
    await turns.acquire()
    gone = asyncio.create_task(_take(turns, "gone", got, urgent=True))
    later = asyncio.create_task(_take(turns, "later", got))
    await next_loop_turn()
    gone.cancel()
    await next_loop_turn()
    turns.release()
    await later
    assert got == ["later"] and not turns.held


async def test_a_turn_handed_over_then_cancelled_passes_on() -> None:
    turns, got = WriteTurns(), []
    await turns.acquire()
    handed = asyncio.create_task(_take(turns, "handed", got))
    later = asyncio.create_task(_take(turns, "later", got))
    await next_loop_turn()
    turns.release()  # "handed" has the turn now, but has not run yet
    handed.cancel()
    await asyncio.gather(handed, later, return_exceptions=True)
    assert handed.cancelled()
    assert got == ["later"] and not turns.held
