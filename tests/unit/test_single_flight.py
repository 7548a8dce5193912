"""server/single_flight.py: concurrent callers of a key share one load; failures reach
them all and the next call loads again; a cancelled caller leaves the load to the rest."""

from __future__ import annotations

import asyncio

import pytest

from server.single_flight import SingleFlight
from tests.waiting import settled


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self) -> int:
        self.calls += 1
        number = self.calls
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return number


async def test_callers_of_one_key_share_a_load_other_keys_do_not() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    load = Loader()
    a = [asyncio.create_task(flights.run("a", load)) for _ in range(10)]
    b = asyncio.create_task(flights.run("b", load))
    await settled(lambda: load.calls >= 2)
    assert load.calls == 2
    load.gate.set()
    assert await asyncio.gather(*a) == [1] * 10
    assert await b == 2
    assert await flights.run("a", load) == 3  # landed: the next call loads again


async def test_a_failure_reaches_every_caller_and_the_next_call_retries() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    load = Loader()
    load.fail = RuntimeError("store down")
    callers = [asyncio.create_task(flights.run("k", load)) for _ in range(3)]
    await settled(lambda: load.calls >= 1)
    load.gate.set()
    for caller in callers:
        with pytest.raises(RuntimeError, match="store down"):
            await caller
    load.fail = None
    assert await flights.run("k", load) == 2


async def test_a_cancelled_caller_does_not_cancel_the_others_load() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    load = Loader()
    leaving = asyncio.create_task(flights.run("k", load))
    staying = asyncio.create_task(flights.run("k", load))
    await settled(lambda: load.calls >= 1)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    load.gate.set()
    assert await staying == 1 and load.calls == 1


async def test_forget_makes_later_callers_load_afresh() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    load = Loader()
    before = asyncio.create_task(flights.run("k", load))
    await settled(lambda: load.calls >= 1)
    flights.forget("k")
    after = asyncio.create_task(flights.run("k", load))
    await settled(lambda: load.calls >= 2)
    assert load.calls == 2
    load.gate.set()
    assert (await before, await after) == (1, 2)
