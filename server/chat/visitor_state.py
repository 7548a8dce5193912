"""A visitor's live state in the Broker — facts, invitation counters, next wake and the
invitation on screen — so a visitor whose socket moves to another node keeps them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from invitations import VisitorCounters, VisitorFacts, facts_from_dict, facts_to_dict
from invitations.decisions import Tracker
from server.broker.base import Broker
from server.chat import page_trail

log = logging.getLogger("beckon.proactive")
STATE_TTL_S = 2 * 3600.0  # past a visit's end (30 min), so caps hold across a return


@dataclass(slots=True)
class VisitorState:
    facts: VisitorFacts
    counters: VisitorCounters = field(default_factory=VisitorCounters)
    wake: float | None = None
    # The invitation on screen: {"id", "rule_id", "department", "paced"}.
    invitation: dict[str, Any] | None = None
    # What this visit's decisions over time recorded so far (server/chat/decision_recorder).
    decisions: Tracker = field(default_factory=Tracker)
    # This visit's pages for the console (`page_trail`), bounded.
    trail: list[dict[str, Any]] = field(default_factory=list)


def key(visitor_id: str) -> str:
    return f"vstate:{visitor_id}"


async def load(broker: Broker, visitor_id: str) -> VisitorState:
    return parse(visitor_id, await broker.state_get(key(visitor_id)))


async def load_many(broker: Broker, visitor_ids: list[str]) -> list[VisitorState]:
    """`load` for many visitors in one Broker command."""
    raws = await broker.state_get_many([key(v) for v in visitor_ids])
    return [parse(v, raw) for v, raw in zip(visitor_ids, raws, strict=True)]


def parse(visitor_id: str, raw: bytes | None) -> VisitorState:
    """The state stored as `raw` (a fresh state when there is none)."""
    if raw is None:
        return VisitorState(VisitorFacts(visitor_id))
    data = orjson.loads(raw)
    try:
        return VisitorState(
            facts_from_dict(data["facts"]),
            VisitorCounters.from_dict(data["counters"]),
            data.get("wake"),
            data.get("invitation"),
            Tracker.from_dict(data.get("decisions")),
            page_trail.valid(data.get("trail")),
        )
    except (KeyError, ValueError, TypeError):
        # Written by an incompatible version: start afresh rather than fail the socket.
        return VisitorState(VisitorFacts(visitor_id))


async def save(broker: Broker, state: VisitorState) -> None:
    await broker.state_set(key(state.facts.visitor_id), encode(state), STATE_TTL_S)


def encode(state: VisitorState) -> bytes:
    """The stored form of `state` (`parse` reads it back)."""
    data = {
        "facts": facts_to_dict(state.facts),
        "counters": state.counters.to_dict(),
        "wake": state.wake,
        "invitation": state.invitation,
        "trail": state.trail,
    }
    if state.decisions.visit is not None:
        data["decisions"] = state.decisions.to_dict()
    return orjson.dumps(data)


KEEP_S = 30.0
"""How long a state stays parsed after its last save (`ParsedStates`)."""


def _log_failed_save(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a visitor's live state was not saved: %s", future.exception())


class ParsedStates:
    """The states this node last wrote, with the bytes it wrote, for the visitors whose
    sockets it holds. A load still reads the key — another node, tab or agent may have
    written since — but when the bytes are the ones this node wrote, the state it wrote
    is reused instead of parsed again (parsing was a quarter of a behaviour event's
    time). An entry is handed over by `load` and put back by `save`: a caller that
    changes a state and then fails before saving leaves nothing stale behind."""

    def __init__(
        self, broker: Broker, keep_s: float = KEEP_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._broker = broker
        self._keep_s = keep_s
        self._clock = clock
        self._entries: dict[str, tuple[bytes, VisitorState, float]] = {}
        self._swept_at = clock()

    async def load(self, visitor_id: str) -> VisitorState:
        raw = await self._broker.state_get(key(visitor_id))
        entry = self._entries.pop(visitor_id, None)
        if entry is not None and raw == entry[0]:
            return entry[1]
        return parse(visitor_id, raw)

    async def save(self, state: VisitorState, *, keep: bool) -> None:
        """Store `state`; `keep`: remember it for the next load, for `keep_s` (a visitor
        in the middle of a burst of events, with a socket here)."""
        visitor_id = state.facts.visitor_id
        raw = encode(state)
        self._entries.pop(visitor_id, None)
        if not keep:
            await self._broker.state_set(key(visitor_id), raw, STATE_TTL_S)
            return
        # Mid-burst: the write is queued, not awaited. Every later command of this node
        # (the next event's read first) runs after it, so the burst's events still see
        # each other; the event's frame is answered one round trip sooner, and the next
        # read travels with this write. A failure is logged: the key keeps its last
        # state, and the next load reads that (the bytes differ from the entry's).
        self._broker.state_set_nowait(key(visitor_id), raw, STATE_TTL_S).add_done_callback(
            _log_failed_save
        )
        now = self._clock()
        self._entries[visitor_id] = (raw, state, now)
        if now - self._swept_at >= self._keep_s:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        # Once per `keep_s`: what memory holds follows the visitors active lately, not
        # the sockets open (an idle socket holds nothing after a while).
        self._swept_at = now
        stale = [v for v, (_, _, at) in self._entries.items() if now - at >= self._keep_s]
        for visitor_id in stale:
            del self._entries[visitor_id]

    def forget(self, visitor_id: str) -> None:
        self._entries.pop(visitor_id, None)

    def __len__(self) -> int:
        return len(self._entries)
