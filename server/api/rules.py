"""Invitation rules over REST: CRUD with versions, validate, live matching count, stats
with holdout uplift (docs/protocol.md; docs/rules.md). Backtests are in backtests.py."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from invitations import RuleSet, catalogue, compile_rule, evaluate, validate_rule
from server.api.access import site_for
from server.api.query import StatsQuery
from server.api.router import ANY_ROLE, ApiRouter, Context
from server.chat import live_visitors, personas
from server.chat.revenue_uplift import msprt, proportion, verdict
from server.chat.rule_cache import rule_json
from server.chat.uplift import newcombe
from server.chat.variant_uplift import variant_report
from server.errors import ApiError
from server.ids import new_id, now_ms
from server.store import rules as rule_queries
from server.store.rule_stats import rule_stats

routes = ApiRouter()
RULE_ROLES = frozenset({"admin", "marketer"})
# Rules are validated by the engine (`check_rule`: a 422 with the path of each problem,
# docs/protocol.md); the OpenAPI document states their outline.
RULE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "when", "variants"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "priority": {"type": "integer"},
        "enabled": {"type": "boolean"},
        "when": {"type": "object"},
        "gates": {"type": "object"},
        "variants": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
    "description": "a rule: conditions (when), gates and variants; see docs/protocol.md",
}
RULE_PATCH_BODY: dict[str, Any] = {
    "type": "object",
    "description": 'some fields of a rule, e.g. {"enabled": false}',
}
SERVER_FIELDS = ("id", "version", "created_ts", "updated_ts")
MAX_RULES_PER_SITE = 500


def check_rule(body: Any) -> dict[str, Any]:
    """The rule JSON, validated; 422 listing every problem with its path."""
    if not isinstance(body, dict):
        raise ApiError(
            "validation_failed",
            "the rule is not valid",
            details=[{"path": "(body)", "message": "expected a JSON object"}],
        )
    draft = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    errors = validate_rule({**draft, "id": "rl_draft"})
    if errors:
        raise ApiError(
            "validation_failed", "the rule is not valid", details=[e.to_dict() for e in errors]
        )
    return draft


async def check_persona(ctx: Context, site: dict[str, Any], draft: dict[str, Any]) -> None:
    """A persona must be one of the site's agents or departments: 422 otherwise."""
    problems = await personas.problems(ctx.services.db, site, draft)
    if problems:
        raise ApiError("validation_failed", "the rule is not valid", details=problems)


def rule_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **rule_json(row),
        "version": row["version"],
        "created_ts": row["created_ts"],
        "updated_ts": row["updated_ts"],
    }


async def _announce(ctx: Context, site_id: str) -> None:
    await ctx.request.app.state.rules.announce(ctx.services.broker, site_id)


async def _json_body(ctx: Context) -> Any:
    from server.api.router import read_json_body

    return await read_json_body(ctx.request, ctx.services.settings.max_body_bytes)


