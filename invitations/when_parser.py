"""Validating a rule's `when` JSON into a condition tree (docs/rules.md, "Operators").

`parse_when` appends every problem it finds to `errors` (each with its JSON path) and
returns the tree only when that part was valid.
"""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2

from invitations.catalogue import (
    ANY,
    BOOL,
    EVENT_PREFIX,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_REGEX_CHARS,
    NUMBER,
    NUMERIC_OPS,
    OPERATORS,
    OPERATORS_BY_TYPE,
    STRING,
    TEXT_OPS,
    fact_spec,
)
from invitations.conditions import AllOf, AnyOf, Clock, Leaf, Node, NotOf, re2_options
from invitations.errors import RuleError
from invitations.schedule import Schedule
from invitations.window_parser import parse_window

MAX_WITHIN_S = 1800  # a visit ends after 30 min idle, and event counts are per visit

_SHAPE = (
    'expected a condition: {"fact", "op", "value"}, {"time": {...}}, {"all": [...]}, '
    '{"any": [...]} or {"not": {...}}'
)
_TYPE_NAMES = {STRING: "a string", NUMBER: "a number", BOOL: "true or false"}


def is_number(value: Any) -> bool:
    """A JSON number: int or float, finite, and not a bool."""
    return (
        value.__class__ is not bool
        and isinstance(value, int | float)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def parse_when(data: Any, path: str, errors: list[RuleError], timezone: str = "UTC") -> Node | None:
    """The tree for `data` at JSON `path`, or None after appending its problems.
    `timezone`: the site's IANA zone, for time conditions that name none."""
    before = len(errors)
    counter = [0]
    node = _node(data, path, 1, errors, counter, timezone)
    if counter[0] > MAX_CONDITIONS:
        errors.append(
            RuleError(
                path,
                f"a rule may have at most {MAX_CONDITIONS} conditions, this one has {counter[0]}",
            )
        )
    return node if len(errors) == before else None


def _node(
    data: Any, path: str, depth: int, errors: list[RuleError], counter: list[int], tz: str
) -> Node | None:
    if depth > MAX_DEPTH:
        errors.append(RuleError(path, f"conditions are nested more than {MAX_DEPTH} levels deep"))
        return None
    if not isinstance(data, dict):
        errors.append(RuleError(path, _SHAPE))
        return None
    kind = next((k for k in ("all", "any", "not") if k in data), None)
    if kind is None and "time" in data and "fact" not in data:
        counter[0] += 1
        return _clock(data, path, errors, tz)
    if kind is None:
        if "fact" not in data:
            errors.append(RuleError(path, _SHAPE))
            return None
        counter[0] += 1
        return _leaf(data, path, errors)
    for key in data:
        if key != kind:
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    inner = f"{path}.{kind}"
    if kind == "not":
        child = _node(data["not"], inner, depth + 1, errors, counter, tz)
        return None if child is None else NotOf(path, child)
    items = data[kind]
    if not isinstance(items, list):
        errors.append(RuleError(inner, "expected a list of conditions"))
        return None
    if not items:
        errors.append(RuleError(inner, "expected at least one condition"))
        return None
    children = [
        _node(item, f"{inner}[{i}]", depth + 1, errors, counter, tz) for i, item in enumerate(items)
    ]
    if any(c is None for c in children):
        return None
    return (AllOf if kind == "all" else AnyOf)(path, tuple(children))


def _clock(data: dict, path: str, errors: list[RuleError], tz: str) -> Clock | None:
    """{"time": {"days", "from", "to", "timezone"?}}: the site's zone unless named."""
    before = len(errors)
    for key in data:
        if key != "time":
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    inner = data["time"]
    where = f"{path}.time"
    if not isinstance(inner, dict):
        errors.append(RuleError(where, 'expected an object with "days", "from" and "to"'))
        return None
    zone = inner.get("timezone", tz)
    if not isinstance(zone, str):
        errors.append(RuleError(f"{where}.timezone", "expected a time zone such as Europe/Zagreb"))
    else:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(RuleError(f"{where}.timezone", f'unknown time zone "{zone}"'))
    window = parse_window(inner, where, errors, extra=("timezone",))
    if len(errors) != before or window is None:
        return None
    return Clock(path, Schedule(zone, (window,)))


def _leaf(data: dict, path: str, errors: list[RuleError]) -> Leaf | None:
    before = len(errors)
    for key in data:
        if key not in ("fact", "op", "value", "within_s"):
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    fact, op = data.get("fact"), data.get("op")
    spec = None
    if not isinstance(fact, str):
        errors.append(RuleError(f"{path}.fact", "expected a fact name"))
    else:
        spec = fact_spec(fact)
        if spec is None:
            errors.append(RuleError(f"{path}.fact", f'unknown fact "{fact}"'))
    if op is None:
        errors.append(RuleError(f"{path}.op", "is required"))
        return None
    if not isinstance(op, str):
        errors.append(RuleError(f"{path}.op", "expected an operator name"))
        return None
    if op not in OPERATORS:
        errors.append(RuleError(f"{path}.op", f'unknown operator "{op}"'))
        return None
    if spec is None:
        return None
    if op not in OPERATORS_BY_TYPE[spec.type]:
        kind = _TYPE_NAMES.get(spec.type, "a custom attribute")
        errors.append(
            RuleError(f"{path}.op", f'operator "{op}" does not apply to {fact}, which is {kind}')
        )
        return None
    value = data.get("value")
    value_kind = OPERATORS[op][0]
    if value_kind == "none":
        if "value" in data:
            errors.append(RuleError(f"{path}.value", f"{op} takes no value"))
    elif "value" not in data:
        errors.append(RuleError(f"{path}.value", "is required"))
    elif value_kind == "list":
        if not isinstance(value, list):
            errors.append(RuleError(f"{path}.value", f"expected a list for {fact}"))
        else:
            for i, item in enumerate(value):
                _check_scalar(item, spec.type, op, fact, f"{path}.value[{i}]", errors)
            value = tuple(value)
    else:
        _check_scalar(value, spec.type, op, fact, f"{path}.value", errors)
        if op == "regex" and isinstance(value, str):
            _check_regex(value, f"{path}.value", errors)
    within = _within(data, fact, op, f"{path}.within_s", errors)
    if len(errors) != before:
        return None
    return Leaf(path, fact, op, value, within)


def _within(data: dict, fact: str, op: str, path: str, errors: list[RuleError]) -> float | None:
    """`within_s`: only on event counts compared with a number."""
    if "within_s" not in data:
        return None
    within = data["within_s"]
    if not fact.startswith(EVENT_PREFIX) or op in ("exists", "not_exists"):
        errors.append(RuleError(path, "within_s applies only to event.NAME counts"))
        return None
    if not is_number(within) or not 0 < within <= MAX_WITHIN_S:
        errors.append(
            RuleError(path, f"expected a number of seconds above 0, at most {MAX_WITHIN_S}")
        )
        return None
    return float(within)


def _check_scalar(
    value: Any, ftype: str, op: str, fact: str, path: str, errors: list[RuleError]
) -> None:
    if ftype == ANY:
        if op in NUMERIC_OPS:
            ftype = NUMBER
        elif op in TEXT_OPS:
            ftype = STRING
        elif not (isinstance(value, str | bool) or is_number(value)):
            errors.append(RuleError(path, f"expected a string, number or boolean for {fact}"))
            return
        else:
            return
    ok = {
        STRING: isinstance(value, str),
        NUMBER: is_number(value),
        BOOL: isinstance(value, bool),
    }[ftype]
    if not ok:
        errors.append(RuleError(path, f"expected {_TYPE_NAMES[ftype]} for {fact}"))


def _check_regex(pattern: str, path: str, errors: list[RuleError]) -> None:
    if len(pattern) > MAX_REGEX_CHARS:
        errors.append(RuleError(path, f"regex is longer than {MAX_REGEX_CHARS} characters"))
        return
    try:
        re2.compile(pattern, re2_options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        errors.append(RuleError(path, f"regex does not compile: {detail}"))
