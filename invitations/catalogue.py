"""The fact and operator catalogue of the rule language, as data.

Source of truth for what a rule may say (docs/rules.md, "Facts" and
"Operators"). The validator, the condition compiler and the admin UI's form builder
(through `catalogue()`) all read these tables, so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from invitations import signals

STRING = "string"
NUMBER = "number"
BOOL = "bool"
ANY = "any"  # custom attributes: any scalar (string, number or bool)

MAX_DEPTH = 8
MAX_CONDITIONS = 64
MAX_REGEX_CHARS = 256
MAX_HOLDOUT_PCT = 50
VISIT_TIMEOUT_S = 30 * 60.0  # a visit ends after 30 min without activity

_STRING_OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "glob",
    "regex",
    "exists",
    "not_exists",
)
_NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists")
_BOOL_OPS = ("eq", "ne", "exists", "not_exists")
_ANY_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", *_STRING_OPS[2:])

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    STRING: _STRING_OPS,
    NUMBER: _NUMBER_OPS,
    BOOL: _BOOL_OPS,
    ANY: _ANY_OPS,
}

# operator -> (kind of value it takes, description). Kinds: scalar, list, none.
OPERATORS: dict[str, tuple[str, str]] = {
    "eq": ("scalar", "equals"),
    "ne": ("scalar", "does not equal"),
    "gt": ("scalar", "greater than"),
    "gte": ("scalar", "greater than or equal to"),
    "lt": ("scalar", "less than"),
    "lte": ("scalar", "less than or equal to"),
    "in": ("list", "is one of"),
    "not_in": ("list", "is none of"),
    "contains": ("scalar", "contains (case-insensitive)"),
    "not_contains": ("scalar", "does not contain (case-insensitive)"),
    "starts_with": ("scalar", "starts with (case-insensitive)"),
    "ends_with": ("scalar", "ends with (case-insensitive)"),
    "glob": ("scalar", "matches the whole value; * is any run of characters, ? is one"),
    "regex": ("scalar", "matches the regular expression somewhere (RE2 syntax, ≤ 256 chars)"),
    "exists": ("none", "has a value"),
    "not_exists": ("none", "has no value"),
}
NUMERIC_OPS = frozenset({"gt", "gte", "lt", "lte"})
TEXT_OPS = frozenset({"contains", "not_contains", "starts_with", "ends_with", "glob", "regex"})


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One fact of the catalogue. `time_growing` facts grow by one per second of time."""

    name: str
    type: str
    description: str
    time_growing: bool = False


_FACT_LIST = (
    FactSpec("page.url", STRING, "address of the current page"),
    FactSpec("page.path", STRING, "path of the current page, e.g. /checkout"),
    FactSpec("page.title", STRING, "title of the current page"),
    FactSpec("page.time_s", NUMBER, "seconds on the current page", True),
    FactSpec("page.scroll_pct", NUMBER, "deepest scroll on this page, 0–100"),
    FactSpec("visit.time_s", NUMBER, "seconds since this visit began", True),
    FactSpec("visit.page_views", NUMBER, "pages viewed this visit"),
    FactSpec("visit.referrer", STRING, "referrer of the visit's first page"),
    FactSpec("visit.landing_url", STRING, "first page of the visit"),
    FactSpec("visit.utm.source", STRING, "utm_source of the landing page"),
    FactSpec("visit.utm.medium", STRING, "utm_medium of the landing page"),
    FactSpec("visit.utm.campaign", STRING, "utm_campaign of the landing page"),
    FactSpec("idle_s", NUMBER, "seconds since the last activity", True),
    FactSpec("visitor.visits", NUMBER, "visits so far, this one included"),
    FactSpec("visitor.returning", BOOL, "visited before"),
    FactSpec("visitor.chats", NUMBER, "conversations so far"),
    FactSpec("visitor.lang", STRING, "primary language tag, e.g. hr"),
    FactSpec("visitor.device", STRING, "desktop, mobile or tablet"),
    FactSpec("visitor.identified", BOOL, "identity verified by user_hash"),
    # Mostly for placeholders in invitation text, e.g. {visitor.name|there}.
    FactSpec("visitor.name", STRING, "name from the identity or the name attribute"),
    FactSpec("visitor.email", STRING, "email from the identity or the email attribute"),
    FactSpec("visitor.country", STRING, "country code, e.g. HR, when the edge supplies it"),
    FactSpec("cart.value", NUMBER, "value of the current cart"),
    FactSpec("cart.items", NUMBER, "items in the current cart"),
    FactSpec("cart.currency", STRING, "currency of the cart, ISO 4217"),
    FactSpec("site.agents_online", NUMBER, "agents online for the rule's department"),
    FactSpec("site.queue_length", NUMBER, "chats waiting for the rule's department"),
    *(
        spec
        for kind in signals.KINDS
        for spec in (
            FactSpec(signals.PREFIX + kind.name, NUMBER, kind.description + ", this visit"),
            FactSpec(
                signals.PREFIX + kind.name + ".ago_s",
                NUMBER,
                f"seconds since the last {kind.name} signal this visit",
                True,
            ),
        )
    ),
    FactSpec(signals.PREFIX + "count", NUMBER, "struggle signals of every kind, this visit"),
    FactSpec(signals.PREFIX + "ago_s", NUMBER, "seconds since the last struggle signal", True),
)
FACTS: dict[str, FactSpec] = {spec.name: spec for spec in _FACT_LIST}

# Families: a prefix plus a NAME chosen by the site (custom attributes, track events).
ATTR_PREFIX = "visitor.attr."
EVENT_PREFIX = "event."
_FAMILIES = {
    ATTR_PREFIX: FactSpec("visitor.attr.NAME", ANY, "custom attribute NAME"),
    EVENT_PREFIX: FactSpec("event.NAME", NUMBER, "times the track event NAME happened this visit"),
}
_FAMILY_NAME = re.compile(r"[A-Za-z0-9_:\-]{1,64}")

TIME_GROWING_FACTS = frozenset(s.name for s in _FACT_LIST if s.time_growing)
SITE_FACTS = frozenset({"site.agents_online", "site.queue_length"})


def fact_spec(name: str) -> FactSpec | None:
    """The spec of fact `name`, or None when the catalogue has no such fact."""
    spec = FACTS.get(name)
    if spec is not None:
        return spec
    for prefix, family in _FAMILIES.items():
        if name.startswith(prefix) and _FAMILY_NAME.fullmatch(name[len(prefix) :]):
            return FactSpec(name, family.type, family.description)
    return None


def catalogue() -> dict:
    """The catalogue as JSON-able data, for the admin UI's rule form builder."""
    facts = [
        {
            "name": spec.name,
            "type": spec.type,
            "description": spec.description,
            "time_growing": spec.time_growing,
            "operators": list(OPERATORS_BY_TYPE[spec.type]),
        }
        for spec in (*_FACT_LIST, *_FAMILIES.values())
    ]
    operators = [
        {"name": name, "value": kind, "description": text}
        for name, (kind, text) in OPERATORS.items()
    ]
    return {
        "facts": facts,
        "operators": operators,
        "combinators": ["all", "any", "not"],
        "limits": {
            "max_depth": MAX_DEPTH,
            "max_conditions": MAX_CONDITIONS,
            "max_regex_chars": MAX_REGEX_CHARS,
            "max_holdout_pct": MAX_HOLDOUT_PCT,
        },
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
