"""Struggle signals: early signs that a visitor is having a hard time (docs/rules.md,
"Struggle signals").

The widget (or the site through its JS API) reports each one as a reserved `track`
event whose name is the signal's kind, with a few numeric props and never any text.
Folded into `VisitorFacts` they are, per kind, a count this visit (`signal.KIND`) and
the seconds since the last one (`signal.KIND.ago_s`, grows with time); `signal.count`
and `signal.ago_s` cover every kind. Pure: the caller passes `now`.

A visit counts at most `MAX_PER_VISIT` signals of one kind: past it the event raises
`SignalCapped`, which the server turns into a `rate_limited` error — a page that floods
signals cannot grow a visitor's state or keep waking the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

MAX_PER_VISIT = 50


@dataclass(frozen=True, slots=True)
class SignalKind:
    """One kind of struggle signal: its `track` event name, what it means, its props.

    `props` maps each allowed prop to (low, high, whole number?); `required` props must
    be present. Anything else is refused by the server's frame validation.
    """

    name: str
    description: str
    props: Mapping[str, tuple[float, float, bool]]
    required: frozenset[str] = frozenset()

    @property
    def anchor(self) -> str:
        """The `VisitorFacts` field holding the instant of this kind's last signal."""
        return f"{self.name}_at"


KINDS: tuple[SignalKind, ...] = (
    SignalKind(
        "rage_click",
        "rage clicks: 3 or more clicks within a second on one element",
        {"clicks": (3, 1000, True)},
    ),
    SignalKind("dead_click", "dead clicks: a click after which nothing on the page changed", {}),
    SignalKind(
        "form_error",
        "form errors: a submit blocked by invalid fields, or a failed submit the site reports",
        {"fields": (0, 1000, True)},
    ),
    SignalKind(
        "page_loop", "page loops: going back and forth between two pages (A → B → A → B)", {}
    ),
    SignalKind("search_no_results", "searches without results (the site reports them)", {}),
    SignalKind(
        "error_page",
        "error pages (HTTP 4xx/5xx) the visitor landed on",
        {"status": (400, 599, True)},
        frozenset({"status"}),
    ),
    SignalKind(
        "long_wait",
        "waits in the chat queue longer than the widget's threshold",
        {"wait_s": (0, 86400, False)},
    ),
)
BY_NAME: dict[str, SignalKind] = {kind.name: kind for kind in KINDS}
PREFIX = "signal."
TOTAL_ANCHOR = "signal_at"  # the VisitorFacts field of the last signal of any kind
# VisitorFacts fields this module owns, with their empty values (reset every visit).
FIELDS: dict[str, Any] = {
    "signals": MappingProxyType({}),
    TOTAL_ANCHOR: None,
    **{kind.anchor: None for kind in KINDS},
}


class SignalCapped(ValueError):
    """The visit already counted `MAX_PER_VISIT` signals of this kind."""

    code = "rate_limited"


def check_props(name: str, props: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """None when `props` suit the signal `name`, else (path, message). Numbers only:
    a signal never carries text."""
    kind = BY_NAME[name]
    props = props or {}
    for key in sorted(kind.required - set(props)):
        return f"props.{key}", "is required"
    for key, value in props.items():
        bounds = kind.props.get(key)
        if bounds is None:
            allowed = ", ".join(sorted(kind.props)) or "none"
            return f"props.{key}", f"is not a prop of {name} (allowed: {allowed})"
        low, high, whole = bounds
        number = type(value) is int or (type(value) is float and not whole)
        if not number or not low <= value <= high:
            what = "a whole number" if whole else "a number"
            return f"props.{key}", f"must be {what} from {low:g} to {high:g}"
    return None


def fold(facts: Any, name: str, now: float) -> tuple[dict[str, Any], frozenset[str]]:
    """(changes to `facts`, fact names changed) for one signal `name` at `now`.

    `facts` is a `VisitorFacts` (not imported: facts.py imports this module). Raises
    SignalCapped past `MAX_PER_VISIT` of the kind this visit.
    """
    kind = BY_NAME[name]
    counts = dict(facts.signals)
    seen = counts.get(name, 0)
    if seen >= MAX_PER_VISIT:
        raise SignalCapped(f"at most {MAX_PER_VISIT} {name} signals are counted per visit")
    counts[name] = seen + 1
    changes = {"signals": MappingProxyType(counts), kind.anchor: now, TOTAL_ANCHOR: now}
    return changes, _CHANGED[name]


_CHANGED = {
    kind.name: frozenset(
        {
            PREFIX + kind.name,
            PREFIX + kind.name + ".ago_s",
            PREFIX + "count",
            PREFIX + "ago_s",
            "idle_s",
        }
    )
    for kind in KINDS
}


def summary(facts: Any, now: float) -> dict[str, dict[str, int]]:
    """{kind: {count, ago_s}} of the signals seen this visit (for the console)."""
    out = {}
    for kind in KINDS:
        count = facts.signals.get(kind.name, 0)
        at = getattr(facts, kind.anchor)
        if count and at is not None:
            out[kind.name] = {"count": count, "ago_s": max(0, int(now - at))}
    return out
