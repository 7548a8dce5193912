"""Condition trees and their operators, compiled to closures (docs/rules.md, "Operators").

A validated `when` tree (`Leaf`, `AllOf`, `AnyOf`, `NotOf`, built by
`invitations.when_parser`) compiles to one function `check(facts, now, load)` that
returns None when the tree is true, else the JSON path of the condition that made it
false — so the trace costs nothing extra. Semantics:

- a missing fact makes every comparison false (`ne`, `not_in`, `not_contains` too);
  `exists` / `not_exists` test for it;
- `contains`, `not_contains`, `starts_with`, `ends_with` ignore case; `eq`, `ne`, `in`,
  `not_in`, `glob` do not; `regex` is RE2 `search` (use `(?i)` to ignore case);
- `glob` matches the whole string, `*` any run of characters, `?` one character;
- an `event.NAME` leaf with `within_s` counts the events of the last `within_s`
  seconds; a `Clock` (time condition) is true inside its weekly window;
- custom attributes (type "any") compare only with values of the same kind: a number
  attribute is never equal to a string, `true` is not `1`; operators that need a
  number or a string are false on a value of another kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from invitations.catalogue import ANY, EVENT_PREFIX, fact_spec
from invitations.facts import DepartmentLoad, Getter, VisitorFacts, fact_getter, window_getter
from invitations.schedule import Schedule

Check = Callable[[VisitorFacts, float, DepartmentLoad | None], str | None]


@dataclass(frozen=True, slots=True)
class Leaf:
    path: str
    fact: str
    op: str
    value: Any = None
    within_s: float | None = None  # event.NAME only: count the last `within_s` seconds


@dataclass(frozen=True, slots=True)
class Clock:
    """True while the site's local wall clock is inside `schedule` (a time condition)."""

    path: str
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class AllOf:
    path: str
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    path: str
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotOf:
    path: str
    child: Node


Node = Leaf | Clock | AllOf | AnyOf | NotOf


def leaves(node: Node) -> list[Leaf]:
    """All fact leaves of `node`, depth first (time conditions read no fact)."""
    if isinstance(node, Leaf):
        return [node]
    if isinstance(node, Clock):
        return []
    if isinstance(node, NotOf):
        return leaves(node.child)
    return [leaf for child in node.children for leaf in leaves(child)]


def clocks(node: Node) -> list[Clock]:
    """All time conditions of `node`, depth first."""
    if isinstance(node, Clock):
        return [node]
    if isinstance(node, Leaf):
        return []
    if isinstance(node, NotOf):
        return clocks(node.child)
    return [clock for child in node.children for clock in clocks(child)]


def re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # re2 would otherwise print every bad pattern to stderr
    return options


def glob_pattern(glob: str) -> str:
    """The RE2 pattern equivalent to `glob` (whole string; * and ?)."""
    out = []
    for ch in glob:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re2.escape(ch))
    return "(?s)" + "".join(out)


