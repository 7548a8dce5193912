"""The invitation engine: (facts, rules, counters, site, now) → actions + next wake-up.

How the server uses it, per visitor (nothing here does I/O or reads a clock):

1. On a behaviour event at `now`:
   `facts, changed = apply_event_changes(facts, event, now)`, then
   `decision = evaluate(facts, rule_set, counters, site, now, changed, prev_wake)`
   where `prev_wake` is the `next_wake` still scheduled for this visitor.
2. Act on `decision.actions`, recording each in the counters:
   `Invite` with delay_s == 0 → send it, `counters.record_invite(...)`;
   `Invite` with delay_s > 0 → `counters.with_pending(rule_id, variant_id, now + delay_s)`;
   `HoldOut` → `counters.record_holdout(...)`; `CancelPending` → `counters.clear_pending()`.
3. Schedule `decision.next_wake` in the node's timer heap (replacing the old one;
   None = nothing time-driven). At that instant call `evaluate(..., now=next_wake,
   changed_facts=frozenset(), prev_wake=next_wake)`: the index then re-checks only
   the rules time can change.
4. Whenever the counters or the site context change (an action recorded, a
   dismissal, a conversation opened or closed, agents' load, fatigue settings) pass
   `changed_facts=None`: everything is re-evaluated. For agents' load alone,
   `SITE_FACTS` is enough.

`explain=True` evaluates every rule (no index, no early stop) and traces each one —
for "why did / didn't it fire" in the console and the admin. The actions and wake
are the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from invitations.caps import (
    SiteContext,
    VisitorCounters,
    capacity_gate,
    daily_budget_lifted_at,
    time_gate,
    visitor_gate,
)
from invitations.catalogue import SITE_FACTS, VISIT_TIMEOUT_S
from invitations.experiments import assign
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.rule_set import RuleSet
from invitations.rules import CompiledRule, Variant
from invitations.text import choose_language
from invitations.timing import next_flip

__all__ = [
    "SITE_FACTS",
    "CancelPending",
    "Decision",
    "HoldOut",
    "Invite",
    "RuleSet",
    "RuleTrace",
    "evaluate",
]


# Actions and traces are NamedTuples: one is built per firing and per traced rule, and
# a frozen dataclass costs about a microsecond more each time.


class Invite(NamedTuple):
    """Show `text` (plain text) now, or — when `delay_s` > 0 — after `delay_s` seconds
    if the gates still pass then (remember it with `VisitorCounters.with_pending`)."""

    rule_id: str
    variant_id: str
    text: str
    lang: str
    delay_s: float


class HoldOut(NamedTuple):
    """The visitor qualified but is in the rule's holdout group: record, do not show."""

    rule_id: str
    variant_id: str


class CancelPending(NamedTuple):
    """A delayed invitation's gates failed when it came due (`reason` is a gate code)."""

    rule_id: str
    variant_id: str
    reason: str


Action = Invite | HoldOut | CancelPending


class RuleTrace(NamedTuple):
    """Why a rule did or did not fire. `outcome`: fired, held_out, blocked (detail: gate
    code), false (detail: JSON path of the false condition), outranked, disabled."""

    rule_id: str
    outcome: str
    detail: str | None = None
    variant_id: str | None = None


class Decision(NamedTuple):
    """`next_wake`: seconds since epoch at which to evaluate again with no event, or None.
    `blocked`: the visitor-level gate that stopped every rule, if any. `trace`: per rule
    (all rules with explain=True; otherwise only those whose conditions held)."""

    actions: tuple[Action, ...]
    next_wake: float | None
    trace: tuple[RuleTrace, ...] = ()
    blocked: str | None = None


