"""`beckon backtest --site S (--rule FILE | --all-rules) --from --to`: replay recorded
visits through a rule file or the site's whole rule set, with a progress bar, and print
what it would have done (per rule, and per visitor with --visitors)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invitations import RuleValidationError, compile_rule
from invitations.capacity import CapacityPoint, points_from_json
from server.chat import backtest_run
from server.chat.backtest_run import MAX_CAPACITY_POINTS, MAX_EVENTS
from server.chat.rule_cache import compile_site_rules
from server.settings import Settings
from server.store import sites as site_queries
from server.store.database import open_database
from server.store.visits import events_between

PAGE = 20_000


class BacktestError(Exception):
    """A one-line problem for the operator."""


def parse_instant(text: str, name: str) -> int:
    """Milliseconds since the epoch from digits (ms) or an ISO date/time (UTC if naive)."""
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestError(
            f"--{name}: expected milliseconds or an ISO date, got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def load_rule(path: str, timezone: str = "UTC") -> Any:
    """The rule file compiled; time conditions read `timezone` (the site's)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise BacktestError(f"--rule: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BacktestError(f"--rule: {path} is not JSON: {exc}") from None
    try:
        return compile_rule(
            {**data, "id": data.get("id", "rl_file")} if isinstance(data, dict) else data,
            timezone,
        )
    except RuleValidationError as exc:
        raise BacktestError(
            f"--rule: {exc.errors[0]}"
            + (f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else "")
        ) from None


def load_capacity(path: str) -> list[CapacityPoint]:
    """A JSON list of {from_ts (ms), department?, agents_online, free_slots, queued_chats?}."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise BacktestError(f"--capacity-series: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BacktestError(f"--capacity-series: {path} is not JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise BacktestError("--capacity-series: expected a JSON list of objects")
    if len(data) > MAX_CAPACITY_POINTS:
        raise BacktestError(f"--capacity-series: more than {MAX_CAPACITY_POINTS} points")
    try:
        return points_from_json(data)
    except ValueError as exc:
        raise BacktestError(f"--capacity-series: {exc}") from None


async def run(
    settings: Settings,
    site_ref: str,
    rule_path: str | None,
    from_text: str,
    to_text: str,
    capacity: int | None,
    as_json: bool,
    capacity_path: str | None = None,
    show_visitors: bool = False,
) -> None:
    """`rule_path` None: the site's enabled rules, together."""
    if rule_path is not None:
        load_rule(rule_path)  # a bad file is reported before the database is opened
    series = load_capacity(capacity_path) if capacity_path is not None else None
    from_ts, to_ts = parse_instant(from_text, "from"), parse_instant(to_text, "to")
    if from_ts >= to_ts:
        raise BacktestError("--from must be before --to")
    db = open_database(settings.database_url)
    console = Console(stderr=True)
    try:
        async with db.read() as conn:
            site = await site_queries.get_site(
                conn, site_ref
            ) or await site_queries.get_site_by_key(conn, site_ref)
        if site is None:
            raise BacktestError(f"--site: no site with id or key {site_ref!r}")
        if rule_path is not None:
            rules = [load_rule(rule_path, site["timezone"])]
        else:
            rules = list((await compile_site_rules(db, site["id"]))[1].values())
            if not rules:
                raise BacktestError("--all-rules: the site has no enabled rule")
        rows: list[dict[str, Any]] = []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} events"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("loading recorded visits", total=None)
            cursor = from_ts
            while True:
                page = await events_between(db, site["id"], cursor, to_ts, PAGE)
                rows += page
                progress.update(task, completed=len(rows))
                if len(rows) > MAX_EVENTS:
                    raise BacktestError(
                        f"more than {MAX_EVENTS} events in that range; choose a shorter period"
                    )
                if len(page) < PAGE:
                    break
                cursor = page[-1]["ts"] + 1
            progress.update(task, description="replaying", total=len(rows), completed=len(rows))
            report = await asyncio.to_thread(
                backtest_run.run, rows, rules, site, capacity, series, None, to_ts
            )
    finally:
        await db.close()
    if as_json:
        print(json.dumps(backtest_run.report_json(report), indent=2))
        return
    out = Console()
    out.print(f"{report.visitors} visitors, {report.visits} visits, {report.events} events")
    table = Table(
        "rule",
        "variant",
        "visits matched",
        "triggered",
        "held out",
        "shown",
        "time to fire p50 / p90 (s)",
    )
    for rule_report in report.rules:
        for variant in rule_report.variants:
            table.add_row(
                rule_report.rule_id,
                variant.variant_id,
                str(rule_report.visits_matched),
                str(variant.triggered),
                str(variant.held_out),
                str(variant.shown),
                f"{variant.time_to_fire_p50} / {variant.time_to_fire_p90}",
            )
    out.print(table)
    out.print(
        f"peak invitations per hour: {report.peak_per_hour}; hours over capacity: "
        f"{report.hours_over_capacity}"
    )
    if show_visitors:
        visitors = Table("visitor", "time (UTC)", "rule", "variant", "outcome")
        for visitor in report.per_visitor:
            for o in visitor.outcomes:
                when = datetime.fromtimestamp(o.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
                outcome = o.outcome + (f" ({o.detail})" if o.detail else "")
                visitors.add_row(visitor.visitor_id, when, o.rule_id, o.variant_id, outcome)
        out.print(visitors)
        if report.visitors_truncated:
            out.print(f"(the first {len(report.per_visitor)} visitors by id; --json for all)")
