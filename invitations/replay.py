"""Backtests: replay recorded visitor events through rules in simulated time (docs/rules.md,
"Backtests").

Each visitor's events are folded through `apply_event_changes` and `evaluate` exactly
as the server would, and between events the simulation jumps from `next_wake` to
`next_wake`, so time-driven firings ("30 s on the page") happen with no event.

Assumptions (the log records real invitations, not the simulated ones):
- a simulated invitation is on screen for `auto_close_s` (120 s, an invitation's expiry)
  and then counts as dismissed — unless the log has the visitor dismiss
  (`invitation_dismiss`) or accept (`invitation_accept`, opening a conversation) first;
- `chat_start`/`chat_started` open a conversation and `chat_closed`/`close` end it;
- the site context (agents' load, fatigue budget) is constant over the replay.

The same input always gives the same report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from invitations.caps import SiteContext, VisitorCounters
from invitations.catalogue import VISIT_TIMEOUT_S
from invitations.engine import HoldOut, Invite, RuleSet, evaluate
from invitations.events import apply_event_changes
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.rules import CompiledRule
from invitations.signals import SignalCapped

_OPENS_CHAT = frozenset({"chat_start", "chat_started"})
_CLOSES_CHAT = frozenset({"chat_closed", "close"})
_MAX_STEPS_PER_VISITOR = 100_000  # a safety stop, far above any real visit


@dataclass(frozen=True, slots=True)
class VariantReport:
    variant_id: str
    triggered: int  # chosen: shown, delayed or held out
    held_out: int
    shown: int
    time_to_fire_p50: float | None  # seconds from visit start to trigger
    time_to_fire_p90: float | None


@dataclass(frozen=True, slots=True)
class RuleReport:
    rule_id: str
    visits_matched: int  # visits in which `when` held at some evaluation
    triggered: int
    held_out: int
    shown: int
    time_to_fire_p50: float | None
    time_to_fire_p90: float | None
    variants: tuple[VariantReport, ...]


@dataclass(frozen=True, slots=True)
class HourLoad:
    hour_start: float  # seconds since epoch, UTC hour boundary
    shown: int
    capacity: int | None
    over_capacity: bool


@dataclass(frozen=True, slots=True)
class BacktestReport:
    visitors: int
    visits: int
    events: int
    rules: tuple[RuleReport, ...]
    hourly_load: tuple[HourLoad, ...]
    peak_per_hour: int
    hours_over_capacity: int


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (deterministic, no interpolation); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class _Tally:
    def __init__(self) -> None:
        self.matched: dict[str, set[tuple[str, float]]] = defaultdict(set)
        self.triggered: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.held: dict[tuple[str, str], int] = defaultdict(int)
        self.shown: dict[tuple[str, str], int] = defaultdict(int)
        self.hours: dict[float, int] = defaultdict(int)
        self.visits: set[tuple[str, float]] = set()


def backtest(
    events: Iterable[Mapping[str, Any]],
    rules: Iterable[CompiledRule],
    site: SiteContext | None = None,
    capacity_per_hour: int | None = None,
    ts_unit: float = 0.001,
    auto_close_s: float = 120.0,
) -> BacktestReport:
    """Replay `events` (dicts with visitor_id, ts, type and the frame's fields; `ts` in
    units of `ts_unit` seconds — milliseconds by default, as in the protocol).

    `site` defaults to an always-available site-wide department, so the report shows
    the load the rules would create; `capacity_per_hour` is what the agents can take.
    """
    rule_list = list(rules)
    rule_set = RuleSet(rule_list)
    if site is None:
        site = SiteContext(departments=_Unbounded())
    per_visitor: dict[str, list[tuple[float, int, Mapping[str, Any]]]] = defaultdict(list)
    count = 0
    for n, event in enumerate(events):
        per_visitor[str(event["visitor_id"])].append((float(event["ts"]) * ts_unit, n, event))
        count += 1
    tally = _Tally()
    for visitor_id in sorted(per_visitor):
        _Visitor(visitor_id, rule_set, site, auto_close_s, tally).run(
            sorted(per_visitor[visitor_id])
        )
    return _report(rule_list, tally, len(per_visitor), count, capacity_per_hour)


class _Unbounded(dict):
    """Every department online with room to spare (the backtest default)."""

    def get(self, key: Any, default: Any = None) -> DepartmentLoad:
        return DepartmentLoad(agents_online=1, free_slots=1 << 30)


class _Visitor:
    def __init__(
        self, visitor_id: str, rule_set: RuleSet, site: SiteContext, close_s: float, tally: _Tally
    ) -> None:
        self.facts = VisitorFacts(visitor_id)
        self.counters = VisitorCounters()
        self.rule_set, self.site, self.close_s, self.tally = rule_set, site, close_s, tally
        self.wake: float | None = None
        self.screen_until: float | None = None
        self.steps = 0

    def run(self, events: list[tuple[float, int, Mapping[str, Any]]]) -> None:
        for ts, _, event in events:
            self.advance(ts)
            self.apply(event, ts)
        if self.facts.last_activity is not None:
            self.advance(self.facts.last_activity + VISIT_TIMEOUT_S)

    def advance(self, until: float) -> None:
        """Process the timer wakes and invitation expiries due up to `until`."""
        while self.steps < _MAX_STEPS_PER_VISITOR:
            self.steps += 1
            close, wake = self.screen_until, self.wake
            if close is not None and close <= until and (wake is None or close <= wake):
                self.screen_until = None
                self.counters = self.counters.record_dismiss(close)
                self.decide(close, None)
            elif wake is not None and wake <= until:
                self.decide(wake, frozenset())
            else:
                return

    def apply(self, event: Mapping[str, Any], now: float) -> None:
        kind = event.get("type")
        counters = self.counters
        if kind == "invitation_dismiss" and counters.on_screen:
            counters, self.screen_until = counters.record_dismiss(now), None
        elif kind == "invitation_accept" and counters.on_screen:
            counters = counters.record_closed_invitation().with_conversation(True)
            self.screen_until = None
        elif kind in _OPENS_CHAT:
            counters = counters.with_conversation(True)
        elif kind in _CLOSES_CHAT:
            counters = counters.with_conversation(False)
        if kind == "chat_start":
            event = {**event, "type": "chat_started"}
        try:
            self.facts, changed = apply_event_changes(self.facts, event, now)
        except SignalCapped:  # refused live too (rate_limited): nothing changed
            return
        if counters is not self.counters:
            self.counters, changed = counters, None
        self.tally.visits.add((self.facts.visitor_id, self.facts.visit_started))
        self.decide(now, changed)

    def decide(self, now: float, changed: frozenset[str] | None) -> None:
        for _ in range(8):  # act, record, re-evaluate until nothing new happens
            decision = evaluate(
                self.facts, self.rule_set, self.counters, self.site, now, changed, self.wake
            )
            self.wake = decision.next_wake
            for entry in decision.trace:
                if entry.outcome != "false":
                    self.tally.matched[entry.rule_id].add(
                        (self.facts.visitor_id, self.facts.visit_started)
                    )
            if not decision.actions:
                return
            for action in decision.actions:
                self.act(action, now)
            changed = None

    def act(self, action: Any, now: float) -> None:
        key = (action.rule_id, action.variant_id)
        visit = self.facts.visit_started
        if isinstance(action, HoldOut):
            self.tally.held[key] += 1
            self.tally.triggered[key].append(now - visit)
            self.counters = self.counters.record_holdout(action.rule_id, now, visit)
        elif isinstance(action, Invite) and action.delay_s > 0:
            self.tally.triggered[key].append(now - visit)
            self.counters = self.counters.with_pending(
                action.rule_id, action.variant_id, now + action.delay_s
            )
        elif isinstance(action, Invite):
            if self.counters.pending is None:  # a delayed one was counted when it fired
                self.tally.triggered[key].append(now - visit)
            self.tally.shown[key] += 1
            self.tally.hours[math.floor(now / 3600) * 3600.0] += 1
            self.counters = self.counters.record_invite(action.rule_id, now, visit)
            self.screen_until = now + self.close_s
        else:  # CancelPending
            self.counters = self.counters.clear_pending()


def _report(
    rules: list[CompiledRule], tally: _Tally, visitors: int, events: int, capacity: int | None
) -> BacktestReport:
    reports = []
    for rule in rules:
        variants, all_times = [], []
        for v in rule.variants:
            times = tally.triggered.get((rule.id, v.id), [])
            all_times += times
            variants.append(
                VariantReport(
                    v.id,
                    len(times),
                    tally.held.get((rule.id, v.id), 0),
                    tally.shown.get((rule.id, v.id), 0),
                    percentile(times, 50),
                    percentile(times, 90),
                )
            )
        reports.append(
            RuleReport(
                rule.id,
                len(tally.matched.get(rule.id, ())),
                sum(v.triggered for v in variants),
                sum(v.held_out for v in variants),
                sum(v.shown for v in variants),
                percentile(all_times, 50),
                percentile(all_times, 90),
                tuple(variants),
            )
        )
    hours = tuple(
        HourLoad(h, n, capacity, capacity is not None and n > capacity)
        for h, n in sorted(tally.hours.items())
    )
    return BacktestReport(
        visitors=visitors,
        visits=len(tally.visits),
        events=events,
        rules=tuple(reports),
        hourly_load=hours,
        peak_per_hour=max((h.shown for h in hours), default=0),
        hours_over_capacity=sum(1 for h in hours if h.over_capacity),
    )
