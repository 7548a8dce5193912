"""When can time alone change a rule's outcome? (docs/rules.md, "Actions").

Time-growing facts are `now - anchor` for an anchor instant stored in the facts. A
comparison with threshold `c` flips at the first instant `t` with `t - anchor ≥ c`
(for gte/lt) or `t - anchor > c` (for gt/lte) — computed to the exact float, so
evaluating at the returned instant sees the new outcome (never a hair early).

All instants are float seconds since the epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from invitations.catalogue import EVENT_PREFIX, TIME_GROWING_FACTS
from invitations.conditions import Leaf, Node, clocks, leaves
from invitations.facts import TIME_ANCHORS, VisitorFacts
from invitations.schedule import Schedule

_INF = math.inf


def first_instant(anchor: float, threshold: float, strict: bool) -> float:
    """The first float `t` with `t - anchor > threshold` (strict) or `>= threshold`.

    Float subtraction is monotonic in `t`, so stepping by one ulp finds the exact edge.
    Written out per case (no helper calls): this runs for every time-driven rule.
    """
    t = anchor + threshold
    if strict:
        if t - anchor > threshold:
            while (before := math.nextafter(t, -_INF)) - anchor > threshold:
                t = before
            return t
        while not t - anchor > threshold:
            t = math.nextafter(t, _INF)
        return t
    if t - anchor >= threshold:
        while (before := math.nextafter(t, -_INF)) - anchor >= threshold:
            t = before
        return t
    while not t - anchor >= threshold:
        t = math.nextafter(t, _INF)
    return t


@dataclass(frozen=True, slots=True)
class TimeLeaf:
    """A condition on a time-growing fact, reduced to what timing needs."""

    anchor: str  # attribute of VisitorFacts the fact is measured from
    at_least: tuple[float, ...]  # thresholds whose `>=` edge can flip the leaf
    above: tuple[float, ...]  # thresholds whose `>` edge can flip the leaf


@dataclass(frozen=True, slots=True)
class WindowLeaf:
    """A count over a sliding window: it changes when an event leaves the window."""

    event: str
    within_s: float


@dataclass(frozen=True, slots=True)
class ClockLeaf:
    """A time-of-day/week condition: it changes when its window opens or closes."""

    schedule: Schedule


AnyTimeLeaf = TimeLeaf | WindowLeaf | ClockLeaf


def time_leaves(node: Node) -> tuple[AnyTimeLeaf, ...]:
    """The conditions of `node` that time alone can flip."""
    out: list[AnyTimeLeaf] = []
    for leaf in leaves(node):
        if leaf.op in ("exists", "not_exists"):
            continue
        if leaf.within_s is not None:
            out.append(WindowLeaf(leaf.fact[len(EVENT_PREFIX) :], leaf.within_s))
        elif leaf.fact in TIME_GROWING_FACTS:
            out.append(_time_leaf(leaf))
    out.extend(ClockLeaf(clock.schedule) for clock in clocks(node))
    return tuple(out)


def _time_leaf(leaf: Leaf) -> TimeLeaf:
    values = tuple(leaf.value) if leaf.op in ("in", "not_in") else (leaf.value,)
    at_least = values if leaf.op in ("gte", "lt", "eq", "ne", "in", "not_in") else ()
    above = values if leaf.op in ("gt", "lte", "eq", "ne", "in", "not_in") else ()
    return TimeLeaf(TIME_ANCHORS[leaf.fact], at_least, above)


def next_flip(leaves_: tuple[AnyTimeLeaf, ...], facts: VisitorFacts, now: float) -> float | None:
    """The earliest instant after `now` at which any of `leaves_` flips, or None.

    An over-approximation of when the whole tree flips: waking early is harmless,
    waking late is not.
    """
    best = _INF
    for leaf in leaves_:
        if not isinstance(leaf, TimeLeaf):
            t = _other_flip(leaf, facts, now)
            if t is not None and now < t < best:
                best = t
            continue
        anchor = getattr(facts, leaf.anchor)
        if anchor is None:
            continue  # a missing fact stays missing until an event sets it
        for c in leaf.at_least:
            if now < anchor + c + 1 and anchor + c - 1 < best:  # skip edges far past
                t = first_instant(anchor, c, False)
                if now < t < best:
                    best = t
        for c in leaf.above:
            if now < anchor + c + 1 and anchor + c - 1 < best:
                t = first_instant(anchor, c, True)
                if now < t < best:
                    best = t
    return None if best == _INF else best


def _other_flip(leaf: WindowLeaf | ClockLeaf, facts: VisitorFacts, now: float) -> float | None:
    if isinstance(leaf, ClockLeaf):
        return leaf.schedule.state(now)[1]
    # The count drops when its oldest instant still in the window leaves it.
    for t in facts.event_times.get(leaf.event, ()):  # oldest first
        if now - t < leaf.within_s:
            return first_instant(t, leaf.within_s, False)
    return None
