"""The backtest's simulation: every visitor of the site in one simulated clock, driven
exactly as the live node drives the engine (`server/chat/proactive.py`), so rules
compete for the site's budget, pacing counts the invitations of all visitors, and the
same traffic gives the same decisions (docs/rules.md, "Backtests").

What the live node does, and so this does:
- a behaviour event (hello, page_view, track, cart, attributes, chat_started,
  chat_closed) folds into the facts and is decided on — but only while the visitor has
  a socket: between `visitor_left` and the next hello, events (posted over REST) change
  the facts and timers are not run;
- `conversation_state` (logged by the node right after a hello) sets whether a
  conversation is open, before that hello's decision;
- `invitation_dismiss` / `invitation_accept` answer the invitation on screen (not
  facts: the live node does not fold them); an accepted one opens a conversation;
  `invitation_withdrawn` takes it away (agents went offline); `invitation_manual` is an
  agent's invitation by hand: on screen and counted in the budget;
- an unanswered invitation expires after `INVITATION_EXPIRY_S` (closed, not
  dismissed: no cooldown);
- agents' load comes from the capacity series plus the simulated pending invitations;
  a rule held back by load looks again `PACING_RETRY_S` later.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Protocol

from invitations.capacity import CapacitySeries
from invitations.caps import SiteContext, VisitorCounters
from invitations.catalogue import SITE_FACTS, VISIT_TIMEOUT_S
from invitations.engine import CancelPending, HoldOut, Invite, RuleSet, evaluate
from invitations.events import apply_event_changes
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.pacing import MAX_ROUNDS, blocked_by_load, retry_wake

FACT_EVENTS = frozenset(
    {"hello", "page_view", "track", "cart", "attributes", "chat_started", "chat_closed"}
)
_EVENT, _EXPIRY, _WAKE = 0, 1, 2  # at one instant: recorded events first, then timers
_MAX_STEPS_PER_VISITOR = 100_000  # a safety stop, far above any real visit


class Outcome(NamedTuple):
    """One decision for one visitor. `outcome`: invited (sent; detail "after_delay" when
    a delayed one came due), held_out, delayed (a delayed invitation chosen), cancelled
    (a delayed one whose gates failed when due; detail: the gate code)."""

    ts: float
    rule_id: str
    variant_id: str
    outcome: str
    detail: str | None = None


class Tally(Protocol):
    def outcome(self, visitor: SimVisitor, outcome: Outcome) -> None: ...
    def matched(self, visitor: SimVisitor, rule_id: str) -> None: ...
    def blocked(self, visitor: SimVisitor, rule_id: str | None, gate: str) -> None: ...


class _Loads(Mapping):
    """The engine's `site.departments`: the series at `now` plus simulated pending."""

    def __init__(self, series: CapacitySeries, pending: dict[str, int]) -> None:
        self.series, self.pending, self.now = series, pending, 0.0

    def get(self, key: Any, default: Any = None) -> DepartmentLoad | None:
        load = self.series.load(key, self.now, self.pending.get(key, 0))
        return default if load is None else load

    def __getitem__(self, key: Any) -> DepartmentLoad:
        load = self.get(key)
        if load is None:
            raise KeyError(key)
        return load

    def __iter__(self) -> Iterator[str]:
        return iter(self.series.departments())

    def __len__(self) -> int:
        return len(list(self.series.departments()))


