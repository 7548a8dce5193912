"""Decisions over time over REST: a rule's funnel for any time range, and "why not" —
one visitor's timeline for a rule with the engine's reason now (docs/rules.md)."""

from __future__ import annotations

import time
from typing import Any

from invitations import RuleValidationError, compile_rule, evaluate
from invitations.decisions import MAX_CHANGES_PER_VISIT, funnel, gates_of
from server.api.access import site_for
from server.api.query import PeriodQuery
from server.api.router import ApiRouter, Context
from server.api.rules import RULE_ROLES
from server.chat import visitor_state
from server.chat.rule_cache import rule_json
from server.errors import ApiError
from server.ids import now_ms
from server.store import conversations as conv_queries
from server.store import decisions
from server.store import rules as rule_queries

routes = ApiRouter()
DEFAULT_RANGE_MS = 30 * 86_400_000


async def _rule(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        row = await rule_queries.get_rule(conn, site["id"], ctx.params["rule_id"])
    if row is None:
        raise ApiError("not_found", "no such rule")
    return site, row


def _gates(site: dict[str, Any], row: dict[str, Any]) -> list[str]:
    try:
        return gates_of(compile_rule(rule_json(row), site["timezone"]).gates)
    except RuleValidationError:  # stored before a stricter engine: the data's gates only
        return []


@routes.route(
    "GET",
    "/sites/{site_id}/rules/{rule_id}/funnel",
    roles=RULE_ROLES,
    query=PeriodQuery,
    tags=["rules"],
)
async def rule_funnel(ctx: Context) -> dict[str, Any]:
    """Visitors who matched the rule's conditions → got past each gate → fired → shown →
    accepted → chatted → converted, over [from_ts, to_ts) (default: the last 30 days),
    from the recorded decisions over time."""
    site, row = await _rule(ctx)
    args: PeriodQuery = ctx.args
    to_ts = now_ms() + 1 if args.to_ts is None else args.to_ts
    from_ts = to_ts - DEFAULT_RANGE_MS if args.from_ts is None else args.from_ts
    if from_ts >= to_ts:
        raise ApiError("invalid_request", "from_ts must be before to_ts")
    data = await decisions.furthest_stages(ctx.services.db, site["id"], row["id"], from_ts, to_ts)
    steps = funnel(data["reached"], [*_gates(site, row), *data["gates"]])
    return {
        "rule_id": row["id"],
        "from_ts": from_ts,
        "to_ts": to_ts,
        "steps": [
            {
                "step": s.step,
                "gate": s.step.removeprefix("gate:") if s.step.startswith("gate:") else None,
                "visitors": s.visitors,
            }
            for s in steps
        ],
        "held_out": data["held_out"],
        "sampled_visitors": data["sampled"],
        "sample_pct": ctx.services.settings.decision_log_sample_pct,
        "max_changes_per_visit": MAX_CHANGES_PER_VISIT,
    }


@routes.route(
    "GET",
    "/sites/{site_id}/rules/{rule_id}/why-not/{visitor_id}",
    roles=RULE_ROLES,
    tags=["rules"],
)
async def why_not(ctx: Context) -> dict[str, Any]:
    """One visitor and one rule: the recorded changes of its outcome (oldest first) and
    the engine's reason now."""
    site, row = await _rule(ctx)
    visitor_id = ctx.params["visitor_id"]
    async with ctx.services.db.read() as conn:
        visitor = await conv_queries.get_visitor(conn, visitor_id)
    if visitor is None or visitor["site_id"] != site["id"]:
        raise ApiError("not_found", "no such visitor")
    timeline = await decisions.timeline(ctx.services.db, site["id"], visitor_id, row["id"])
    return {
        "rule_id": row["id"],
        "visitor_id": visitor_id,
        "now": await _reason_now(ctx, site, row, visitor_id),
        "timeline": timeline,
    }


async def _reason_now(
    ctx: Context, site: dict[str, Any], row: dict[str, Any], visitor_id: str
) -> dict[str, Any]:
    """The rule's outcome for the visitor at this instant: `disabled`, `false` (the
    path of the false condition), `blocked` (a gate), `held_out`, `outranked`, `fired`
    (would fire now), or `unknown` (the engine has no state for the visitor)."""
    if not row["enabled"]:
        return {"outcome": "disabled", "reason": None}
    rule_set, compiled, _versions = await ctx.request.app.state.rules.get(site["id"])
    rule = compiled.get(row["id"])
    if rule is None:
        return {"outcome": "unknown", "reason": "the rule does not compile"}
    state = await visitor_state.load(ctx.services.broker, visitor_id)
    if state.facts.last_activity is None:
        return {"outcome": "unknown", "reason": "no live state for this visitor"}
    context = await ctx.request.app.state.loads.context(site)
    now = time.time()
    failed = rule.check(state.facts, now, context.load_for(rule.gates.department))
    if failed is not None:
        return {"outcome": "false", "reason": failed}
    decision = evaluate(state.facts, rule_set, state.counters, context, now, explain=True)
    for t in decision.trace:
        if t.rule_id == rule.id:
            return {"outcome": t.outcome, "reason": t.detail, "variant_id": t.variant_id}
    return {"outcome": "blocked", "reason": decision.blocked}
