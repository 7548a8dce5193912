"""Backtests: replay recorded visits through a saved rule, a draft, or the site's whole
rule set (rules competing for one budget), off the event loop."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from pydantic import Field

from invitations import CompiledRule, compile_rule
from invitations.capacity import CapacityPoint
from server.api.access import site_for
from server.api.models import Strict
from server.api.query import MAX_INT
from server.api.router import ApiRouter, Context
from server.api.rules import RULE_ROLES, check_rule
from server.chat import backtest_run
from server.chat.backtest_run import MAX_CAPACITY_POINTS, MAX_EVENTS
from server.chat.rule_cache import compile_site_rules, rule_json
from server.errors import ApiError
from server.store import rules as rule_queries
from server.store.visits import events_between

routes = ApiRouter()
MAX_RANGE_MS = 90 * 86_400_000
__all__ = ["MAX_EVENTS", "routes"]


class CapacityPointIn(Strict):
    from_ts: Annotated[int, Field(ge=0)]
    department: Annotated[str, Field(max_length=64)] = ""
    agents_online: Annotated[int, Field(ge=0, le=100_000)]
    free_slots: Annotated[int, Field(ge=0, le=10_000_000)]
    queued_chats: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    # Predicted-wait inputs (rules with max_predicted_wait_s); servers absent = free_slots.
    servers: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    arrivals_per_hour: Annotated[float, Field(ge=0, le=1_000_000)] = 0
    handle_time_s: Annotated[float, Field(ge=0, le=86_400)] = 0


class BacktestIn(Strict):
    from_ts: Annotated[int, Field(ge=0, le=MAX_INT)]
    to_ts: Annotated[int, Field(ge=0, le=MAX_INT)]
    capacity_per_hour: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    # Agents' capacity over time; absent = every department online with room to spare.
    capacity: Annotated[list[CapacityPointIn], Field(max_length=MAX_CAPACITY_POINTS)] | None = None
    snapshot_ts: Annotated[int, Field(ge=0)] | None = None  # instant of `gates_at`


class DraftBacktestIn(BacktestIn):
    rule: dict[str, Any]


class RuleSetBacktestIn(BacktestIn):
    # A draft to try among the saved rules, in place of the saved rule `replaces`.
    rule: dict[str, Any] | None = None
    replaces: Annotated[str, Field(max_length=64)] | None = None


async def run_backtest(
    ctx: Context, site: dict[str, Any], rules: list[CompiledRule], window: BacktestIn
) -> dict[str, Any]:
    if window.from_ts >= window.to_ts:
        raise ApiError("invalid_request", "from_ts must be before to_ts")
    if window.to_ts - window.from_ts > MAX_RANGE_MS:
        raise ApiError("invalid_request", "a backtest covers at most 90 days")
    rows = await events_between(
        ctx.services.db, site["id"], window.from_ts, window.to_ts, MAX_EVENTS + 1
    )
    if len(rows) > MAX_EVENTS:
        raise ApiError(
            "too_large",
            f"more than {MAX_EVENTS} recorded events in that range; choose a shorter period",
        )
    capacity = None
    if window.capacity is not None:
        capacity = [
            CapacityPoint(
                p.from_ts / 1000,
                p.department,
                p.agents_online,
                p.free_slots,
                p.queued_chats,
                p.servers,
                p.arrivals_per_hour / 3600,
                p.handle_time_s,
            )
            for p in window.capacity
        ]
    # CPU-bound: a worker thread keeps the event loop (and live sockets) responsive.
    report = await asyncio.to_thread(
        backtest_run.run,
        rows,
        rules,
        site,
        window.capacity_per_hour,
        capacity,
        window.snapshot_ts,
        window.to_ts,
    )
    return {
        "from_ts": window.from_ts,
        "to_ts": window.to_ts,
        **backtest_run.report_json(report),
    }


def compile_draft(body: dict[str, Any], site: dict[str, Any]) -> CompiledRule:
    return compile_rule({**body, "id": body.get("id", "rl_draft")}, site["timezone"])


@routes.route(
    "POST",
    "/sites/{site_id}/rules/backtest",
    roles=RULE_ROLES,
    body=DraftBacktestIn,
    tags=["rules"],
)
async def backtest_draft(ctx: Context) -> dict[str, Any]:
    """Backtest an unsaved rule over recorded visits (alone, within the site's budget)."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: DraftBacktestIn = ctx.body
    return await run_backtest(ctx, site, [compile_draft(check_rule(body.rule), site)], body)


@routes.route(
    "POST",
    "/sites/{site_id}/rules/{rule_id}/backtest",
    roles=RULE_ROLES,
    body=BacktestIn,
    tags=["rules"],
)
async def backtest_saved(ctx: Context) -> dict[str, Any]:
    """Backtest a saved rule: would-be firings, hourly load against capacity."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    async with ctx.services.db.read() as conn:
        row = await rule_queries.get_rule(conn, site["id"], ctx.params["rule_id"])
    if row is None:
        raise ApiError("not_found", "no such rule")
    # As the live node compiles it (columns included), enabled or not.
    rule = compile_rule({**rule_json(row), "enabled": True}, site["timezone"])
    return await run_backtest(ctx, site, [rule], ctx.body)


@routes.route(
    "POST",
    "/sites/{site_id}/backtest",
    roles=RULE_ROLES,
    body=RuleSetBacktestIn,
    tags=["rules"],
)
async def backtest_rule_set(ctx: Context) -> dict[str, Any]:
    """Backtest the site's enabled rules together (one budget), per-visitor outcomes."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: RuleSetBacktestIn = ctx.body
    _, compiled, _ = await compile_site_rules(ctx.services.db, site["id"])
    if body.replaces is not None:
        if body.replaces not in compiled:
            raise ApiError("not_found", "no such enabled rule to replace")
        compiled = {k: v for k, v in compiled.items() if k != body.replaces}
    if body.rule is not None:
        draft = compile_draft(check_rule(body.rule), site)
        compiled = {**compiled, draft.id: draft}
    return await run_backtest(ctx, site, list(compiled.values()), body)
