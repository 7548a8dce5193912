"""The figures of `GET /sites/{id}/reports/summary`: what is read, and how it is summed.

Definitions (docs: the report covers conversations *created* in [from_ts, to_ts), and
everything about them — their messages, surveys — whenever it happened):

- chats: conversations created in the window; answered: an agent accepted them;
  missed: closed without an agent (`missed_reason`: `no_agent`, `visitor_left`, …).
- first response: from the visitor starting the chat (`created_ts`) to the first
  agent message that is not an internal note (`first_response_ts`); p50/p90 by nearest
  rank, in seconds.
- response time: for each run of visitor messages, from its first message to the next
  agent message (internal notes ignored); runs nobody answered are not counted. The
  average over all such replies, in seconds.
- duration: accepted → closed, average in seconds.
- CSAT %: share of `csat` answers (1–5) scoring 4 or 5. NPS: % of `nps` answers 9–10
  minus % 0–6. CES: average `ces` score. Thumbs up %: share of `thumbs` answers that are
  up (1), with its 95 % Wilson score interval (`thumbs_up_low_pct` … `thumbs_up_high_pct`;
  none without answers).
- by agent: the conversation's (last) agent; by department: its department ("" when
  none); by day: the calendar day of `created_ts` in the site's time zone.
- invitation funnel: invitations created in the window (`triggered`: every one not
  held out; `shown`: those the widget displayed; then by final status, `open` for
  those still on their way),
  chats that an invitation started, and conversions in the window credited to an
  invitation (`conversions`) or to a holdout group (`holdout_conversions`), with
  revenue per currency.

Reading is SQL; summing is plain Python over the rows (`summarise` is pure), so both
databases give the same numbers and percentiles need no dialect-specific SQL.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.chat.uplift import wilson
from server.store.tables import (
    conversations,
    conversions,
    invitations,
    messages,
    rules,
    surveys,
    users,
)

# Final statuses counted as they are; `triggered`/`shown` rows are still on their way
# (`open`), while the funnel's `triggered` and `shown` count every invitation that got
# that far whatever happened next.
FINAL_STATUSES = ("accepted", "dismissed", "expired", "withdrawn", "held_out")


async def load(conn: AsyncConnection, site_id: str, from_ts: int, to_ts: int) -> dict[str, Any]:
    """Every row the report needs, as plain dicts."""
    in_window = (
        conversations.c.site_id == site_id,
        conversations.c.created_ts >= from_ts,
        conversations.c.created_ts < to_ts,
    )
    conv_ids = select(conversations.c.id).where(*in_window)

    async def rows(query: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in (await conn.execute(query)).mappings()]

    convs = await rows(select(conversations).where(*in_window))
    msgs = await rows(
        select(messages.c.conversation_id, messages.c.seq, messages.c.author_kind, messages.c.ts)
        .where(messages.c.conversation_id.in_(conv_ids), messages.c.internal.is_(False))
        .order_by(messages.c.conversation_id, messages.c.seq)
    )
    answers = await rows(
        select(surveys.c.conversation_id, surveys.c.kind, surveys.c.score).where(
            surveys.c.conversation_id.in_(conv_ids)
        )
    )
    invites = await rows(
        select(invitations).where(
            invitations.c.site_id == site_id,
            invitations.c.created_ts >= from_ts,
            invitations.c.created_ts < to_ts,
        )
    )
    sales = await rows(
        select(conversions).where(
            conversions.c.site_id == site_id,
            conversions.c.ts >= from_ts,
            conversions.c.ts < to_ts,
        )
    )
    agent_ids = {c["agent_id"] for c in convs if c["agent_id"]}
    names = {}
    if agent_ids:
        found = await rows(
            select(users.c.id, users.c.display_name).where(users.c.id.in_(agent_ids))
        )
        names = {r["id"]: r["display_name"] for r in found}
    rule_ids = {i["rule_id"] for i in invites if i["rule_id"]}
    rule_names = {}
    if rule_ids:
        found = await rows(select(rules.c.id, rules.c.name).where(rules.c.id.in_(rule_ids)))
        rule_names = {r["id"]: r["name"] for r in found}
    return {
        "conversations": convs,
        "messages": msgs,
        "surveys": answers,
        "invitations": invites,
        "conversions": sales,
        "agent_names": names,
        "rule_names": rule_names,
    }


# -- pure summing ------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def _avg(values: list[float], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def reply_times(msgs: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds from each unanswered visitor run to the next agent message, per chat."""
    out: dict[str, list[float]] = defaultdict(list)
    waiting: dict[str, int] = {}
    for m in msgs:  # ordered by conversation, seq
        cid = m["conversation_id"]
        if m["author_kind"] == "visitor":
            waiting.setdefault(cid, m["ts"])
        elif m["author_kind"] == "agent" and cid in waiting:
            out[cid].append((m["ts"] - waiting.pop(cid)) / 1000)
    return out


