"""What a visitor socket does about bans.

A banned visitor is not told: the widget sees `online: false` (welcome, availability),
so it shows the offline state; a `chat_start`, `invitation_accept` or `message` is
refused as when nobody can chat (`unavailable`, `NOBODY`), and an `offline_message` is
answered `offline_message_saved` as usual (the hourly quota counts it) but nothing is
stored and no webhook fires. Invitations are not sent to a banned socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.bans.matching import Ban
from server.hub.socket_loop import Refused
from server.hub.visitor import limits
from server.ids import new_id, now_ms

if TYPE_CHECKING:
    from server.bans.cache import BanList
    from server.hub.visitor.session import Handler, VisitorSession

NOBODY = "nobody is available to chat right now"
EVENT = "ban"
REFUSED_FRAMES = ("chat_start", "invitation_accept", "message")


def _bans(session: VisitorSession) -> BanList:
    return session.ws.app.state.bans


async def holds(session: VisitorSession, except_id: str | None = None) -> bool:
    return await _bans(session).holds(
        session.site["id"], session.visitor_id, session.address, except_id=except_id
    )


def event_payload(row: dict[str, Any], lifted: bool) -> dict[str, Any]:
    """What every visitor socket of the site hears when a ban is made or lifted."""
    return {
        "id": row["id"],
        "visitor_id": row["visitor_id"],
        "network": row["network"],
        "expires_ts": row["expires_ts"],
        "lifted": lifted,
    }


async def on_event(session: VisitorSession, payload: dict[str, Any]) -> None:
    """A ban was made or lifted on some node: this socket goes offline or back online."""
    if payload["lifted"]:
        if session.banned and not await holds(session, except_id=payload["id"]):
            session.banned = False
            online = await session.dispatch.online(session.site)
            session.conn.send({"type": "availability", "online": online})
        return
    ban = Ban.of(payload)
    if not session.banned and ban.holds(session.visitor_id, session.address, now_ms()):
        session.banned = True
        session.conn.send({"type": "availability", "online": False})


def _refusing(handler: Handler) -> Handler:
    async def guarded(session: VisitorSession, frame: Any) -> None:
        if await holds(session):
            session.banned = True
            raise Refused("unavailable", NOBODY)
        await handler(session, frame)

    return guarded


def _dropping(handler: Handler) -> Handler:
    async def guarded(session: VisitorSession, frame: Any) -> None:
        if not await holds(session):
            await handler(session, frame)
            return
        session.banned = True
        quota = limits.offline_messages(session)
        await limits.take(session, quota)  # a banned visitor is held to the same quota
        session.reply({"type": "offline_message_saved", "id": new_id("om")}, frame.ref)

    return guarded


def guard(handlers: dict[str, Handler]) -> dict[str, Handler]:
    """The visitor frame handlers with the ban checks in front of the ones it affects."""
    out = dict(handlers)
    for name in REFUSED_FRAMES:
        if name in out:
            out[name] = _refusing(out[name])
    if "offline_message" in out:
        out["offline_message"] = _dropping(out["offline_message"])
    return out