def compile_node(node: Node) -> Check:
    """The check closure for a validated tree."""
    if isinstance(node, Leaf):
        return _compile_leaf(node)
    if isinstance(node, Clock):
        state, path = node.schedule.state, node.path
        return lambda f, now, load: None if state(now)[0] else path
    if isinstance(node, NotOf):
        child, path = compile_node(node.child), node.path

        def check_not(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
            return path if child(f, now, load) is None else None

        return check_not
    children = tuple(compile_node(c) for c in node.children)
    if isinstance(node, AnyOf):
        path = node.path

        def check_any(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
            for c in children:
                if c(f, now, load) is None:
                    return None
            return path

        return check_any
    if len(children) == 1:
        return children[0]
    if len(children) == 2:
        a, b = children

        # Results are None or a non-empty path, so `or` yields the first failure.
        def check_all2(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
            return a(f, now, load) or b(f, now, load)

        return check_all2

    def check_all(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        for c in children:
            failed = c(f, now, load)
            if failed is not None:
                return failed
        return None

    return check_all


def _same(a: Any, b: Any) -> bool:
    """Equality that does not let True equal 1 (attributes are loosely typed)."""
    return a == b and (a.__class__ is bool) == (b.__class__ is bool)


def _only(get: Getter, kinds: tuple[type, ...]) -> Getter:
    """`get`, but values not of `kinds` (bools never count as numbers) read as missing."""

    def typed(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> Any:
        v = get(f, now, load)
        if v is None or (v.__class__ is bool and bool not in kinds):
            return None
        return v if isinstance(v, kinds) else None

    return typed


def _compile_leaf(leaf: Leaf) -> Check:
    if leaf.within_s is None:
        get = fact_getter(leaf.fact)
    else:
        get = window_getter(leaf.fact[len(EVENT_PREFIX) :], leaf.within_s)
    op, c, path = leaf.op, leaf.value, leaf.path
    loose = fact_spec(leaf.fact).type == ANY
    if op == "exists":
        return lambda f, now, load: None if get(f, now, load) is not None else path
    if op == "not_exists":
        return lambda f, now, load: path if get(f, now, load) is not None else None
    if loose:
        if op in ("eq", "ne", "in", "not_in"):
            return _loose_membership(get, op, c, path)
        kinds = (str,) if isinstance(c, str) else (int, float)
        get = _only(get, kinds)
    factory = _OPS[op]
    return factory(get, c, path)


def _loose_membership(get: Getter, op: str, c: Any, path: str) -> Check:
    values = tuple(c) if op in ("in", "not_in") else (c,)
    want = op in ("eq", "in")

    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        if v is None:
            return path
        hit = any(_same(v, x) for x in values)
        return None if hit is want else path

    return check


def _eq(get: Getter, c: Any, path: str) -> Check:
    return lambda f, now, load: None if get(f, now, load) == c else path


def _ne(get: Getter, c: Any, path: str) -> Check:
    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v != c else path

    return check


def _gt(get: Getter, c: Any, path: str) -> Check:
    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v > c else path

    return check


def _gte(get: Getter, c: Any, path: str) -> Check:
    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v >= c else path

    return check


def _lt(get: Getter, c: Any, path: str) -> Check:
    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v < c else path

    return check


def _lte(get: Getter, c: Any, path: str) -> Check:
    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v <= c else path

    return check


def _in(get: Getter, c: Any, path: str) -> Check:
    values = frozenset(c)
    return lambda f, now, load: None if get(f, now, load) in values else path


def _not_in(get: Getter, c: Any, path: str) -> Check:
    values = frozenset(c)

    def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
        v = get(f, now, load)
        return None if v is not None and v not in values else path

    return check


def _text(test: Callable[[str], bool]) -> Callable[[Getter, Any, str], Check]:
    def factory(get: Getter, c: Any, path: str) -> Check:
        def check(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
            v = get(f, now, load)
            return None if v is not None and test(v) else path

        return check

    return factory


def _contains(get: Getter, c: str, path: str) -> Check:
    low = c.lower()
    return _text(lambda v: low in v.lower())(get, c, path)


def _not_contains(get: Getter, c: str, path: str) -> Check:
    low = c.lower()
    return _text(lambda v: low not in v.lower())(get, c, path)


def _starts_with(get: Getter, c: str, path: str) -> Check:
    low = c.lower()
    return _text(lambda v: v.lower().startswith(low))(get, c, path)


def _ends_with(get: Getter, c: str, path: str) -> Check:
    low = c.lower()
    return _text(lambda v: v.lower().endswith(low))(get, c, path)


def _glob(get: Getter, c: str, path: str) -> Check:
    # Most globs are a literal or a literal prefix; skip the regex engine for those.
    if "*" not in c and "?" not in c:
        return _eq(get, c, path)
    head = c[:-1]
    if c.endswith("*") and "*" not in head and "?" not in head:
        return _text(lambda v: v.startswith(head))(get, c, path)
    matcher = re2.compile(glob_pattern(c), re2_options())
    return _text(lambda v: matcher.fullmatch(v) is not None)(get, c, path)


def _regex(get: Getter, c: str, path: str) -> Check:
    matcher = re2.compile(c, re2_options())
    return _text(lambda v: matcher.search(v) is not None)(get, c, path)


_OPS: dict[str, Callable[[Getter, Any, str], Check]] = {
    "eq": _eq,
    "ne": _ne,
    "gt": _gt,
    "gte": _gte,
    "lt": _lt,
    "lte": _lte,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
    "not_contains": _not_contains,
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "glob": _glob,
    "regex": _regex,
}
