"""`RuleSet`: a site's compiled rules in choice order, indexed by the facts they read.

Built once per rule change and shared by every visitor's evaluation. Rule `i` in
choice order (priority high → low, then oldest `created_ts`, then the order given) is
bit `1 << i` of an int bitmask, so "the rules reading any changed fact" is a few ORs
and iterating them in choice order is lowest-bit-first.

Two indexes, both exact (they skip only rules whose outcome cannot have changed):
- by fact: an event re-evaluates the rules reading a fact it changed, plus — when
  the scheduled wake is due — the rules time can change (time-growing facts,
  schedules, cooldowns, min_days_between);
- by page path: rules whose `when` is a conjunction containing a `page.path`
  condition are skipped on pages where that condition is false (memoised per path).
"""

from __future__ import annotations

from collections.abc import Iterable

from invitations.catalogue import SITE_FACTS
from invitations.conditions import AllOf, Check, Clock, Leaf, Node, NotOf, compile_node
from invitations.facts import VisitorFacts
from invitations.rules import CompiledRule
from invitations.timing import AnyTimeLeaf, time_leaves

_PATH_MEMO_MAX = 8192


def _path_guards(node: Node) -> tuple[Leaf, ...]:
    """Top-level conjuncts on page.path: false there means the whole `when` is false."""
    parts = node.children if isinstance(node, AllOf) else (node,)
    return tuple(p for p in parts if isinstance(p, Leaf) and p.fact == "page.path")


def _paths(node: Node) -> set[str]:
    if isinstance(node, Leaf | Clock):
        return {node.path}
    if isinstance(node, NotOf):
        return {node.path} | _paths(node.child)
    return {node.path}.union(*(_paths(c) for c in node.children))


def _flips_by_path(node: Node) -> dict[str, tuple[AnyTimeLeaf, ...]]:
    """For each path the check can report as false, the time leaves whose flip could
    make the rule true: those of the top-level conjunct containing it (an `all` is
    true only once its false conjunct is). Paths absent or empty: time cannot help,
    only an event can (and that re-evaluates the rule)."""
    parts = node.children if isinstance(node, AllOf) else (node,)
    out: dict[str, tuple[AnyTimeLeaf, ...]] = {}
    for part in parts:
        flips = time_leaves(part)
        if flips:
            for path in _paths(part):
                out[path] = flips
    return out


class RuleSet:
    """Rules ready for `engine.evaluate`. `indexed=False` disables both indexes (every
    evaluation checks every enabled rule) — for benchmarks and cross-checks."""

    def __init__(self, rules: Iterable[CompiledRule], *, indexed: bool = True) -> None:
        given = list(rules)
        order = sorted(
            range(len(given)),
            key=lambda i: (
                -given[i].priority,
                given[i].created_ts is None,
                given[i].created_ts or 0.0,
                i,
            ),
        )
        ordered = [given[i] for i in order]
        self.rules: tuple[CompiledRule, ...] = tuple(r for r in ordered if r.enabled)
        self.disabled: tuple[CompiledRule, ...] = tuple(r for r in ordered if not r.enabled)
        self.by_id = {r.id: r for r in self.rules}
        self._bits = {r.id: 1 << i for i, r in enumerate(self.rules)}
        self.indexed = indexed
        self.all_mask = (1 << len(self.rules)) - 1
        self.time_leaves: tuple[tuple[AnyTimeLeaf, ...], ...] = tuple(
            time_leaves(r.when) for r in self.rules
        )
        self.needs_load: tuple[bool, ...] = tuple(
            r.gates.paced or bool(r.reads & SITE_FACTS) for r in self.rules
        )
        self._by_fact: dict[str, int] = {}
        self.time_mask = 0
        self._guarded: list[tuple[int, tuple[Check, ...]]] = []
        for i, rule in enumerate(self.rules):
            bit = 1 << i
            reads = set(rule.reads)
            if rule.gates.paced:
                reads |= SITE_FACTS  # capacity and wait depend on the department's load
            for name in reads:
                self._by_fact[name] = self._by_fact.get(name, 0) | bit
            g = rule.gates
            if (
                self.time_leaves[i]
                or g.schedule is not None
                or g.cooldown_after_dismiss_s
                or g.min_days_between
            ):
                self.time_mask |= bit
            guards = _path_guards(rule.when)
            if guards:
                self._guarded.append((bit, tuple(compile_node(leaf) for leaf in guards)))
        self._unguarded = self.all_mask
        for bit, _ in self._guarded:
            self._unguarded &= ~bit
        self._path_memo: dict[str | None, int] = {}
        # Per rule, what the hot loop needs, unpacked in one go (see engine._scan).
        self.entries = tuple(
            (
                rule,
                rule.gates.max_per_visit,
                (rule.gates.department or "") if self.needs_load[i] else None,
                rule.check,
                _flips_by_path(rule.when),
                bool(
                    rule.gates.schedule is not None
                    or rule.gates.cooldown_after_dismiss_s
                    or rule.gates.min_days_between
                ),
                rule.gates.paced,
            )
            for i, rule in enumerate(self.rules)
        )

    def __len__(self) -> int:
        return len(self.rules)

    def pick(self, mask: int) -> list[CompiledRule]:
        """The rules of `mask` (a bitmask of `self.rules`), in order."""
        rules = self.rules
        out = []
        while mask:
            low = mask & -mask
            mask ^= low
            out.append(rules[low.bit_length() - 1])
        return out

    def mask_of(self, rule_ids: Iterable[str]) -> int:
        """Bitmask of the enabled rules among `rule_ids` (others are ignored)."""
        bits = self._bits
        mask = 0
        for rule_id in rule_ids:
            mask |= bits.get(rule_id, 0)
        return mask

    def mask_for(self, changed_facts: Iterable[str]) -> int:
        """Bitmask of the rules reading any of `changed_facts`."""
        by_fact = self._by_fact
        mask = 0
        for name in changed_facts:
            mask |= by_fact.get(name, 0)
        return mask

    def path_mask(self, path: str | None) -> int:
        """Bitmask of the rules not ruled out by their page.path conditions on `path`."""
        mask = self._path_memo.get(path)
        if mask is None:
            probe = VisitorFacts("", page_path=path)
            mask = self._unguarded
            for bit, checks in self._guarded:
                if all(check(probe, 0.0, None) is None for check in checks):
                    mask |= bit
            if len(self._path_memo) >= _PATH_MEMO_MAX:
                self._path_memo.clear()  # bounded: many distinct paths are rare
            self._path_memo[path] = mask
        return mask