def evaluate(
    facts: VisitorFacts,
    rules: RuleSet | Iterable[CompiledRule],
    counters: VisitorCounters,
    site: SiteContext,
    now: float,
    changed_facts: frozenset[str] | None = None,
    prev_wake: float | None = None,
    explain: bool = False,
    *,
    within: int | None = None,
) -> Decision:
    """Decide what to do for one visitor at `now` (seconds since epoch). Pure.

    `changed_facts`: names of the facts changed since the last evaluation (from
    `apply_event_changes`), `frozenset()` at a timer wake, None = evaluate everything.
    `prev_wake`: the `next_wake` currently scheduled for the visitor; required for
    correct wake-ups whenever `changed_facts` is not None. See the module docstring.
    `within` (with `explain`): trace only these rules (a bitmask of `rule_set.rules`) —
    those left out must be rules whose conditions are false, which can neither win nor
    be outranked, so the others' traces are the same as in a full scan.
    """
    rule_set = rules if isinstance(rules, RuleSet) else RuleSet(rules)
    visit = facts.visit_started
    if facts.last_activity is None or now - facts.last_activity >= VISIT_TIMEOUT_S:
        return _blocked(rule_set, "no_visit", None, explain)
    if counters.pending is not None:
        return _pending(facts, rule_set, counters, site, now, explain)
    code, lifts = visitor_gate(counters, site, visit, now)
    if code is not None:
        return _blocked(rule_set, code, _in_visit(lifts, facts), explain, within)
    if explain and within is not None:
        mask, carried = within, None
    elif explain or changed_facts is None or not rule_set.indexed:
        mask, carried = rule_set.all_mask, None
    else:
        mask, carried = rule_set.mask_for(changed_facts), None
        if prev_wake is not None and prev_wake <= now:
            # Time-driven rules are due; a lifted daily budget frees every rule.
            if daily_budget_lifted_at(counters, site, prev_wake):
                mask = rule_set.all_mask
            else:
                mask |= rule_set.time_mask
        elif prev_wake is not None:
            # Time-driven rules left out may still want the scheduled wake.
            path_mask = rule_set.path_mask(facts.page_path)
            if rule_set.time_mask & path_mask & ~mask:
                carried = prev_wake
    if rule_set.indexed and not explain:
        mask &= rule_set.path_mask(facts.page_path)
    return _scan(facts, rule_set, counters, site, now, mask, carried, explain)


def _scan(
    facts: VisitorFacts,
    rule_set: RuleSet,
    counters: VisitorCounters,
    site: SiteContext,
    now: float,
    mask: int,
    wake: float | None,
    explain: bool,
) -> Decision:
    visit = facts.visit_started
    actions: list[Action] = []
    trace: list[RuleTrace] = []
    entries = rule_set.entries
    # Per-visit counts belong to the counters' visit; another visit counts zero.
    counts = counters.rule_visit_counts if counters.visit_started == visit else {}
    loads = site.departments
    winner: Invite | None = None
    while mask:
        low = mask & -mask
        mask ^= low
        rule, max_per_visit, department, check, flips, time_gated, online = entries[
            low.bit_length() - 1
        ]
        if max_per_visit is not None and counts.get(rule.id, 0) >= max_per_visit:
            if explain:
                trace.append(RuleTrace(rule.id, "blocked", "max_per_visit"))
            continue
        load = loads.get(department) if department is not None else None
        failed = check(facts, now, load)
        if failed is not None:
            # Only time flipping the false conjunct can make the rule true.
            leaves = flips.get(failed) if flips else None
            if leaves:
                flip = next_flip(leaves, facts, now)
                if flip is not None and (wake is None or flip < wake):
                    wake = flip
            if explain:
                trace.append(RuleTrace(rule.id, "false", failed))
            continue
        code = None
        if time_gated:
            code, lifts = time_gate(rule.gates, rule.id, counters, now)
            if lifts is not None and (wake is None or lifts < wake):
                wake = lifts
        if code is None and online:
            code = capacity_gate(rule.gates, load)
        if code is not None:
            trace.append(RuleTrace(rule.id, "blocked", code))
            continue
        held_out, index = assign(facts.visitor_id, rule.id, rule.holdout_pct, rule.weights)
        variant = rule.variants[index]
        if winner is not None:
            trace.append(RuleTrace(rule.id, "outranked", winner.rule_id, variant.id))
            continue
        if held_out:
            # Recorded once per visit: nothing on screen would stop it repeating.
            if counts.get(rule.id, 0) == 0:
                actions.append(HoldOut(rule.id, variant.id))
            trace.append(RuleTrace(rule.id, "held_out", None, variant.id))
            continue
        winner = _invite(rule, variant, facts, site, load, now, variant.delay_s)
        actions.append(winner)
        trace.append(RuleTrace(rule.id, "fired", None, variant.id))
        if not explain:
            break
    if winner is not None:
        # The caller records it (on screen or pending), so the old wakes are moot.
        wake = now + winner.delay_s if winner.delay_s > 0 else None
    return Decision(
        tuple(actions), _in_visit(wake, facts), _with_disabled(rule_set, trace, explain)
    )


