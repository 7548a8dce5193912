"""Per rule version and variant: the funnel, conversions, revenue, by day; the holdout."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.store.database import Database
from server.store.tables import conversations, conversions, invitations

FUNNEL = ("triggered", "shown", "accepted", "dismissed", "expired", "withdrawn")


def _day(ts_ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz).date().isoformat()


async def rule_stats(
    db: Database, site: dict[str, Any], rule_id: str, from_ts: int, to_ts: int, version: int | None
) -> dict[str, Any]:
    inv = invitations
    query = select(inv).where(
        inv.c.rule_id == rule_id, inv.c.created_ts >= from_ts, inv.c.created_ts < to_ts
    )
    if version is not None:
        query = query.where(inv.c.rule_version == version)
    conv_query = select(conversations.c.id, conversations.c.variant_id).where(
        conversations.c.rule_id == rule_id,
        conversations.c.created_ts >= from_ts,
        conversations.c.created_ts < to_ts,
    )
    sale_query = select(conversions).where(
        conversions.c.rule_id == rule_id, conversions.c.ts >= from_ts, conversions.c.ts < to_ts
    )
    if version is not None:
        sale_query = sale_query.where(conversions.c.rule_version == version)
    async with db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        chats = [dict(r) for r in (await conn.execute(conv_query)).mappings()]
        sales = [dict(r) for r in (await conn.execute(sale_query)).mappings()]
    tz = ZoneInfo(site["timezone"])
    variants: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            **{k: 0 for k in FUNNEL},
            "chats": 0,
            "conversions": 0,
            "revenue": defaultdict(float),
        }
    )
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    invited_visitors: set[str] = set()
    held_visitors: set[str] = set()
    for row in rows:
        day = days[_day(row["created_ts"], tz)]
        if row["status"] == "held_out":
            held_visitors.add(row["visitor_id"])
            day["held_out"] += 1
            continue
        invited_visitors.add(row["visitor_id"])
        stats = variants[row["variant_id"] or "-"]
        stats["triggered"] += 1
        day["triggered"] += 1
        # An answered invitation was shown first; its final status says how it ended.
        if row["status"] != "triggered" and row["shown_ts"] is not None:
            stats["shown"] += 1
            day["shown"] += 1
        if row["status"] in FUNNEL[2:]:
            stats[row["status"]] += 1
            day[row["status"]] += 1
    for chat in chats:
        variants[chat["variant_id"] or "-"]["chats"] += 1
    groups = {
        "invited": {
            "visitors": len(invited_visitors),
            "converted": set(),
            "conversions": 0,
            "revenue": defaultdict(float),
        },
        "holdout": {
            "visitors": len(held_visitors),
            "converted": set(),
            "conversions": 0,
            "revenue": defaultdict(float),
        },
    }
    for sale in sales:
        group = groups["holdout" if sale["held_out"] else "invited"]
        group["conversions"] += 1
        group["converted"].add(sale["visitor_id"])
        currency = sale["currency"] or "-"
        group["revenue"][currency] += sale["value"]
        days[_day(sale["ts"], tz)]["conversions"] += 1
        if not sale["held_out"]:
            stats = variants[sale["variant_id"] or "-"]
            stats["conversions"] += 1
            stats["revenue"][currency] += sale["value"]
    return {
        "variants": [
            {"variant_id": vid, **{k: (dict(v) if k == "revenue" else v) for k, v in stats.items()}}
            for vid, stats in sorted(variants.items())
        ],
        "groups": groups,
        "days": [{"day": d, **dict(v)} for d, v in sorted(days.items())],
    }
