"""Conversions and who earned them (docs/rules.md, "Measuring").

A conversion within the site's attribution window after an accepted invitation is
credited, with its value, to that invitation's rule version and variant; a visitor
held out of a rule in the window is credited to that rule's holdout group instead.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.chat.decision_recorder import record_conversion
from server.events import EventBus
from server.ids import new_id
from server.services import Services
from server.store.tables import conversions, invitations

DAY_MS = 86_400_000


class DuplicateOrder(Exception):
    """This order id was already recorded for the site."""


async def record(
    services: Services,
    events: EventBus,
    site: dict[str, Any],
    visitor_id: str | None,
    user_id: str | None,
    props: dict[str, Any],
    ts: int,
    *,
    client_reported: bool = True,
) -> dict[str, Any]:
    """Store one conversion and its attribution. Raises DuplicateOrder.

    `client_reported`: the widget sent it (anyone with the page open can), so it is
    kept out of rule stats and uplift unless the site trusts client conversions. Only
    the site's backend (`POST /sites/{id}/events`) passes False — untrusted unless said."""
    value = props.get("value", 0)
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        value = 0.0
    window_ms = int((site.get("settings") or {}).get("attribution_window_days", 7)) * DAY_MS
    credit = await _credit(services, site["id"], visitor_id, ts - window_ms, ts)
    row = {
        "id": new_id("co"),
        "site_id": site["id"],
        "visitor_id": visitor_id,
        "user_id": user_id,
        "ts": ts,
        "value": float(value),
        "currency": props.get("currency") if isinstance(props.get("currency"), str) else None,
        "order_id": str(props["order_id"])[:200] if props.get("order_id") else None,
        "client_reported": client_reported,
        **credit,
    }
    try:
        async with services.db.write() as conn:
            await conn.execute(conversions.insert().values(**row))
    except IntegrityError:
        raise DuplicateOrder(row["order_id"]) from None
    events.emit("conversion.recorded", row)
    settings = site.get("settings") or {}
    trusted = not client_reported or settings.get("trust_client_conversions", False)
    if row["invitation_id"] and not row["held_out"] and trusted and visitor_id:
        # The rule's funnel (decisions over time) ends with this conversion.
        await record_conversion(
            services.db, services.decision_log, site["id"], visitor_id, row["invitation_id"], ts
        )
    return row


async def _credit(
    services: Services, site_id: str, visitor_id: str | None, since: int, until: int
) -> dict[str, Any]:
    none = {
        "invitation_id": None,
        "rule_id": None,
        "rule_version": None,
        "variant_id": None,
        "held_out": False,
    }
    if visitor_id is None:
        return none
    query = (
        select(invitations)
        .where(
            invitations.c.site_id == site_id,
            invitations.c.visitor_id == visitor_id,
            invitations.c.status.in_(("accepted", "held_out")),
            invitations.c.created_ts >= since,
            invitations.c.created_ts <= until,
        )
        .order_by(invitations.c.created_ts.desc())
        .limit(20)
    )
    async with services.db.read() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    # An accepted invitation wins over a holdout; the latest of each kind.
    for status in ("accepted", "held_out"):
        for row in rows:
            if row["status"] == status and row["rule_id"]:
                return {
                    "invitation_id": row["id"],
                    "rule_id": row["rule_id"],
                    "rule_version": row["rule_version"],
                    "variant_id": row["variant_id"],
                    "held_out": status == "held_out",
                }
    return none
