"""Decisions over time: the changes in a visitor's outcome for each rule (pure).

The node asks, after each evaluation, what every rule's outcome is for the visitor now
(`rule_outcomes`), and records only what differs from the last recorded one
(`Tracker.note`): a visitor whose outcome for a rule stays `blocked: fatigue` through a
hundred events is one record. Firing, holding out, delaying and cancelling are events,
recorded each time they happen; so is the invitation's life after it was sent (shown,
its answer, the chat, the conversion).

Outcomes (`Change.outcome`, with `detail`):

- `unmatched` — the rule's conditions are false (a visitor starts every visit there:
  only a change back to it is recorded);
- `blocked` — the conditions hold but gate `detail` stops it (a gate code, caps.py);
- `held_out`, `outranked` (another rule, `detail`, won), `delayed` (fired, waiting for
  its `delay_s`), `fired`, `cancelled` (a delayed one; `detail`: the gate);
- the invitation's life: `shown`, `accepted`, `dismissed`, `expired`, `withdrawn`,
  `chatted` (the visitor wrote in the chat it opened), `converted` (a conversion was
  credited to it).

`stage` ranks an outcome along the rule's funnel — matched → past each gate in the
engine's order → fired → shown → accepted → chatted → converted — so a visitor's
furthest stage over a time range says which steps of the funnel they reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, NamedTuple

from invitations.caps import SiteContext, VisitorCounters
from invitations.engine import evaluate
from invitations.facts import VisitorFacts
from invitations.rule_set import RuleSet

# Gates in the order the engine checks them (engine.evaluate, engine._scan): a visitor
# stopped at one passed every gate before it.
GATE_ORDER = (
    "invitation_pending",
    "open_conversation",
    "invitation_on_screen",
    "fatigue",
    "max_per_visit",
    "min_days_between",
    "cooldown",
    "schedule_closed",
    "agent_offline",
    "no_capacity",
    "predicted_wait",
)
# Recorded every time they happen (not only on a change).
EVENTS = frozenset({"fired", "delayed", "held_out", "cancelled"})
LIFE = ("shown", "accepted", "dismissed", "expired", "withdrawn", "chatted", "converted")
# Changes recorded per visitor per visit; past it the rest of the visit is not recorded.
MAX_CHANGES_PER_VISIT = 200
# Records a fired invitation may still add (shown, its answer, chatted, converted):
# reserved when it is recorded, so its life is never cut off by the cap.
LIFE_RESERVE = 4

_GATE_STAGE = {code: 10 + i for i, code in enumerate(GATE_ORDER)}
PASSED_ALL = 90
_STAGE = {
    "unmatched": 0,
    "held_out": PASSED_ALL,
    "outranked": PASSED_ALL,
    "delayed": PASSED_ALL,
    "cancelled": PASSED_ALL,
    "fired": 100,
    "dismissed": 100,
    "expired": 100,
    "withdrawn": 100,
    "shown": 110,
    "accepted": 120,
    "chatted": 130,
    "converted": 140,
}
FUNNEL_TAIL = tuple(
    (name, _STAGE[name]) for name in ("fired", "shown", "accepted", "chatted", "converted")
)
MATCHED = 10


class Change(NamedTuple):
    """One rule's outcome for the visitor (see the module docstring)."""

    rule_id: str
    outcome: str
    detail: str | None = None
    variant_id: str | None = None


def stage(outcome: str, detail: str | None) -> int:
    """The funnel rank of an outcome: 0 unmatched; 10 + i stopped at gate i of
    GATE_ORDER (an unknown gate counts as the first); 90 past every gate; 100 fired and
    up the invitation's life."""
    if outcome == "blocked":
        return _GATE_STAGE.get(detail or "", MATCHED)
    return _STAGE.get(outcome, 0)


def rule_outcomes(
    facts: VisitorFacts,
    rules: RuleSet,
    counters: VisitorCounters,
    site: SiteContext,
    now: float,
    *,
    on_screen_rule: str | None = None,
    refused: Iterable[str] = (),
    within: int | None = None,
) -> dict[str, Change]:
    """Every enabled rule's outcome for the visitor at `now` (`within`: only the rules
    of that bitmask of `rules.rules`, e.g. `rules_to_check`).

    Unlike the engine's own trace, a rule's conditions are read first, so `blocked`
    always means "matched, but a gate said no" (the engine skips the conditions when a
    visitor-level gate holds). The rule whose invitation is on screen is left out (its
    life is recorded as such). `refused`: rules the node's pacing refused this instant
    (the engine said fire; the node could not take a slot) — `blocked: no_capacity`."""
    matched = []
    out: dict[str, Change] = {}
    for rule in rules.rules if within is None else rules.pick(within):
        if rule.id == on_screen_rule:
            continue
        failed = rule.check(facts, now, site.load_for(rule.gates.department))
        if failed is None:
            matched.append(rule.id)
        else:
            out[rule.id] = Change(rule.id, "unmatched")
    if not matched:
        return out
    decision = evaluate(facts, rules, counters, site, now, explain=True, within=within)
    traced = {t.rule_id: t for t in decision.trace}
    pending = counters.pending
    refused = frozenset(refused)
    for rule_id in matched:
        if rule_id in refused:
            out[rule_id] = Change(rule_id, "blocked", "no_capacity")
        elif pending is not None and pending.rule_id == rule_id:
            out[rule_id] = Change(rule_id, "delayed", None, pending.variant_id)
        elif decision.blocked is not None:
            out[rule_id] = Change(rule_id, "blocked", decision.blocked)
        elif rule_id in traced:
            t = traced[rule_id]
            out[rule_id] = Change(rule_id, t.outcome, t.detail, t.variant_id)
    return out


