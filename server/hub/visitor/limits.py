"""The visitor socket's side of the quotas on costly frames (docs/security.md,
"Visitor-controlled state" and "Per-IP limits"): new conversations and offline
messages, counted per visitor and per client address across sockets and nodes in the
Broker, turned into the `rate_limited` error a client sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.chat import quotas
from server.chat.quotas import Quota
from server.hub.socket_loop import Refused

if TYPE_CHECKING:
    from server.hub.visitor.session import VisitorSession

HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class CostlyFrame:
    what: str  # as the client reads it: "new conversations"
    per_visitor: Quota
    per_address: Quota


def chat_starts(session: VisitorSession) -> CostlyFrame:
    settings = session.services.settings
    return CostlyFrame(
        "new conversations",
        Quota("chat_start", settings.visitor_chat_starts_per_hour, HOUR_S),
        Quota("chat_start", settings.ip_chat_starts_per_hour, HOUR_S),
    )


def offline_messages(session: VisitorSession) -> CostlyFrame:
    settings = session.services.settings
    return CostlyFrame(
        "offline messages",
        Quota("offline_message", settings.visitor_offline_messages_per_hour, HOUR_S),
        Quota("offline_message", settings.ip_offline_messages_per_hour, HOUR_S),
    )


def conversions(session: VisitorSession) -> CostlyFrame:
    settings = session.services.settings
    return CostlyFrame(
        "conversions",
        Quota("conversion", settings.visitor_conversions_per_hour, HOUR_S),
        Quota("conversion", settings.ip_conversions_per_hour, HOUR_S),
    )


async def take(session: VisitorSession, frame: CostlyFrame) -> None:
    """Count one for this visitor and its address, or raise `rate_limited` (and count
    nothing)."""
    broker = session.services.broker
    quota = frame.per_visitor
    if not await quotas.take(broker, quota, "v", session.visitor_id):
        raise Refused("rate_limited", f"at most {quota.limit} {frame.what} per hour per visitor")
    quota = frame.per_address
    if not await quotas.take(broker, quota, "ip", session.address):
        await quotas.give_back(broker, frame.per_visitor, "v", session.visitor_id)
        raise Refused(
            "rate_limited", f"at most {quota.limit} {frame.what} per hour from this address"
        )


async def give_back(session: VisitorSession, frame: CostlyFrame) -> None:
    """What `take` counted did not happen (e.g. the visitor's chat was already open)."""
    broker = session.services.broker
    await quotas.give_back(broker, frame.per_visitor, "v", session.visitor_id)
    await quotas.give_back(broker, frame.per_address, "ip", session.address)
