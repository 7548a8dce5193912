"""Rule JSON → validated, compiled, frozen `CompiledRule` (docs/rules.md).

`validate_rule(data)` returns every problem at once, each a `RuleError(path, message)`;
`compile_rule(data)` returns a `CompiledRule` or raises `RuleValidationError` with that
same list. Compiling does the expensive work once (condition closures, RE2 patterns,
text templates, time zones) so evaluation per event is cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from invitations.catalogue import MAX_HOLDOUT_PCT, catalogue
from invitations.codegen import compile_fast
from invitations.conditions import Check, Node, leaves
from invitations.errors import RuleError, RuleValidationError
from invitations.gates_parser import Gates, parse_gates
from invitations.persona import Persona, parse_display, parse_persona
from invitations.text import Template, parse_template
from invitations.when_parser import is_number, parse_when

__all__ = [
    "CompiledRule",
    "Gates",
    "RuleError",
    "RuleValidationError",
    "Variant",
    "catalogue",
    "compile_rule",
    "validate_rule",
]

_RULE_FIELDS = frozenset(
    {
        "id",
        "name",
        "description",
        "enabled",
        "priority",
        "created_ts",
        "when",
        "gates",
        "holdout_pct",
        "variants",
        "persona",
        "display",
    }
)
_VARIANT_FIELDS = frozenset({"id", "weight", "delay_s", "text"})
_LANG_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
MAX_DELAY_S = 3600


@dataclass(frozen=True, slots=True)
class Variant:
    """One variant. `languages` are lower-case tags in the rule's order, parallel to
    `templates`. `delay_s` is seconds to wait after firing, gates re-checked."""

    id: str
    weight: float
    delay_s: float
    languages: tuple[str, ...]
    templates: tuple[Template, ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A valid rule, ready for the engine. `check(facts, now, load)` is None when `when`
    holds, else the JSON path of the false condition. `reads` names the facts `when`
    reads. `created_ts` (seconds since epoch, optional) breaks priority ties."""

    id: str
    name: str
    enabled: bool
    priority: int
    created_ts: float | None
    when: Node
    check: Check
    reads: frozenset[str]
    gates: Gates
    holdout_pct: float
    variants: tuple[Variant, ...]
    weights: tuple[float, ...]
    persona: Persona | None = None  # who the invitation speaks as (None: the site)
    display: str = "card"  # card | chat


def validate_rule(data: Any) -> list[RuleError]:
    """Every problem in rule JSON `data` (empty when valid)."""
    return _build(data)[1]


def compile_rule(data: Any, timezone: str = "UTC") -> CompiledRule:
    """The compiled rule for `data`; `timezone` (the site's IANA zone) is where time
    conditions that name no zone are read. Raises RuleValidationError listing every
    problem."""
    rule, errors = _build(data, timezone)
    if errors or rule is None:
        raise RuleValidationError(errors)
    return rule


def _build(data: Any, timezone: str = "UTC") -> tuple[CompiledRule | None, list[RuleError]]:
    errors: list[RuleError] = []
    if not isinstance(data, dict):
        return None, [RuleError("", "expected a rule object")]
    for key in data:
        if key not in _RULE_FIELDS:
            errors.append(RuleError(str(key), "unknown field"))
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not 1 <= len(rule_id) <= 64:
        errors.append(RuleError("id", "expected a string of 1 to 64 characters"))
    name = _optional(data, "name", str, "", "expected a string", errors)
    _optional(data, "description", str, "", "expected a string", errors)
    enabled = _optional(data, "enabled", bool, True, "expected true or false", errors)
    priority = data.get("priority", 0)
    if priority.__class__ is bool or not isinstance(priority, int):
        errors.append(RuleError("priority", "expected a whole number"))
    created_ts = data.get("created_ts")
    if created_ts is not None and not is_number(created_ts):
        errors.append(RuleError("created_ts", "expected a number of seconds since the epoch"))
    holdout = data.get("holdout_pct", 0)
    if not is_number(holdout) or not 0 <= holdout <= MAX_HOLDOUT_PCT:
        errors.append(RuleError("holdout_pct", f"expected a number from 0 to {MAX_HOLDOUT_PCT}"))
    when = None
    if "when" not in data:
        errors.append(RuleError("when", "is required"))
    else:
        when = parse_when(data["when"], "when", errors, timezone)
    gates = parse_gates(data.get("gates", {}), "gates", errors)
    variants = _variants(data.get("variants"), errors)
    persona = parse_persona(data.get("persona"), "persona", errors)
    display = parse_display(data.get("display"), "display", errors)
    if errors or when is None or gates is None or variants is None:
        return None, errors
    rule = CompiledRule(
        id=rule_id,
        name=name,
        enabled=enabled,
        priority=priority,
        created_ts=created_ts,
        when=when,
        check=compile_fast(when),
        reads=frozenset(leaf.fact for leaf in leaves(when)),
        gates=gates,
        holdout_pct=holdout,
        variants=variants,
        weights=tuple(v.weight for v in variants),
        persona=persona,
        display=display,
    )
    return rule, errors


