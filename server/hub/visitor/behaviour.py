"""A visitor's behaviour frames — `page_view`, `track`, `cart`, `attributes` — and
behaviour the site's backend posts for it: recorded for backtests, folded into the
engine's facts (`server/chat/proactive.py`), conversions attributed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.chat import attribution, conversations
from server.ids import now_ms

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession


async def on_behaviour(session: VisitorSession, frame: Any) -> None:
    site = session.site
    data = frame.model_dump(mode="json", exclude={"type", "ref"}, exclude_none=True)
    now = now_ms()
    session.services.visit_log.append(site["id"], session.visitor_id, now, frame.type, data)
    await session.proactive.event(site, session.visitor_id, {"type": frame.type, **data})
    if frame.type == "track" and frame.event == "conversion":
        await attribution.record(
            session.services,
            session.events,
            site,
            session.visitor_id,
            None,
            data.get("props") or {},
            now,
        )
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
        )


async def server_event(session: VisitorSession, payload: dict[str, Any]) -> None:
    """A behaviour event the site's backend posted (REST) for this visitor."""
    await session.proactive.event(session.site, session.visitor_id, payload["event"])


HANDLERS: dict[str, Handler] = {
    kind: on_behaviour for kind in ("page_view", "track", "cart", "attributes")
}
