"""Backtests: replay recorded visits through a saved or draft rule, off the event loop."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from pydantic import Field

from invitations import SiteContext, backtest, compile_rule
from server.api.access import site_for
from server.api.models import Strict
from server.api.query import MAX_INT
from server.api.router import ApiRouter, Context
from server.api.rules import RULE_ROLES, check_rule
from server.errors import ApiError
from server.store import rules as rule_queries
from server.store.visits import events_between

routes = ApiRouter()
MAX_EVENTS = 200_000
MAX_RANGE_MS = 90 * 86_400_000


class BacktestIn(Strict):
    from_ts: Annotated[int, Field(ge=0, le=MAX_INT)]
    to_ts: Annotated[int, Field(ge=0, le=MAX_INT)]
    capacity_per_hour: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class DraftBacktestIn(BacktestIn):
    rule: dict[str, Any]


def engine_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visit log rows → the engine's event dicts (as the live node applied them)."""
    return [
        {**row["data"], "type": row["type"], "visitor_id": row["visitor_id"], "ts": row["ts"]}
        for row in rows
    ]


async def run_backtest(
    ctx: Context, site: dict[str, Any], rule_body: dict[str, Any], window: BacktestIn
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
    compiled = compile_rule({**rule_body, "id": rule_body.get("id", "rl_draft")})
    context = await ctx.request.app.state.loads.context(site)
    # CPU-bound: a worker thread keeps the event loop (and live sockets) responsive.
    report = await asyncio.to_thread(
        backtest,
        engine_events(rows),
        [compiled],
        SiteContext(departments=context.departments, default_lang=site["default_lang"]),
        window.capacity_per_hour,
    )
    return {"from_ts": window.from_ts, "to_ts": window.to_ts, **dataclasses.asdict(report)}


@routes.route(
    "POST",
    "/sites/{site_id}/rules/backtest",
    roles=RULE_ROLES,
    body=DraftBacktestIn,
    tags=["rules"],
)
async def backtest_draft(ctx: Context) -> dict[str, Any]:
    """Backtest an unsaved rule over recorded visits."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    body: DraftBacktestIn = ctx.body
    return await run_backtest(ctx, site, check_rule(body.rule), body)


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
    return await run_backtest(ctx, site, {**row["body"], "id": row["id"]}, ctx.body)
