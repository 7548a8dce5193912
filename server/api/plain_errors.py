"""Pydantic's validation texts ("String should have at least 10 characters") as plain
sentences naming the field ("Name must be at least 10 characters long."). Only the
texts of pydantic's own error types are rewritten: messages our validators raise are
already written for people and pass through (without pydantic's "Value error, ")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Units our field names carry, said in words ("delay_s" → "Delay (seconds)").
SUFFIXES = (("_ts", " time"), ("_s", " (seconds)"), ("_pct", " (%)"))


def field_label(loc: Sequence[Any]) -> str:
    """The field a location names, as a person would: ('gates', 'max_per_visit') →
    "Max per visit"; a list position is counted from 1 ("Variants item 2")."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return "The request body"
    name = names[-1]
    for suffix, said in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)] + said
            break
    label = name.replace("_", " ").strip() or names[-1]
    if loc and isinstance(loc[-1], int):
        label = f"{label} item {loc[-1] + 1}"
    return label[:1].upper() + label[1:]


def _count(n: Any, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def plain_message(err: Mapping[str, Any]) -> str:
    """One pydantic error (from `ValidationError.errors()`) as a sentence."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    field = field_label(err.get("loc") or ())
    msg = str(err.get("msg", ""))
    chars = (_count(ctx.get(k), "character", "characters") for k in ("min_length", "max_length"))
    items = (_count(ctx.get(k), "item", "items") for k in ("min_length", "max_length"))
    min_chars, max_chars = chars
    min_items, max_items = items
    sentences = {
        "missing": f"{field} is required.",
        "extra_forbidden": "unknown field",  # short and stable: clients match on it
        "string_too_short": (
            f"{field} must not be empty."
            if ctx.get("min_length") == 1
            else f"{field} must be at least {min_chars} long."
        ),
        "string_too_long": f"{field} must be at most {max_chars} long.",
        "string_pattern_mismatch": f"{field} has characters or a form that is not allowed here.",
        "string_type": f"{field} must be text.",
        "int_type": f"{field} must be a whole number.",
        "int_parsing": f"{field} must be a whole number.",
        "int_from_float": f"{field} must be a whole number.",
        "float_type": f"{field} must be a number.",
        "float_parsing": f"{field} must be a number.",
        "finite_number": f"{field} must be a finite number.",
        "bool_type": f"{field} must be true or false.",
        "bool_parsing": f"{field} must be true or false.",
        "list_type": f"{field} must be a list.",
        "dict_type": f"{field} must be an object.",
        "model_type": f"{field} must be an object.",
        "model_attributes_type": f"{field} must be an object.",
        "greater_than": f"{field} must be more than {ctx.get('gt')}.",
        "greater_than_equal": f"{field} must be at least {ctx.get('ge')}.",
        "less_than": f"{field} must be less than {ctx.get('lt')}.",
        "less_than_equal": f"{field} must be at most {ctx.get('le')}.",
        "literal_error": f"{field} must be one of: {ctx.get('expected')}.",
        "enum": f"{field} must be one of: {ctx.get('expected')}.",
        "too_short": f"{field} must have at least {min_items}.",
        "too_long": f"{field} must have at most {max_items}.",
        "url_parsing": f"{field} must be a web address (https://…).",
        "url_scheme": f"{field} must be a web address (https://…).",
    }
    if kind in sentences:
        return sentences[kind]
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