async def _rule(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        row = await rule_queries.get_rule(conn, site["id"], ctx.params["rule_id"])
    if row is None:
        raise ApiError("not_found", "no such rule")
    return site, row


@routes.route("GET", "/catalogue", roles=ANY_ROLE, tags=["rules"])
async def get_catalogue(ctx: Context) -> dict[str, Any]:
    """The facts, operators and limits rules may use (the engine's own catalogue)."""
    return catalogue()


@routes.route("GET", "/sites/{site_id}/rules", roles=RULE_ROLES, tags=["rules"])
async def list_rules(ctx: Context) -> dict[str, Any]:
    """Every rule of the site (enabled or not)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        rows = await rule_queries.list_rules(conn, site["id"])
    return {"items": [rule_out(r) for r in rows], "next_cursor": None}


@routes.route(
    "POST",
    "/sites/{site_id}/rules/validate",
    roles=RULE_ROLES,
    body_schema=RULE_BODY,
    tags=["rules"],
)
async def validate(ctx: Context) -> dict[str, Any]:
    """Validate a rule without saving: every problem with its JSON path."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    await check_persona(ctx, site, check_rule(await _json_body(ctx)))
    return {"valid": True, "errors": []}


@routes.route(
    "POST",
    "/sites/{site_id}/rules",
    roles=RULE_ROLES,
    body_schema=RULE_BODY,
    status=201,
    tags=["rules"],
)
async def create_rule(ctx: Context) -> dict[str, Any]:
    """Save a new rule (version 1)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    draft = check_rule(await _json_body(ctx))
    await check_persona(ctx, site, draft)
    row = new_rule_row(site["id"], draft)
    async with ctx.services.db.write() as conn:
        if len(await rule_queries.list_rules(conn, site["id"])) >= MAX_RULES_PER_SITE:
            raise ApiError("conflict", f"a site may have at most {MAX_RULES_PER_SITE} rules")
        await rule_queries.insert_rule(conn, row, ctx.user.id)
    await _announce(ctx, site["id"])
    return rule_out(row)


def new_rule_row(site_id: str, draft: dict[str, Any]) -> dict[str, Any]:
    """The stored row of a validated rule's first version."""
    now = now_ms()
    return {
        "id": new_id("rl"),
        "site_id": site_id,
        "name": draft["name"],
        "enabled": bool(draft.get("enabled", True)),
        "priority": int(draft.get("priority", 0)),
        "version": 1,
        "body": draft,
        "created_ts": now,
        "updated_ts": now,
    }


@routes.route("GET", "/sites/{site_id}/rules/{rule_id}", roles=RULE_ROLES, tags=["rules"])
async def get_rule(ctx: Context) -> dict[str, Any]:
    """One rule, current version."""
    return rule_out((await _rule(ctx))[1])


async def _save(ctx: Context, merged: dict[str, Any]) -> dict[str, Any]:
    site, row = await _rule(ctx)
    draft = check_rule(merged)
    await check_persona(ctx, site, draft)
    changed_body = draft != row["body"]
    updated = {
        **row,
        "name": draft["name"],
        "enabled": bool(draft.get("enabled", True)),
        "priority": int(draft.get("priority", 0)),
        "body": draft,
        "version": row["version"] + (1 if changed_body else 0),
        "updated_ts": now_ms(),
    }
    async with ctx.services.db.write() as conn:
        await rule_queries.update_rule(
            conn, updated, new_version=changed_body, created_by=ctx.user.id
        )
    await _announce(ctx, site["id"])
    return rule_out(updated)


@routes.route(
    "PUT",
    "/sites/{site_id}/rules/{rule_id}",
    roles=RULE_ROLES,
    body_schema=RULE_BODY,
    tags=["rules"],
)
async def put_rule(ctx: Context) -> dict[str, Any]:
    """Replace a rule; a changed rule is a new version (stats are per version)."""
    return await _save(ctx, await _json_body(ctx))


@routes.route(
    "PATCH",
    "/sites/{site_id}/rules/{rule_id}",
    roles=RULE_ROLES,
    body_schema=RULE_PATCH_BODY,
    tags=["rules"],
)
async def patch_rule(ctx: Context) -> dict[str, Any]:
    """Change some fields, e.g. `{"enabled": false}`."""
    _, row = await _rule(ctx)
    patch = await _json_body(ctx)
    if not isinstance(patch, dict):
        raise ApiError(
            "validation_failed",
            "the rule is not valid",
            details=[{"path": "(body)", "message": "expected a JSON object"}],
        )
    return await _save(ctx, {**row["body"], **patch})


@routes.route(
    "POST",
    "/sites/{site_id}/rules/{rule_id}/variants/{variant_id}/stop",
    roles=RULE_ROLES,
    tags=["rules"],
)
async def stop_variant(ctx: Context) -> dict[str, Any]:
    """Stop one variant (weight 0: a new rule version); the admin's one-click "Stop"."""
    _, row = await _rule(ctx)
    variant_id = ctx.params["variant_id"]
    variants = row["body"]["variants"]
    if not any(v["id"] == variant_id for v in variants):
        raise ApiError("not_found", "no such variant")
    stopped = [{**v, "weight": 0} if v["id"] == variant_id else v for v in variants]
    if not any(v.get("weight", 1) > 0 for v in stopped):
        raise ApiError(
            "conflict", "the last running variant cannot be stopped: disable the rule instead"
        )
    return await _save(ctx, {**row["body"], "variants": stopped})


@routes.route("DELETE", "/sites/{site_id}/rules/{rule_id}", roles=RULE_ROLES, tags=["rules"])
async def delete_rule(ctx: Context) -> dict[str, Any]:
    """Remove a rule (its stats and versions are kept)."""
    site, row = await _rule(ctx)
    async with ctx.services.db.write() as conn:
        await rule_queries.delete_rule(conn, row["id"], now_ms())
    await _announce(ctx, site["id"])
    return {"ok": True, "id": row["id"]}


@routes.route("GET", "/sites/{site_id}/rules/{rule_id}/versions", roles=RULE_ROLES, tags=["rules"])
async def list_versions(ctx: Context) -> dict[str, Any]:
    """Every saved version, newest first, with who saved it."""
    _, row = await _rule(ctx)
    async with ctx.services.db.read() as conn:
        rows = await rule_queries.versions(conn, row["id"])
    return {"items": rows, "next_cursor": None}


async def matching_count(
    ctx: Context, site: dict[str, Any], rule_body: dict[str, Any], rule_id: str = "rl_draft"
) -> dict[str, Any]:
    """Online visitors now: how many satisfy the rule's `when` (`matching`), and how many
    the rule would invite now (`would_invite`: the gates, the site's fatigue budget and
    the holdout applied, as the live engine would — the rule alone, no other rule)."""
    compiled = compile_rule({**rule_body, "id": rule_id}, site["timezone"])
    alone = RuleSet([replace(compiled, enabled=True)])
    visitors = await ctx.services.broker.presence_members(f"online-visitors:{site['id']}")
    now = time.time()
    context = await ctx.request.app.state.loads.context(site)
    load = context.load_for(compiled.gates.department)
    # Every online visitor, read in pipelined batches: the counts are exact, not a sample.
    states = await live_visitors.load_states(ctx.services.broker, visitors)
    matching = would_invite = 0
    for state in states.values():
        if compiled.check(state.facts, now, load) is None:
            matching += 1
            decision = evaluate(state.facts, alone, state.counters, context, now, explain=True)
            if any(t.outcome == "fired" for t in decision.trace):
                would_invite += 1
    return {
        "matching": matching,
        "would_invite": would_invite,
        "online": len(visitors),
        "exact": True,
    }


@routes.route(
    "POST",
    "/sites/{site_id}/rules/matching",
    roles=RULE_ROLES,
    body_schema=RULE_BODY,
    tags=["rules"],
)
async def matching_draft(ctx: Context) -> dict[str, Any]:
    """Live count for a draft rule (the editor's "matching now")."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    return await matching_count(ctx, site, check_rule(await _json_body(ctx)))


@routes.route("GET", "/sites/{site_id}/rules/{rule_id}/matching", roles=RULE_ROLES, tags=["rules"])
async def matching_saved(ctx: Context) -> dict[str, Any]:
    """Live count for a saved rule."""
    site, row = await _rule(ctx)
    return await matching_count(ctx, site, rule_json(row), row["id"])


def _range(args: StatsQuery) -> tuple[int, int]:
    to_ts = now_ms() + 1 if args.to_ts is None else args.to_ts
    from_ts = to_ts - 1 - 30 * 86_400_000 if args.from_ts is None else args.from_ts
    if from_ts >= to_ts:
        raise ApiError("invalid_request", "from_ts must be before to_ts")
    return from_ts, to_ts


@routes.route(
    "GET",
    "/sites/{site_id}/rules/{rule_id}/stats",
    roles=RULE_ROLES,
    query=StatsQuery,
    tags=["rules"],
)
async def stats(ctx: Context) -> dict[str, Any]:
    """Funnel per variant, conversions and revenue, holdout uplift (95 % interval), and
    revenue uplift per visitor per variant (Welch and always-valid mSPRT intervals)."""
    site, row = await _rule(ctx)
    args: StatsQuery = ctx.args
    from_ts, to_ts = _range(args)
    version = args.version
    data = await rule_stats(ctx.services.db, site, row["id"], from_ts, to_ts, version)
    groups = data.pop("groups")
    return _with_uplift(row, version, data, groups["invited"], groups["holdout"])


def _with_uplift(
    row: dict[str, Any],
    version: int | None,
    data: dict[str, Any],
    invited: dict[str, Any],
    holdout: dict[str, Any],
) -> dict[str, Any]:
    revenue = data.pop("revenue")
    weights = {v["id"]: v.get("weight", 1) for v in row["body"]["variants"]}
    x1, n1 = len(invited["converted"]), invited["visitors"]
    x2, n2 = len(holdout["converted"]), holdout["visitors"]
    diff, low, high = newcombe(x1, n1, x2, n2)
    # The conversion rate read at every look: the same mSPRT as revenue, on 0/1 outcomes.
    converted, held = proportion(x1, n1), proportion(x2, n2)
    always = msprt(converted, held)

    def group(g: dict[str, Any], converted: int) -> dict[str, Any]:
        return {
            "visitors": g["visitors"],
            "converted_visitors": converted,
            "conversions": g["conversions"],
            "revenue": dict(g["revenue"]),
            "revenue_per_visitor": {c: v / g["visitors"] for c, v in g["revenue"].items()}
            if g["visitors"]
            else {},
        }

    return {
        "rule_id": row["id"],
        "version": version,
        **data,
        "invited": group(invited, x1),
        "holdout": group(holdout, x2),
        "uplift": {
            "invited_rate": x1 / n1 if n1 else None,
            "holdout_rate": x2 / n2 if n2 else None,
            "diff_pp": round(diff * 100, 3),
            "ci_low_pp": round(low * 100, 3),
            "ci_high_pp": round(high * 100, 3),
            "method": "newcombe",
            "always_valid": None
            if always is None
            else {
                "low_pp": round(always.low * 100, 3),
                "high_pp": round(always.high * 100, 3),
                "p_value": round(always.p_value, 6),
                "verdict": verdict(always, converted, held),
            },
            "always_valid_method": "msprt",
        },
        "revenue_uplift": variant_report(
            revenue["holdout"], revenue["invited"], revenue["variant_of"], weights
        ),
    }
