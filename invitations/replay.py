"""Backtests: replay recorded visitor events through a rule set in simulated time
(docs/rules.md, "Backtests").

All visitors share one simulated clock (`invitations.replay_sim`), driven exactly as
the live node drives the engine: the site's fatigue budget, per-rule caps, holdout
hashing, variants, delays, schedules and pacing (on the capacity series given) — so
the rules compete for one budget, as they do live. The report has per-rule totals,
the hourly load, and each visitor's decisions.

The same input always gives the same report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from invitations.capacity import CapacityPoint, CapacitySeries
from invitations.caps import SiteContext
from invitations.engine import RuleSet
from invitations.pacing import INVITATION_EXPIRY_S
from invitations.replay_sim import Outcome, Simulation, SimVisitor, push_events
from invitations.rules import CompiledRule

MAX_VISITORS_LISTED = 1000  # per-visitor outcomes kept in a report (the first, by id)


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
class VisitorReport:
    """One visitor's decisions, in order; `blocked`: gate codes that held back each rule
    ("*" = every rule: a visitor-level gate) at some evaluation; `gates_at`: the gates
    blocking each rule at the report's `snapshot_at` instant (the live "why")."""

    visitor_id: str
    outcomes: tuple[Outcome, ...]
    blocked: tuple[tuple[str, tuple[str, ...]], ...]
    gates_at: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class BacktestReport:
    visitors: int
    visits: int
    events: int
    rules: tuple[RuleReport, ...]
    hourly_load: tuple[HourLoad, ...]
    peak_per_hour: int
    hours_over_capacity: int
    per_visitor: tuple[VisitorReport, ...] = ()
    visitors_truncated: bool = False


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (deterministic, no interpolation); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class _Tally:
    def __init__(self) -> None:
        self.matched_visits: dict[str, set[tuple[str, float | None]]] = defaultdict(set)
        self.triggered: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.held: dict[tuple[str, str], int] = defaultdict(int)
        self.shown: dict[tuple[str, str], int] = defaultdict(int)
        self.hours: dict[float, int] = defaultdict(int)
        self.outcomes: dict[str, list[Outcome]] = defaultdict(list)
        self.gates: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def outcome(self, visitor: SimVisitor, outcome: Outcome) -> None:
        key = (outcome.rule_id, outcome.variant_id)
        since_visit = outcome.ts - (visitor.facts.visit_started or outcome.ts)
        self.outcomes[visitor.facts.visitor_id].append(outcome)
        if outcome.outcome == "held_out":
            self.held[key] += 1
            self.triggered[key].append(since_visit)
        elif outcome.outcome == "delayed":
            self.triggered[key].append(since_visit)
        elif outcome.outcome == "invited":
            if outcome.detail != "after_delay":  # a delayed one was counted when chosen
                self.triggered[key].append(since_visit)
            self.shown[key] += 1
            self.hours[math.floor(outcome.ts / 3600) * 3600.0] += 1

    def matched(self, visitor: SimVisitor, rule_id: str) -> None:
        self.matched_visits[rule_id].add((visitor.facts.visitor_id, visitor.facts.visit_started))

    def blocked(self, visitor: SimVisitor, rule_id: str | None, gate: str) -> None:
        self.gates[visitor.facts.visitor_id][rule_id or "*"].add(gate)


def backtest(
    events: Iterable[Mapping[str, Any]],
    rules: Iterable[CompiledRule],
    site: SiteContext | None = None,
    capacity_per_hour: int | None = None,
    ts_unit: float = 0.001,
    auto_close_s: float = INVITATION_EXPIRY_S,
    capacity: Iterable[CapacityPoint] | None = None,
    snapshot_at: float | None = None,
    visitors_listed: int = MAX_VISITORS_LISTED,
    until: float | None = None,
) -> BacktestReport:
    """Replay `events` (dicts with visitor_id, ts, type and the frame's fields; `ts` in
    units of `ts_unit` seconds — milliseconds by default, as in the protocol).

    `site` carries the default language and the fatigue budget (its `departments` are
    ignored: load comes from `capacity`, a step series; None = every department online
    with room to spare). `capacity_per_hour` is what the agents can take, for the
    hourly comparison. `snapshot_at` (seconds): the instant of each visitor's
    `gates_at` (default: after the last event). `until` (seconds): the end of the
    recorded window — nothing after it is simulated (default: until every visit ends).
    """
    rule_list = list(rules)
    site = site or SiteContext()
    tally = _Tally()
    sim = Simulation(RuleSet(rule_list), site, CapacitySeries(capacity), auto_close_s, tally)
    per_visitor: dict[str, list[tuple[float, int, Mapping[str, Any]]]] = defaultdict(list)
    count = 0
    for n, event in enumerate(events):
        per_visitor[str(event["visitor_id"])].append((float(event["ts"]) * ts_unit, n, event))
        count += 1
    last = max((ts for evs in per_visitor.values() for ts, _, _ in evs), default=0.0)
    at = snapshot_at if snapshot_at is not None else last
    sim.snapshot_at = at
    for visitor_id in sorted(per_visitor):
        push_events(sim, sorted(per_visitor[visitor_id], key=lambda e: (e[0], e[1])))
    sim.run(until)
    listed = sorted(per_visitor)[:visitors_listed]
    visitors = tuple(
        VisitorReport(
            vid,
            tuple(tally.outcomes.get(vid, ())),
            tuple((rid, tuple(sorted(g))) for rid, g in sorted(tally.gates.get(vid, {}).items())),
            sim.gates_at_snapshot(vid, at),
        )
        for vid in listed
    )
    visits = sum(len(v.visits) for v in sim.visitors.values())
    report = _report(rule_list, tally, len(per_visitor), count, capacity_per_hour, visits)
    return replace(report, per_visitor=visitors, visitors_truncated=len(per_visitor) > len(listed))


def _report(
    rules: list[CompiledRule],
    tally: _Tally,
    visitors: int,
    events: int,
    capacity: int | None,
    visits: int,
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
                len(tally.matched_visits.get(rule.id, ())),
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
        visits=visits,
        events=events,
        rules=tuple(reports),
        hourly_load=hours,
        peak_per_hour=max((h.shown for h in hours), default=0),
        hours_over_capacity=sum(1 for h in hours if h.over_capacity),
    )