class Simulation:
    """Feed `push_event` every recorded event, then `run()`; read `visitors` after."""

    def __init__(
        self,
        rule_set: RuleSet,
        site: SiteContext,
        series: CapacitySeries,
        expiry_s: float,
        tally: Tally,
    ) -> None:
        self.rule_set = rule_set
        self.pending: dict[str, int] = {}
        self.loads = _Loads(series, self.pending)
        self.site = SiteContext(
            departments=self.loads,
            default_lang=site.default_lang,
            max_invitations_per_visit=site.max_invitations_per_visit,
            max_invitations_per_day=site.max_invitations_per_day,
        )
        self.expiry_s = expiry_s
        self.tally = tally
        self.visitors: dict[str, SimVisitor] = {}
        self._heap: list[tuple[float, int, int, str, Any]] = []
        self._seq = 0
        self.snapshot_at: float | None = None
        self.snapshot: dict[str, tuple[VisitorFacts, VisitorCounters]] | None = None

    def push(self, when: float, kind: int, visitor_id: str, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, kind, self._seq, visitor_id, payload))

    def visitor(self, visitor_id: str) -> SimVisitor:
        found = self.visitors.get(visitor_id)
        if found is None:
            found = self.visitors[visitor_id] = SimVisitor(self, visitor_id)
        return found

    def run(self, until: float | None = None) -> None:
        """Process everything queued, in time order; with `until`, stop after it (the
        end of the recorded window: what came next was not recorded)."""
        while self._heap:
            if until is not None and self._heap[0][0] > until:
                break
            when, kind, _, visitor_id, payload = heapq.heappop(self._heap)
            if self.snapshot is None and self.snapshot_at is not None and when > self.snapshot_at:
                self._take_snapshot()
            self.loads.now = when
            v = self.visitors[visitor_id]
            if kind == _EVENT:
                v.on_event(payload, when)
            elif kind == _EXPIRY and payload == v.screen_token:
                v.expire(when)
            elif kind == _WAKE and payload == v.wake_token and v.connected:
                v.decide(when, SITE_FACTS)
        if self.snapshot is None:
            self._take_snapshot()

    def _take_snapshot(self) -> None:
        """Every visitor's facts and counters as they stood at `snapshot_at`."""
        self.snapshot = {vid: (v.facts, v.counters) for vid, v in self.visitors.items()}
        self.snapshot_pending = dict(self.pending)

    def gates_at_snapshot(self, visitor_id: str, now: float) -> tuple[tuple[str, str], ...]:
        """(rule_id, gate) for each rule a gate blocked at `now` (the "why" of the live
        node at that instant), from the snapshot; loads as at `now`."""
        assert self.snapshot is not None
        facts, counters = self.snapshot[visitor_id]
        loads = _Loads(self.loads.series, self.snapshot_pending)
        loads.now = now
        site = SiteContext(
            loads,
            self.site.default_lang,
            self.site.max_invitations_per_visit,
            self.site.max_invitations_per_day,
        )
        decision = evaluate(facts, self.rule_set, counters, site, now, explain=True)
        return tuple((t.rule_id, t.detail or "") for t in decision.trace if t.outcome == "blocked")


