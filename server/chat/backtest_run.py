"""What the REST API and the CLI share to run a backtest: the site's context as the live
node builds it, recorded rows → engine events, and the report as JSON
(docs/rules.md, "Backtests")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from invitations import BacktestReport, CompiledRule, SiteContext, backtest
from invitations.capacity import CapacityPoint

MAX_EVENTS = 200_000
MAX_CAPACITY_POINTS = 10_000


def site_context(site: dict[str, Any]) -> SiteContext:
    """The site's language and fatigue budget, as `server/chat/site_load.py` gives them
    to the live engine (load comes from the backtest's capacity series instead)."""
    settings = site.get("settings") or {}
    return SiteContext(
        default_lang=site["default_lang"],
        max_invitations_per_visit=settings.get("max_invitations_per_visit"),
        max_invitations_per_day=settings.get("max_invitations_per_day"),
    )


def engine_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visit log rows → the engine's event dicts (as the live node applied them)."""
    return [
        {**row["data"], "type": row["type"], "visitor_id": row["visitor_id"], "ts": row["ts"]}
        for row in rows
    ]


def run(
    rows: list[dict[str, Any]],
    rules: Iterable[CompiledRule],
    site: dict[str, Any],
    capacity_per_hour: int | None,
    capacity: list[CapacityPoint] | None,
    snapshot_ts: int | None,
    to_ts: int,
) -> BacktestReport:
    """CPU-bound: call it in a worker thread from the event loop. Nothing after `to_ts`
    (ms, the window's end) is simulated: the log does not say what came next."""
    return backtest(
        engine_events(rows),
        rules,
        site_context(site),
        capacity_per_hour,
        capacity=capacity,
        snapshot_at=None if snapshot_ts is None else snapshot_ts / 1000,
        until=to_ts / 1000,
    )


def report_json(report: BacktestReport) -> dict[str, Any]:
    """The report as JSON: instants of per-visitor outcomes in ms, like the protocol."""
    data = dataclasses.asdict(report)
    data["per_visitor"] = [
        {
            "visitor_id": v.visitor_id,
            "outcomes": [
                {
                    "ts": round(o.ts * 1000),
                    "rule_id": o.rule_id,
                    "variant_id": o.variant_id,
                    "outcome": o.outcome,
                    "detail": o.detail,
                }
                for o in v.outcomes
            ],
            "blocked": {rule: list(gates) for rule, gates in v.blocked},
            "gates_at": [{"rule_id": r, "gate": g} for r, g in v.gates_at],
        }
        for v in report.per_visitor
    ]
    return data
