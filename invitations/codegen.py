"""Compiling a condition tree to one flat Python function — the evaluation hot path.

`conditions.compile_node` builds a tree of closures (one call per node and per fact
read); this module emits the same logic as straight-line code, roughly 2–3x faster.
Only the shape of the code is generated: every value, path and matcher from the rule
is passed in as a named constant (K0, K1, …), never pasted into the source, so rule
text cannot inject code. Anything without a direct translation (custom attributes,
derived facts) calls the closure from `conditions`, which stays the reference
semantics (the tests check both agree).
"""

from __future__ import annotations

from typing import Any

import re2

from invitations.catalogue import fact_spec
from invitations.conditions import (
    AllOf,
    Check,
    Clock,
    Leaf,
    Node,
    NotOf,
    compile_node,
    glob_pattern,
    re2_options,
)
from invitations.facts import TIME_ANCHORS

# Facts that are a plain attribute of VisitorFacts (None when missing).
_PLAIN = {
    "page.url": "page_url",
    "page.path": "page_path",
    "page.title": "page_title",
    "page.scroll_pct": "page_scroll_pct",
    "visit.page_views": "visit_page_views",
    "visit.referrer": "visit_referrer",
    "visit.landing_url": "visit_landing_url",
    "visit.utm.source": "utm_source",
    "visit.utm.medium": "utm_medium",
    "visit.utm.campaign": "utm_campaign",
    "visitor.visits": "visits",
    "visitor.chats": "chats",
    "visitor.device": "device",
    "visitor.identified": "identified",
    "visitor.name": "name",
    "visitor.email": "email",
    "visitor.country": "country",
    "cart.value": "cart_value",
    "cart.items": "cart_items",
    "cart.currency": "cart_currency",
}


class _Emitter:
    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self.lines: list[str] = []

    def const(self, value: Any) -> str:
        name = f"K{len(self.names)}"
        self.names[name] = value
        return name

    def value_expr(self, fact: str) -> str | None:
        if fact in _PLAIN:
            return f"f.{_PLAIN[fact]}"
        if fact in TIME_ANCHORS:
            return f"(None if (a := f.{TIME_ANCHORS[fact]}) is None else now - a)"
        return None

    def leaf_expr(self, leaf: Leaf) -> str:
        """A boolean expression for `leaf` (True when the condition holds)."""
        x = self.value_expr(leaf.fact) if leaf.within_s is None else None
        loose = fact_spec(leaf.fact).type == "any"
        op, c = leaf.op, leaf.value
        if x is None or loose:
            return f"{self.const(compile_node(leaf))}(f, now, load) is None"
        if op == "exists":
            return f"{x} is not None"
        if op == "not_exists":
            return f"{x} is None"
        if op == "eq":
            return f"{x} == {self.const(c)}"
        if op == "in":
            return f"{x} in {self.const(frozenset(c))}"
        has = f"(v := {x}) is not None"
        compare = {"ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if op in compare:
            return f"{has} and v {compare[op]} {self.const(c)}"
        if op == "not_in":
            return f"{has} and v not in {self.const(frozenset(c))}"
        if op in ("contains", "not_contains"):
            neg = "not " if op == "not_contains" else ""
            return f"{has} and {self.const(c.lower())} {neg}in v.lower()"
        if op in ("starts_with", "ends_with"):
            method = "startswith" if op == "starts_with" else "endswith"
            return f"{has} and v.lower().{method}({self.const(c.lower())})"
        if op == "glob":
            if "*" not in c and "?" not in c:
                return f"{x} == {self.const(c)}"
            head = c[:-1]
            if c.endswith("*") and "*" not in head and "?" not in head:
                return f"{has} and v.startswith({self.const(head)})"
            matcher = re2.compile(glob_pattern(c), re2_options()).fullmatch
            return f"{has} and {self.const(matcher)}(v) is not None"
        matcher = re2.compile(c, re2_options()).search  # regex
        return f"{has} and {self.const(matcher)}(v) is not None"

    def bool_expr(self, node: Node) -> str:
        if isinstance(node, Leaf):
            return f"({self.leaf_expr(node)})"
        if isinstance(node, Clock):
            return f"({self.const(node.schedule.state)}(now)[0])"
        if isinstance(node, NotOf):
            return f"(not {self.bool_expr(node.child)})"
        joiner = " and " if isinstance(node, AllOf) else " or "
        return "(" + joiner.join(self.bool_expr(c) for c in node.children) + ")"

    def statements(self, node: Node) -> None:
        """`return <path>` for the first false part, in the closures' order."""
        if isinstance(node, AllOf):
            for child in node.children:
                self.statements(child)
            return
        path = self.const(node.path)
        self.lines.append(f"    if not {self.bool_expr(node)}: return {path}")


def compile_fast(node: Node) -> Check:
    """A check function equivalent to `conditions.compile_node(node)`."""
    emitter = _Emitter()
    emitter.statements(node)
    source = "def check(f, now, load):\n" + "\n".join([*emitter.lines, "    return None"])
    namespace = dict(emitter.names)
    exec(compile(source, f"<rule {node.path}>", "exec"), namespace)
    return namespace["check"]
