"""A node reuses the visitor state it wrote when the stored bytes are still its own,
and reads anyone else's write afresh."""

from __future__ import annotations

import pytest

from invitations import VisitorFacts
from server.broker.memory_broker import MemoryBroker
from server.chat import visitor_state
from server.chat.visitor_state import ParsedStates, VisitorState

pytestmark = pytest.mark.asyncio


async def _started() -> MemoryBroker:
    broker = MemoryBroker()
    await broker.start()
    return broker


def _state(visitor_id: str, cart: float) -> VisitorState:
    return VisitorState(VisitorFacts(visitor_id, cart_value=cart))


async def test_a_state_this_node_wrote_is_reused_while_the_stored_bytes_are_its_own() -> None:
    broker = await _started()
    states = ParsedStates(broker)
    mine = _state("v1", 10.0)
    await states.save(mine, keep=True)
    assert await states.load("v1") is mine  # not parsed again
    # Handed over by the load: until it is saved again, a load parses.
    again = await states.load("v1")
    assert again is not mine and again.facts == mine.facts


async def test_a_write_by_anyone_else_is_read_afresh() -> None:
    broker = await _started()
    states = ParsedStates(broker)
    await states.save(_state("v1", 10.0), keep=True)
    await visitor_state.save(broker, _state("v1", 99.0))  # another node, an agent's node
    assert (await states.load("v1")).facts.cart_value == 99.0


async def test_an_erased_state_is_not_brought_back() -> None:
    broker = await _started()
    states = ParsedStates(broker)
    await states.save(_state("v1", 10.0), keep=True)
    await broker.state_delete(visitor_state.key("v1"))
    assert (await states.load("v1")).facts == VisitorFacts("v1")


async def test_only_the_states_asked_to_be_kept_are_held() -> None:
    broker = await _started()
    states = ParsedStates(broker)
    await states.save(_state("v1", 10.0), keep=False)
    await states.save(_state("v2", 10.0), keep=True)
    assert len(states) == 1
    states.forget("v2")
    assert len(states) == 0
    assert (await states.load("v2")).facts.cart_value == 10.0  # stored all the same


async def test_kept_states_are_let_go_once_their_visitor_went_quiet() -> None:
    broker = await _started()
    now = [0.0]
    states = ParsedStates(broker, keep_s=30.0, clock=lambda: now[0])
    await states.save(_state("quiet", 1.0), keep=True)
    now[0] = 20.0
    await states.save(_state("busy", 1.0), keep=True)
    now[0] = 35.0
    await states.save(_state("busy", 2.0), keep=True)  # the sweep: "quiet" is 35 s old
    assert len(states) == 1
    assert (await states.load("busy")).facts.cart_value == 2.0
