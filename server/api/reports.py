"""`GET /sites/{site_id}/reports/summary`: chat and invitation figures for a period.

`?from_ts&to_ts` (ms, to exclusive; default the last 30 days). `?format=csv&table=NAME`
answers one table as CSV: totals, agents, departments, days, missed, funnel, rules.
Definitions of every figure: `server/store/reports.py`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.responses import Response

from server.api.access import site_for
from server.api.query import ReportQuery
from server.api.router import ApiRouter, Context
from server.errors import ApiError
from server.ids import now_ms
from server.store import attachments as attachment_queries
from server.store import reports

routes = ApiRouter()
REPORT_ROLES = frozenset({"admin", "marketer", "agent"})
DAY_MS = 86_400_000
MAX_SPAN_MS = 400 * DAY_MS
TABLES = ("totals", "agents", "departments", "days", "missed", "funnel", "rules")


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: nested counts become columns (missed_no_agent, revenue_EUR)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "missed_reasons":
            out.update({f"missed_{k}": v for k, v in value.items()})
        elif key == "revenue":
            out.update({f"revenue_{k or 'none'}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # A spreadsheet would run "=…" from a name as a formula (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow(
            [
                _cell(row.get(c, 0 if c.startswith(("missed_", "revenue_")) else None))
                for c in columns
            ]
        )
    return buffer.getvalue()


def table_rows(report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table == "totals":
        return [report["totals"]]
    if table == "funnel":
        return [report["funnel"]]
    if table == "missed":
        reasons = report["totals"]["missed_reasons"]
        return [{"reason": k, "chats": v} for k, v in reasons.items()]
    return list(report[table])


@routes.route(
    "GET",
    "/sites/{site_id}/reports/summary",
    roles=REPORT_ROLES,
    query=ReportQuery,
    tags=["reports"],
)
async def summary(ctx: Context) -> Any:
    """Chats, missed (with reasons), response times, duration, CSAT, NPS, CES — overall,
    per agent, per department and per day — and the invitation funnel."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    args: ReportQuery = ctx.args
    to_ts = now_ms() if args.to_ts is None else args.to_ts
    from_ts = to_ts - 30 * DAY_MS if args.from_ts is None else args.from_ts
    if from_ts >= to_ts:
        raise ApiError("invalid_request", "from_ts must be before to_ts")
    if to_ts - from_ts > MAX_SPAN_MS:
        raise ApiError("invalid_request", "the period is at most 400 days")
    fmt, table = args.format, args.table or ""
    if fmt == "csv" and table not in TABLES:
        raise ApiError(
            "validation_failed",
            "the query string is not valid",
            details=[{"path": "table", "message": f"with format=csv, one of {', '.join(TABLES)}"}],
        )
    async with ctx.services.db.read() as conn:
        data = await reports.load(conn, site["id"], from_ts, to_ts)
        files = await attachment_queries.sent_in(conn, site["id"], from_ts, to_ts)
    report = reports.summarise(data, site["timezone"])
    if fmt == "csv":
        name = f"beckon-{table}-{site['id']}-{from_ts}-{to_ts}.csv"
        return Response(
            to_csv(table_rows(report, table)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {
        "site_id": site["id"],
        "timezone": site["timezone"],
        "from_ts": from_ts,
        "to_ts": to_ts,
        **report,
        "files": files,
    }