def _invite(
    rule: CompiledRule,
    variant: Variant,
    facts: VisitorFacts,
    site: SiteContext,
    load: DepartmentLoad | None,
    now: float,
    delay_s: float,
) -> Invite:
    index = choose_language(variant.languages, facts.lang_tag, site.default_lang)
    text = variant.templates[index].render(facts, now, load)
    return Invite(rule.id, variant.id, text, variant.languages[index], delay_s)


def _pending(
    facts: VisitorFacts,
    rule_set: RuleSet,
    counters: VisitorCounters,
    site: SiteContext,
    now: float,
    explain: bool,
) -> Decision:
    """A delayed invitation: block everything until due, then re-check its gates."""
    pending = counters.pending
    if now < pending.due:
        return _blocked(rule_set, "invitation_pending", _in_visit(pending.due, facts), explain)
    rule = rule_set.by_id.get(pending.rule_id)
    variant = None
    if rule is not None:
        variant = next((v for v in rule.variants if v.id == pending.variant_id), None)
    if rule is None or variant is None:
        return Decision((CancelPending(pending.rule_id, pending.variant_id, "rule_removed"),), None)
    gates = rule.gates
    load = site.load_for(gates.department)
    code, _ = visitor_gate(counters, site, facts.visit_started, now)
    if code is None and gates.max_per_visit is not None:
        if counters.rule_count(rule.id, facts.visit_started) >= gates.max_per_visit:
            code = "max_per_visit"
    code = code or time_gate(gates, rule.id, counters, now)[0] or capacity_gate(gates, load)
    if code is not None:
        action = CancelPending(rule.id, variant.id, code)
        return Decision((action,), None, (RuleTrace(rule.id, "blocked", code, variant.id),))
    invite = _invite(rule, variant, facts, site, load, now, 0)
    return Decision((invite,), None, (RuleTrace(rule.id, "fired", None, variant.id),))


def _blocked(
    rule_set: RuleSet, code: str, wake: float | None, explain: bool, within: int | None = None
) -> Decision:
    trace = ()
    if explain:
        rules = rule_set.rules if within is None else rule_set.pick(within)
        trace = tuple(RuleTrace(r.id, "blocked", code) for r in rules)
        trace += tuple(RuleTrace(r.id, "disabled") for r in rule_set.disabled)
    return Decision((), wake, trace, code)


def _with_disabled(rule_set: RuleSet, trace: list[RuleTrace], explain: bool) -> tuple:
    if explain:
        trace.extend(RuleTrace(r.id, "disabled") for r in rule_set.disabled)
    return tuple(trace)


def _in_visit(wake: float | None, facts: VisitorFacts) -> float | None:
    """Drop wakes at or after the visit's end (30 min idle): nobody is there to invite."""
    if wake is None or facts.last_activity is None:
        return wake
    return wake if wake - facts.last_activity < VISIT_TIMEOUT_S else None