class SimVisitor:
    def __init__(self, sim: Simulation, visitor_id: str) -> None:
        self.sim = sim
        self.facts = VisitorFacts(visitor_id)
        self.counters = VisitorCounters()
        self.wake: float | None = None
        self.wake_token = 0
        self.screen_token = 0
        self.screen_dept: str | None = None  # pacing slot held by the invitation on screen
        self.connected = True  # old logs have no `visitor_left`
        self.steps = 0
        self.visits: set[float] = set()

    # -- inputs ----------------------------------------------------------------------
    def on_event(self, event: Mapping[str, Any], now: float) -> None:
        kind = event.get("type")
        if kind == "visitor_left":
            self.connected = False
            return
        if kind == "invitation_dismiss":
            if self.counters.on_screen:
                self._close_screen()
                self.counters = self.counters.record_dismiss(now)
                self._decide_if_connected(now)
            return
        if kind == "invitation_accept":
            if self.counters.on_screen:
                self._close_screen()
                counters = self.counters.record_closed_invitation()
                self.counters = counters.with_conversation(True)
                self._decide_if_connected(now)
            return
        if kind == "invitation_withdrawn":  # agents went offline
            if self.counters.on_screen:
                self._close_screen()
                self.counters = self.counters.record_closed_invitation()
                self._decide_if_connected(now)
            return
        if kind == "invitation_manual":  # an agent invited by hand: on screen, budgeted
            self._close_screen()
            visit = self.facts.visit_started
            self.counters = self.counters.record_invite("manual", now, visit)
            self.screen_token += 1
            self.sim.push(
                now + self.sim.expiry_s, _EXPIRY, self.facts.visitor_id, self.screen_token
            )
            return
        if kind == "chat_start":  # older logs
            event, kind = {**event, "type": "chat_started"}, "chat_started"
        if kind not in FACT_EVENTS:
            return
        try:
            self.facts, changed = apply_event_changes(self.facts, event, now)
        except ValueError:
            return  # the live node logs and skips it too
        if self.facts.visit_started is not None:
            self.visits.add(self.facts.visit_started)
        if kind == "hello":
            self.connected = True
        opened = event.get("_conversation_open")
        if kind == "chat_started":
            opened = True
        elif kind == "chat_closed":
            opened = False
        if opened is not None:
            self.counters = self.counters.with_conversation(bool(opened))
            changed = None
        if self.connected:  # away: recorded only (an event posted over REST, a chat's end)
            self.decide(now, changed)

    def expire(self, now: float) -> None:
        self._close_screen()
        self.counters = self.counters.record_closed_invitation()
        self._decide_if_connected(now)

    # -- the live node's loop (server/chat/proactive.py `_decide`) ---------------------
    def _decide_if_connected(self, now: float) -> None:
        if self.connected:
            self.decide(now, None)

    def decide(self, now: float, changed: frozenset[str] | None) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS_PER_VISITOR:
            return
        wake = self.wake
        for _round in range(MAX_ROUNDS):
            decision = evaluate(
                self.facts, self.sim.rule_set, self.counters, self.sim.site, now, changed, wake
            )
            wake = decision.next_wake
            if blocked_by_load(decision):
                wake = retry_wake(wake, now)
            tally = self.sim.tally
            if decision.blocked is not None:
                tally.blocked(self, None, decision.blocked)
            for entry in decision.trace:
                if entry.outcome != "false":
                    tally.matched(self, entry.rule_id)
                if entry.outcome == "blocked":
                    tally.blocked(self, entry.rule_id, entry.detail or "")
            if not decision.actions:
                break
            retry = False
            for action in decision.actions:
                retry |= not self._act(action, now)
            if retry:
                wake = retry_wake(wake, now)
                break
            changed = None
        self._schedule(wake)

    def _schedule(self, wake: float | None) -> None:
        self.wake = wake
        self.wake_token += 1
        if wake is not None and self.facts.last_activity is not None:
            if wake - self.facts.last_activity < VISIT_TIMEOUT_S + 1:
                self.sim.push(wake, _WAKE, self.facts.visitor_id, self.wake_token)

    def _act(self, action: Any, now: float) -> bool:
        visit = self.facts.visit_started
        emit = self.sim.tally.outcome
        if isinstance(action, CancelPending):
            self.counters = self.counters.clear_pending()
            emit(self, Outcome(now, action.rule_id, action.variant_id, "cancelled", action.reason))
            return True
        if isinstance(action, HoldOut):
            self.counters = self.counters.record_holdout(action.rule_id, now, visit)
            emit(self, Outcome(now, action.rule_id, action.variant_id, "held_out", None))
            return True
        assert isinstance(action, Invite)
        if action.delay_s > 0:
            due = now + action.delay_s
            self.counters = self.counters.with_pending(action.rule_id, action.variant_id, due)
            emit(self, Outcome(now, action.rule_id, action.variant_id, "delayed", None))
            return True
        gates = self.sim.rule_set.by_id[action.rule_id].gates
        dept = None
        if gates.require_agent_online:
            # The live node's atomic take: fewer pending than free slots minus queue.
            dept = gates.department or ""
            load = self.sim.loads.get(dept)
            limit = (load.free_slots - load.queued_chats) if load else 0
            if limit <= 0 or self.sim.pending.get(dept, 0) >= limit:
                return False
            self.sim.pending[dept] = self.sim.pending.get(dept, 0) + 1
        detail = "after_delay" if self.counters.pending is not None else None
        self.counters = self.counters.record_invite(action.rule_id, now, visit)
        self.screen_dept = dept
        self.screen_token += 1
        self.sim.push(now + self.sim.expiry_s, _EXPIRY, self.facts.visitor_id, self.screen_token)
        emit(self, Outcome(now, action.rule_id, action.variant_id, "invited", detail))
        return True

    def _close_screen(self) -> None:
        self.screen_token += 1  # the pending expiry no longer applies
        if self.screen_dept is not None:
            left = self.sim.pending.get(self.screen_dept, 0) - 1
            self.sim.pending[self.screen_dept] = max(0, left)
            self.screen_dept = None


def push_events(sim: Simulation, events: list[tuple[float, int, Mapping[str, Any]]]) -> None:
    """Queue one visitor's recorded events (sorted), merging each `conversation_state`
    into the event before it (the node logs it as part of that event's decision)."""
    merged: list[tuple[float, Mapping[str, Any]]] = []
    for ts, _, event in events:
        if event.get("type") == "conversation_state":
            if merged:
                prev_ts, prev = merged[-1]
                merged[-1] = (prev_ts, {**prev, "_conversation_open": bool(event.get("open"))})
            continue
        merged.append((ts, event))
    for ts, event in merged:
        sim.visitor(str(event["visitor_id"]))
        sim.push(ts, _EVENT, str(event["visitor_id"]), event)