def rules_to_check(tracker: Tracker, rules: RuleSet, facts: VisitorFacts) -> int:
    """The rules whose outcome may differ from what `tracker` last recorded: those the
    current page does not rule out, and those last recorded as anything but unmatched.
    The rest are unmatched (a `page.path` conjunct is false) and recorded so already —
    with two hundred rules of which a page concerns a few, most of the work saved."""
    seen = [
        r
        for r, (outcome, detail) in tracker.last.items()
        if outcome != "unmatched" or detail is not None
    ]
    return rules.path_mask(facts.page_path) | rules.mask_of(seen)


@dataclass(slots=True)
class Tracker:
    """What has been recorded of the visitor's current visit: kept with the visitor's
    live state. `admitted`: None until the visit's first change asks the node whether
    this visitor is recorded at all (per-site sampling); `sampled` when it was admitted
    by the sample rather than in full."""

    visit: float | None = None
    admitted: bool | None = None
    sampled: bool = False
    count: int = 0
    last: dict[str, list[Any]] = field(default_factory=dict)

    def for_visit(self, visit: float | None) -> Tracker:
        """The tracker of `visit`: a new visit starts from nothing recorded."""
        if visit == self.visit:
            return self
        return Tracker(visit)

    def changes(self, outcomes: Mapping[str, Change]) -> list[Change]:
        """The outcomes that differ from the last recorded ones (a rule never recorded
        counts as `unmatched`). Rules absent from `outcomes` keep their last."""
        out = []
        last = self.last
        for rule_id, change in outcomes.items():
            before = last.get(rule_id)
            if before is None:
                if change.outcome != "unmatched" or change.detail is not None:
                    out.append(change)
            elif before[0] != change.outcome or before[1] != change.detail:
                out.append(change)
        return out

    def take(self, change: Change) -> bool:
        """Count `change` as recorded if the cap allows (a `fired` one reserves room
        for its life); False: over the cap, drop it."""
        cost = 1 + (LIFE_RESERVE if change.outcome == "fired" else 0)
        if self.count + cost > MAX_CHANGES_PER_VISIT:
            return False
        self.count += cost
        if change.outcome not in LIFE:
            self.last[change.rule_id] = [change.outcome, change.detail]
        return True

    def forget_rules(self, keep: Iterable[str]) -> None:
        """Drop the last outcomes of rules no longer in the set (removed rules)."""
        kept = set(keep)
        for rule_id in [r for r in self.last if r not in kept]:
            del self.last[rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "visit": self.visit,
            "admitted": self.admitted,
            "sampled": self.sampled,
            "count": self.count,
            "last": self.last,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Tracker:
        if not data:
            return cls()
        return cls(
            data.get("visit"),
            data.get("admitted"),
            bool(data.get("sampled")),
            int(data.get("count", 0)),
            {k: list(v) for k, v in (data.get("last") or {}).items()},
        )


def in_sample(site_id: str, visitor_id: str, pct: int) -> bool:
    """Whether the visitor is in the site's `pct` percent sample (stable: a hash)."""
    digest = blake2b(f"{site_id}:{visitor_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % 100 < pct


def admit(
    started_this_minute: int, full_per_min: int, sample_pct: int, site_id: str, visitor_id: str
) -> tuple[bool, bool]:
    """(recorded, sampled) for a visitor whose first change of a visit comes when
    `started_this_minute` timelines of the site already began this minute: below
    `full_per_min` everyone is recorded; past it, `sample_pct` percent of visitors."""
    if started_this_minute < full_per_min:
        return True, False
    if in_sample(site_id, visitor_id, sample_pct):
        return True, True
    return False, False


class FunnelStep(NamedTuple):
    step: str  # matched, gate:CODE, fired, shown, accepted, chatted, converted
    visitors: int


def funnel(reached: Mapping[int, int], gates: Iterable[str]) -> list[FunnelStep]:
    """The funnel from `reached` (furthest stage → visitors who reached exactly it):
    visitors who matched, then got past each of `gates` (in the engine's order), then
    fired → shown → accepted → chatted → converted. Each step counts the visitors whose
    furthest stage is past it, so the steps never grow."""

    def past(threshold: int) -> int:
        return sum(n for s, n in reached.items() if s >= threshold)

    wanted = set(gates)
    steps = [FunnelStep("matched", past(MATCHED))]
    for code in GATE_ORDER:
        if code in wanted:
            steps.append(FunnelStep(f"gate:{code}", past(_GATE_STAGE[code] + 1)))
    steps.extend(FunnelStep(name, past(threshold)) for name, threshold in FUNNEL_TAIL)
    return steps


def gates_of(gates: Any) -> list[str]:
    """The rule's own gates (as `Gates`), as codes. (Visitor-level gates hold for every
    rule: a funnel shows them when they stopped someone.)"""
    out = []
    if gates.max_per_visit is not None:
        out.append("max_per_visit")
    if gates.min_days_between:
        out.append("min_days_between")
    if gates.cooldown_after_dismiss_s:
        out.append("cooldown")
    if gates.schedule is not None:
        out.append("schedule_closed")
    if gates.paced:
        out.append("agent_offline")
    if gates.require_agent_online:
        out.append("no_capacity")
    if gates.max_predicted_wait_s is not None:
        out.append("predicted_wait")
    return out
