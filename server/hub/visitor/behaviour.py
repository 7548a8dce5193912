"""A visitor's behaviour frames — `page_view`, `track`, `cart`, `attributes` — and
behaviour the site's backend posts for it: recorded for backtests, folded into the
engine's facts (`server/chat/proactive.py`), conversions attributed."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from server.chat import attribution, conversations
from server.chat.visitor_bounds import OverBound, VisitorBounds
from server.errors import ApiError
from server.hub.ratelimit import TokenBucket
from server.hub.socket_loop import Refused
from server.hub.visitor import limits
from server.hub.visitor.limits import HOUR_S
from server.ids import now_ms

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession

log = logging.getLogger("beckon.visitor")


def _take_event(session: VisitorSession) -> None:
    """Each behaviour frame is a row of the visit log: a socket may send so many per
    hour (a bucket that starts full and refills over the hour)."""
    limit = session.services.settings.visitor_events_per_hour
    budget = session.events_budget
    if budget is None:
        budget = session.events_budget = TokenBucket(limit / HOUR_S, limit)
    if not budget.take(time.monotonic()):
        raise Refused("rate_limited", f"at most {limit} behaviour events per hour per socket")


async def on_behaviour(session: VisitorSession, frame: Any) -> None:
    _take_event(session)
    site = session.site
    data = frame.model_dump(mode="json", exclude={"type", "ref"}, exclude_none=True)
    now = now_ms()
    # The bounds are checked on the visitor's live facts before anything is kept: past
    # one, the frame is refused and neither the facts nor the visit log see it.
    bounds = VisitorBounds.from_settings(session.services.settings)
    event = {"type": frame.type, **data}
    conversion = frame.type == "track" and frame.event == "conversion"
    if conversion:  # each one is a stored row: counted before anything is kept
        await limits.take(session, limits.conversions(session))
    try:
        await session.proactive.event(site, session.visitor_id, event, check=bounds.check)
    except OverBound as exc:
        raise Refused(exc.code, exc.message) from None
    session.services.visit_log.append(site["id"], session.visitor_id, now, frame.type, data)
    if conversion:
        await _record_conversion(session, data.get("props") or {}, now)
    if frame.type == "attributes":
        attrs = dict(frame.attributes)
        name, email = attrs.get("name"), attrs.get("email")
        await conversations.ensure_visitor(
            session.db,
            {
                "id": session.visitor_id,
                "site_id": site["id"],
                "attributes": attrs,
                "name": name if isinstance(name, str) else None,
                "email": email if isinstance(email, str) else None,
                "last_seen_ts": now,
            },
            bounds.max_attributes,
        )


async def _record_conversion(session: VisitorSession, props: dict[str, Any], now: int) -> None:
    try:
        await attribution.record(
            session.services, session.events, session.site, session.visitor_id, None, props, now
        )
    except attribution.DuplicateOrder:
        await limits.give_back(session, limits.conversions(session))
        raise Refused("conflict", "this order_id was already recorded") from None


async def server_event(session: VisitorSession, payload: dict[str, Any]) -> None:
    """A behaviour event the site's backend posted (REST) for this visitor."""
    try:
        await session.proactive.event(session.site, session.visitor_id, payload["event"])
    except ApiError as exc:  # REST checked the cap first; a race past it is dropped here
        log.info("server event for %s not applied: %s", session.visitor_id, exc)


HANDLERS: dict[str, Handler] = {
    kind: on_behaviour for kind in ("page_view", "track", "cart", "attributes")
}
