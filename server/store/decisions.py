"""Decisions over time in the Store: changes appended in batches (off the ack path,
like the visit log), one visitor's timeline, and a rule's funnel over a time range."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, cast, delete, func, select

from server.store.buffered_rows import BufferedRows
from server.store.database import Database
from server.store.decision_tables import decision_changes

TIMELINE_LIMIT = 1000


class DecisionLog(BufferedRows):
    """Buffers changes and writes them in batches (`BufferedRows`)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, decision_changes, "decision log")

    def append(self, row: dict[str, Any]) -> None:
        """`row`: site_id, visitor_id, rule_id, ts (ms), outcome, detail, variant_id,
        invitation_id, stage, sampled."""
        self.add(row)

    def unwritten(self, invitation_id: str) -> list[dict[str, Any]]:
        """The buffered rows of one invitation (not yet in the Store)."""
        return [r for r in self._pending if r.get("invitation_id") == invitation_id]


def _out(row: Any) -> dict[str, Any]:
    return {
        "ts": row["ts"],
        "rule_id": row["rule_id"],
        "outcome": row["outcome"],
        "detail": row["detail"],
        "variant_id": row["variant_id"],
        "invitation_id": row["invitation_id"],
        "sampled": bool(row["sampled"]),
    }


async def timeline(
    db: Database,
    site_id: str,
    visitor_id: str,
    rule_id: str | None = None,
    limit: int = TIMELINE_LIMIT,
) -> list[dict[str, Any]]:
    """The visitor's changes, oldest first (the latest `limit`), for one rule or all."""
    where = [decision_changes.c.site_id == site_id, decision_changes.c.visitor_id == visitor_id]
    if rule_id is not None:
        where.append(decision_changes.c.rule_id == rule_id)
    query = (
        select(decision_changes)
        .where(*where)
        .order_by(decision_changes.c.ts.desc(), decision_changes.c.id.desc())
        .limit(limit)
    )
    async with db.read() as conn:
        rows = [_out(r) for r in (await conn.execute(query)).mappings()]
    return rows[::-1]


async def furthest_stages(
    db: Database, site_id: str, rule_id: str, from_ts: int, to_ts: int
) -> dict[str, Any]:
    """Over [from_ts, to_ts): furthest stage → visitors; the gates that stopped anyone;
    visitors held out; visitors recorded by the site's sample."""
    in_range = [
        decision_changes.c.site_id == site_id,
        decision_changes.c.rule_id == rule_id,
        decision_changes.c.ts >= from_ts,
        decision_changes.c.ts < to_ts,
    ]
    per_visitor = (
        select(
            decision_changes.c.visitor_id,
            func.max(decision_changes.c.stage).label("furthest"),
            func.max(cast(decision_changes.c.sampled, Integer)).label("sampled"),
        )
        .where(*in_range)
        .group_by(decision_changes.c.visitor_id)
        .subquery()
    )
    reached_q = select(
        per_visitor.c.furthest, func.count(), func.sum(per_visitor.c.sampled)
    ).group_by(per_visitor.c.furthest)
    gates_q = (
        select(decision_changes.c.detail)
        .where(*in_range, decision_changes.c.outcome == "blocked")
        .distinct()
    )
    held_q = select(func.count(func.distinct(decision_changes.c.visitor_id))).where(
        *in_range, decision_changes.c.outcome == "held_out"
    )
    async with db.read() as conn:
        reached: dict[int, int] = {}
        sampled = 0
        for furthest, count, in_sample in await conn.execute(reached_q):
            reached[int(furthest)] = int(count)
            sampled += int(in_sample or 0)
        gates = [r[0] for r in await conn.execute(gates_q) if r[0]]
        held_out = (await conn.execute(held_q)).scalar_one()
    return {"reached": reached, "gates": gates, "held_out": int(held_out), "sampled": sampled}


async def delete_visitor(db: Database, site_id: str, visitor_id: str) -> int:
    async with db.write() as conn:
        result = await conn.execute(
            delete(decision_changes).where(
                decision_changes.c.site_id == site_id,
                decision_changes.c.visitor_id == visitor_id,
            )
        )
    return result.rowcount or 0
