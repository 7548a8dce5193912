"""Beckon's invitation engine: a pure library (facts, rules, caps and `now` in; actions
and the next wake-up out). No I/O, no clock reads. See `invitations.engine` for how a
caller drives it."""

from invitations.caps import Pending, SiteContext, VisitorCounters
from invitations.catalogue import SITE_FACTS, catalogue
from invitations.engine import (
    CancelPending,
    Decision,
    HoldOut,
    Invite,
    RuleSet,
    RuleTrace,
    evaluate,
)
from invitations.errors import RuleError, RuleValidationError
from invitations.events import apply_event, apply_event_changes
from invitations.facts import (
    MISSING,
    DepartmentLoad,
    VisitorFacts,
    evolve,
    facts_from_dict,
    facts_to_dict,
    get_fact,
)
from invitations.replay import BacktestReport, backtest
from invitations.rules import CompiledRule, compile_rule, validate_rule

__all__ = [
    "MISSING",
    "SITE_FACTS",
    "BacktestReport",
    "CancelPending",
    "CompiledRule",
    "Decision",
    "DepartmentLoad",
    "HoldOut",
    "Invite",
    "Pending",
    "RuleError",
    "RuleSet",
    "RuleTrace",
    "RuleValidationError",
    "SiteContext",
    "VisitorCounters",
    "VisitorFacts",
    "apply_event",
    "apply_event_changes",
    "backtest",
    "catalogue",
    "compile_rule",
    "evaluate",
    "evolve",
    "facts_from_dict",
    "facts_to_dict",
    "get_fact",
    "validate_rule",
]