def _optional(
    data: dict, key: str, kind: type, default: Any, message: str, errors: list[RuleError]
) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        errors.append(RuleError(key, message))
        return default
    return value


def _variants(data: Any, errors: list[RuleError]) -> tuple[Variant, ...] | None:
    if data is None:
        errors.append(RuleError("variants", "is required"))
        return None
    if not isinstance(data, list):
        errors.append(RuleError("variants", "expected a list of variants"))
        return None
    if not data:
        errors.append(RuleError("variants", "at least one variant is required"))
        return None
    before = len(errors)
    seen: set[str] = set()
    out = []
    for i, item in enumerate(data):
        variant = _variant(item, f"variants[{i}]", errors)
        if variant is None:
            continue
        if variant.id in seen:
            errors.append(RuleError(f"variants[{i}].id", f'duplicate variant id "{variant.id}"'))
        seen.add(variant.id)
        out.append(variant)
    if len(errors) == before and not sum(v.weight for v in out) > 0:
        errors.append(RuleError("variants", "weights must add up to more than 0"))
    return tuple(out) if len(errors) == before else None


def _variant(data: Any, path: str, errors: list[RuleError]) -> Variant | None:
    if not isinstance(data, dict):
        errors.append(RuleError(path, "expected a variant object"))
        return None
    before = len(errors)
    for key in data:
        if key not in _VARIANT_FIELDS:
            errors.append(RuleError(f"{path}.{key}", "unknown field"))
    vid = data.get("id")
    if not isinstance(vid, str) or not 1 <= len(vid) <= 64:
        errors.append(RuleError(f"{path}.id", "expected a string of 1 to 64 characters"))
    weight = data.get("weight", 1)
    if not is_number(weight) or weight < 0:
        errors.append(RuleError(f"{path}.weight", "expected a number ≥ 0"))
    delay = data.get("delay_s", 0)
    if not is_number(delay) or not 0 <= delay <= MAX_DELAY_S:
        errors.append(
            RuleError(f"{path}.delay_s", f"expected a number of seconds from 0 to {MAX_DELAY_S}")
        )
    languages, templates = [], []
    text = data.get("text")
    if not isinstance(text, dict):
        errors.append(RuleError(f"{path}.text", "expected an object of language → text"))
    elif not text:
        errors.append(RuleError(f"{path}.text", "at least one language is required"))
    else:
        for lang, value in text.items():
            where = f"{path}.text.{lang}"
            if not _LANG_TAG.fullmatch(str(lang)):
                errors.append(RuleError(where, "expected a language tag such as en or pt-BR"))
            if not isinstance(value, str) or not value.strip():
                errors.append(RuleError(where, "expected a non-empty text"))
                continue
            template = parse_template(value, where, errors)
            languages.append(str(lang).lower())
            templates.append(template)
    if len(errors) != before:
        return None
    return Variant(vid, weight, delay, tuple(languages), tuple(templates))
