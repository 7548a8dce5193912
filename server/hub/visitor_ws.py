"""`GET /ws/visitor?site=SITE_KEY` — the widget's socket (protocol.md, visitor socket).

The endpoint only: origin check, the client address's socket limits (4429), the hello,
then frames until the socket ends. What a socket knows and how each frame type is
handled live in `server/hub/visitor/`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.websockets import WebSocket

from server.broker.base import BrokerUnavailable
from server.hub.address_limits import CLOSE_TOO_MANY, AddressLimits, socket_client_ip
from server.hub.hub import Hub
from server.hub.origins import origin_allowed
from server.hub.socket_loop import run_frames
from server.hub.visitor import hello
from server.hub.visitor.session import VisitorSession
from server.services import Services
from server.wire.frames import parse_visitor_frame

log = logging.getLogger("beckon.visitor")
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TRY_AGAIN = 1013  # RFC 6455: try again later


async def visitor_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    hub: Hub = ws.app.state.hub

    site_key = ws.query_params.get("site", "")
    site = await ws.app.state.sites_by_key.get(site_key) if site_key else None
    await ws.accept()
    if site is None:
        await ws.close(CLOSE_FORBIDDEN_ORIGIN, "unknown site")
        return
    if not origin_allowed(ws.headers.get("origin"), site["allowed_origins"]):
        await ws.close(CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    address = socket_client_ip(ws, services.settings)
    limits: AddressLimits = ws.app.state.address_limits
    try:
        refusal = await limits.open_socket(address)
    except BrokerUnavailable as exc:
        # The address's sockets cannot be counted: no socket without the Broker anyway.
        log.warning("visitor socket refused, broker unavailable: %s", exc)
        await ws.close(CLOSE_TRY_AGAIN, "temporarily unavailable; reconnect")
        return
    if refusal is not None:
        services.metrics.errors.labels("address_limit").inc()
        await ws.close(CLOSE_TOO_MANY, refusal)
        return
    try:
        await _serve(ws, services, hub, site, address)
    finally:
        await limits.close_socket(address)


async def _serve(
    ws: WebSocket, services: Services, hub: Hub, site: dict[str, Any], address: str
) -> None:
    session = VisitorSession(ws, services, hub, site, address)
    hub.add(session.conn)
    try:
        first = await hello.wait_hello(session)
        if first is None:
            return
        await hello.on_hello(session, first)
        del first  # an idle socket keeps nothing of its hello
        await run_frames(ws, session.conn, parse_visitor_frame, session.handle)
    finally:
        if session.visitor_id is not None:
            await session.proactive.detach(session.visitor_id)
        hub.visitor_sockets_release(session.visitor_id)
        await hub.remove(session.conn)
