"""Reading and pruning the audit log (the only deletes are by age)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import audit_log

PRUNE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Every field narrows the list; None leaves it open. Times are ms, `until` exclusive."""

    site_id: str | None = None
    actor_id: str | None = None
    action: str | None = None  # exact ("rule.update") or a prefix ending in "." ("rule.")
    since: int | None = None
    until: int | None = None
    before_id: int | None = None  # the cursor: entries older than this id


async def entries(conn: AsyncConnection, where: AuditFilter, limit: int) -> list[dict[str, Any]]:
    """Newest first (by id, which grows with time on both stores)."""
    c = audit_log.c
    query = select(audit_log).order_by(c.id.desc()).limit(limit)
    if where.site_id is not None:
        query = query.where(c.site_id == where.site_id)
    if where.actor_id is not None:
        query = query.where(c.actor_id == where.actor_id)
    if where.action is not None:
        if where.action.endswith("."):
            query = query.where(c.action.startswith(where.action, autoescape=True))
        else:
            query = query.where(c.action == where.action)
    if where.since is not None:
        query = query.where(c.ts >= where.since)
    if where.until is not None:
        query = query.where(c.ts < where.until)
    if where.before_id is not None:
        query = query.where(c.id < where.before_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def prune_batch(conn: AsyncConnection, cutoff_ts: int, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` entries older than `cutoff_ts`; the count deleted."""
    ids = select(audit_log.c.id).where(audit_log.c.ts < cutoff_ts).limit(batch)
    found = [r[0] for r in (await conn.execute(ids)).all()]
    if not found:
        return 0
    await conn.execute(delete(audit_log).where(audit_log.c.id.in_(found)))
    return len(found)
