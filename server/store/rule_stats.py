"""Per rule (version) and variant: the funnel, chats, credited conversions and revenue,
by day; the invited and held-out groups for uplift; and each group member's revenue
(per currency, inside their attribution window) for revenue uplift per variant."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.store.database import Database
from server.store.tables import conversations, conversions, invitations

DAY_MS = 86_400_000
FUNNEL = ("triggered", "shown", "accepted", "dismissed", "expired", "withdrawn")


def _day(ts_ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz).date().isoformat()


def _variant() -> dict[str, Any]:
    return {**dict.fromkeys(FUNNEL, 0), "chats": 0, "conversions": 0, "revenue": defaultdict(float)}


def _group(members: dict[str, int]) -> dict[str, Any]:
    return {
        "visitors": len(members),
        "converted": set(),
        "conversions": 0,
        "revenue": defaultdict(float),
    }


async def _load(
    db: Database,
    site: dict[str, Any],
    rule_id: str,
    from_ts: int,
    to_ts: int,
    version: int | None,
    window_ms: int,
) -> tuple[list, list, list]:
    inv = invitations
    query = select(inv).where(
        inv.c.rule_id == rule_id, inv.c.created_ts >= from_ts, inv.c.created_ts < to_ts
    )
    if version is not None:
        query = query.where(inv.c.rule_version == version)
    chat_query = select(conversations.c.id, conversations.c.variant_id).where(
        conversations.c.rule_id == rule_id,
        conversations.c.created_ts >= from_ts,
        conversations.c.created_ts < to_ts,
    )
    # Every conversion of the site that may fall in some group member's window.
    sale_query = select(conversions).where(
        conversions.c.site_id == site["id"],
        conversions.c.ts >= from_ts,
        conversions.c.ts < to_ts + window_ms,
    )
    async with db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        chats = [dict(r) for r in (await conn.execute(chat_query)).mappings()]
        sales = [dict(r) for r in (await conn.execute(sale_query)).mappings()]
    return rows, chats, sales


def _would_count(
    sale: dict[str, Any],
    entered: dict[str, dict[str, int]],
    rule_id: str,
    version: int | None,
    window_ms: int,
) -> bool:
    """Whether a sale would have counted for this rule: in a group member's window, or
    credited to the rule (version)."""
    for members in entered.values():
        since = members.get(sale["visitor_id"])
        if since is not None and since <= sale["ts"] <= since + window_ms:
            return True
    credited = sale["rule_id"] == rule_id and not sale["held_out"]
    return credited and (version is None or sale["rule_version"] == version)


async def rule_stats(
    db: Database, site: dict[str, Any], rule_id: str, from_ts: int, to_ts: int, version: int | None
) -> dict[str, Any]:
    options = site.get("settings") or {}
    window_ms = int(options.get("attribution_window_days", 7)) * DAY_MS
    rows, chats, sales = await _load(db, site, rule_id, from_ts, to_ts, version, window_ms)
    # Widget-reported conversions can be forged by any visitor: out of conversions,
    # revenue and uplift unless the site trusts them; counted apart so none vanish.
    distrust = not options.get("trust_client_conversions", False)
    untrusted = 0
    tz = ZoneInfo(site["timezone"])
    variants: dict[str, dict[str, Any]] = defaultdict(_variant)
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # When each visitor entered a group: conversions count from then, for the window.
    entered: dict[str, dict[str, int]] = {"invited": {}, "holdout": {}}
    # The variant of each invited visitor's first invitation (revenue per variant).
    variant_of: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r["created_ts"]):
        day = days[_day(row["created_ts"], tz)]
        members = entered["holdout" if row["status"] == "held_out" else "invited"]
        members.setdefault(row["visitor_id"], row["created_ts"])
        if row["status"] != "held_out":
            variant_of.setdefault(row["visitor_id"], row["variant_id"] or "-")
        if row["status"] == "held_out":
            day["held_out"] += 1
            continue
        stats = variants[row["variant_id"] or "-"]
        stats["triggered"] += 1
        day["triggered"] += 1
        # An answered invitation that the widget displayed counts as shown too.
        if row["shown_ts"] is not None:
            stats["shown"] += 1
            day["shown"] += 1
        if row["status"] in FUNNEL[2:]:
            stats[row["status"]] += 1
            day[row["status"]] += 1
    for chat in chats:
        variants[chat["variant_id"] or "-"]["chats"] += 1
    groups = {name: _group(members) for name, members in entered.items()}
    # Revenue per member in their window, per currency: the input of revenue uplift.
    per_visitor: dict[str, dict[str, dict[str, float]]] = {name: {} for name in entered}
    for sale in sales:
        if distrust and sale["client_reported"]:
            untrusted += _would_count(sale, entered, rule_id, version, window_ms)
            continue
        currency = sale["currency"] or "-"
        # Uplift compares every invited visitor with every held-out one, accepted or not
        # (intent to treat): a conversion counts for a group inside the member's window.
        for name, members in entered.items():
            since = members.get(sale["visitor_id"])
            if since is not None and since <= sale["ts"] <= since + window_ms:
                groups[name]["conversions"] += 1
                groups[name]["converted"].add(sale["visitor_id"])
                groups[name]["revenue"][currency] += sale["value"]
                spent = per_visitor[name].setdefault(sale["visitor_id"], {})
                spent[currency] = spent.get(currency, 0.0) + sale["value"]
        # A variant is credited only through an accepted invitation (attribution).
        credited = sale["rule_id"] == rule_id and not sale["held_out"]
        if credited and (version is None or sale["rule_version"] == version):
            days[_day(sale["ts"], tz)]["conversions"] += 1
            stats = variants[sale["variant_id"] or "-"]
            stats["conversions"] += 1
            stats["revenue"][currency] += sale["value"]
    return {
        "variants": [
            {"variant_id": vid, **stats, "revenue": dict(stats["revenue"])}
            for vid, stats in sorted(variants.items())
        ],
        "groups": groups,
        "revenue": {
            "holdout": {v: per_visitor["holdout"].get(v, {}) for v in entered["holdout"]},
            "invited": {v: per_visitor["invited"].get(v, {}) for v in entered["invited"]},
            "variant_of": variant_of,
        },
        "days": [{"day": d, **dict(v)} for d, v in sorted(days.items())],
        "client_reported_excluded": untrusted,
    }