def metrics(
    convs: list[dict[str, Any]],
    replies: dict[str, list[float]],
    answers: dict[str, list[tuple[str, int]]],
) -> dict[str, Any]:
    """The figures of one group of conversations."""
    first = [
        (c["first_response_ts"] - c["created_ts"]) / 1000
        for c in convs
        if c["first_response_ts"] is not None
    ]
    durations = [
        (c["closed_ts"] - c["accepted_ts"]) / 1000
        for c in convs
        if c["closed_ts"] is not None and c["accepted_ts"] is not None
    ]
    response = [t for c in convs for t in replies.get(c["id"], ())]
    scores: dict[str, list[int]] = defaultdict(list)
    for c in convs:
        for kind, score in answers.get(c["id"], ()):
            scores[kind].append(score)
    csat, nps, ces, thumbs = scores["csat"], scores["nps"], scores["ces"], scores["thumbs"]
    ups = sum(1 for s in thumbs if s == 1)
    low, high = wilson(ups, len(thumbs)) if thumbs else (None, None)
    reasons = Counter(c["missed_reason"] for c in convs if c["missed_reason"])
    return {
        "chats": len(convs),
        "answered": sum(1 for c in convs if c["accepted_ts"] is not None),
        "missed": sum(reasons.values()),
        "missed_reasons": dict(sorted(reasons.items())),
        "first_response_p50_s": _r(percentile(first, 50)),
        "first_response_p90_s": _r(percentile(first, 90)),
        "avg_response_s": _avg(response),
        "avg_duration_s": _avg(durations),
        "csat_pct": _r(100 * sum(1 for s in csat if s >= 4) / len(csat)) if csat else None,
        "csat_responses": len(csat),
        "nps": (
            _r(100 * (sum(1 for s in nps if s >= 9) - sum(1 for s in nps if s <= 6)) / len(nps))
            if nps
            else None
        ),
        "nps_responses": len(nps),
        "ces_avg": _avg(ces, 2),
        "ces_responses": len(ces),
        "thumbs_up_pct": _r(100 * ups / len(thumbs)) if thumbs else None,
        "thumbs_up_low_pct": _r(100 * low) if low is not None else None,
        "thumbs_up_high_pct": _r(100 * high) if high is not None else None,
        "thumbs_responses": len(thumbs),
    }


def local_day(ts: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).astimezone(zone).date().isoformat()


def funnel(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The invitation funnel overall, and one row per rule ("" for manual invites)."""

    def count(invites: list[dict[str, Any]], sales: list[dict[str, Any]], chats: int) -> dict:
        statuses = Counter(i["status"] for i in invites)
        revenue: dict[str, float] = defaultdict(float)
        credited = [s for s in sales if s["invitation_id"] and not s["held_out"]]
        for s in credited:
            revenue[s["currency"] or ""] += s["value"]
        return {
            "triggered": sum(1 for i in invites if i["status"] != "held_out"),
            "shown": sum(1 for i in invites if i["shown_ts"] is not None),
            **{s: statuses.get(s, 0) for s in FINAL_STATUSES},
            "open": statuses.get("triggered", 0) + statuses.get("shown", 0),
            "chats": chats,
            "conversions": len(credited),
            "holdout_conversions": sum(1 for s in sales if s["held_out"]),
            "revenue": {k: round(v, 2) for k, v in sorted(revenue.items())},
        }

    invites, sales = data["invitations"], data["conversions"]
    chats = [c for c in data["conversations"] if c["invitation_id"] or c["rule_id"]]
    overall = count(invites, sales, len(chats))
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in invites:
        by_rule[i["rule_id"] or ""].append(i)
    rows = []
    for rule_id in sorted(by_rule):
        rule_sales = [s for s in sales if (s["rule_id"] or "") == rule_id and rule_id]
        rule_chats = sum(1 for c in chats if (c["rule_id"] or "") == rule_id)
        rows.append(
            {
                "rule_id": rule_id,
                "rule_name": data["rule_names"].get(rule_id, "manual" if not rule_id else ""),
                **count(by_rule[rule_id], rule_sales, rule_chats),
            }
        )
    return overall, rows


def summarise(data: dict[str, Any], timezone: str) -> dict[str, Any]:
    """The whole report from `load`'s rows (pure)."""
    convs = data["conversations"]
    replies = reply_times(data["messages"])
    answers: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for s in data["surveys"]:
        answers[s["conversation_id"]].append((s["kind"], s["score"]))
    zone = ZoneInfo(timezone)

    def grouped(key: Any) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in convs:
            value = key(c)
            if value is not None:
                groups[value].append(c)
        return dict(sorted(groups.items()))

    names = data["agent_names"]
    overall_funnel, rule_rows = funnel(data)
    return {
        "totals": metrics(convs, replies, answers),
        "agents": [
            {"agent_id": k, "name": names.get(k, ""), **metrics(v, replies, answers)}
            for k, v in grouped(lambda c: c["agent_id"]).items()
        ],
        "departments": [
            {"department": k, **metrics(v, replies, answers)}
            for k, v in grouped(lambda c: c["department"] or "").items()
        ],
        "days": [
            {"day": k, **metrics(v, replies, answers)}
            for k, v in grouped(lambda c: local_day(c["created_ts"], zone)).items()
        ],
        "funnel": overall_funnel,
        "rules": rule_rows,
    }
