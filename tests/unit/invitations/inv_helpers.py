"""Shared builders for the invitation engine tests (literal inputs, no clocks)."""

from __future__ import annotations

from typing import Any

from invitations.caps import SiteContext
from invitations.facts import DepartmentLoad
from invitations.rules import CompiledRule, compile_rule

# Tuesday 2026-04-07 10:00:00 UTC = 12:00 in Zagreb (CEST).
T0 = 1775556000.0

SITE = SiteContext({"": DepartmentLoad(2, 4, 0, 0), "sales": DepartmentLoad(1, 2, 0, 0)})


def rule(rule_id: str = "r1", when: Any = None, **extra: Any) -> CompiledRule:
    """A valid rule; `when` defaults to an always-true condition on visit.page_views."""
    data: dict[str, Any] = {
        "id": rule_id,
        "when": when or {"fact": "visit.page_views", "op": "gte", "value": 1},
        "variants": [{"id": "a", "text": {"en": "Hello"}}],
    }
    data.update(extra)
    return compile_rule(data)
