"""`GET /audit`: the audit log for admins, filtered, as JSON pages or one CSV file.

Read-only by design: no endpoint writes, edits or deletes an entry (other methods get
405); entries leave only by age (server/audit/pruner.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from server.api.query import Count, Id, Limit, Query, TimestampMs
from server.api.reports import to_csv
from server.api.router import ApiRouter, Context
from server.audit.queries import AuditFilter, entries

routes = ApiRouter()
ADMIN = frozenset({"admin"})
CSV_MAX_ROWS = 10_000
CSV_COLUMNS = (
    "id", "ts", "actor_id", "actor_email", "actor_role", "ip", "action", "site_id", "target",
    "before", "after",
)  # fmt: skip


class AuditQuery(Query):
    site_id: Id | None = None
    actor_id: Id | None = None
    action: (
        Annotated[
            str,
            Field(
                max_length=64,
                pattern=r"^[a-z_]+(\.[a-z_]*)?$",
                description='an action ("rule.update") or every action of a kind ("rule.")',
            ),
        ]
        | None
    ) = None
    from_ts: TimestampMs | None = None
    to_ts: TimestampMs | None = Field(None, description="exclusive")
    limit: Limit = 50
    cursor: Count | None = Field(None, description="next_cursor of the previous page")
    format: Literal["json", "csv"] = "json"


class AuditEntry(BaseModel):
    id: int
    ts: int
    actor_id: str | None
    actor_email: str | None
    actor_role: str | None
    ip: str | None
    action: str
    site_id: str | None
    target: str | None
    before: Any
    after: Any


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


@routes.route("GET", "/audit", roles=ADMIN, query=AuditQuery, response=AuditPage, tags=["audit"])
async def list_audit(ctx: Context) -> Any:
    """Who changed what, newest first; `format=csv` answers every match (up to 10,000)
    as one file, with before/after as JSON text."""
    args: AuditQuery = ctx.args
    where = AuditFilter(
        site_id=args.site_id,
        actor_id=args.actor_id,
        action=args.action,
        since=args.from_ts,
        until=args.to_ts,
        before_id=args.cursor,
    )
    limit = CSV_MAX_ROWS if args.format == "csv" else args.limit
    async with ctx.services.db.read() as conn:
        rows = await entries(conn, where, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if args.format == "csv":
        return Response(
            to_csv([_csv_row(r) for r in rows]) if rows else ",".join(CSV_COLUMNS) + "\r\n",
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="beckon-audit.csv"'},
        )
    return {"items": rows, "next_cursor": str(rows[-1]["id"]) if more else None}


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {c: row[c] for c in CSV_COLUMNS}
    for key in ("before", "after"):
        out[key] = None if row[key] is None else orjson.dumps(row[key]).decode()
    return out
