"""Routing meets the sockets: run the Router for a site and tell everyone what changed —
assigned agents, offers, queue positions and waits for visitors, site availability."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from server.chat import presence, queue
from server.chat.assignment import Router
from server.chat.business_hours import is_open
from server.chat.payloads import conversation_frame
from server.chat.visitor_briefs import VisitorBriefs
from server.hub.hub import Hub, agent_channel, conv_channel
from server.store import conversations as conv_queries
from server.store import sites as site_queries
from server.store import users as user_queries
from server.store.database import Database

log = logging.getLogger("beckon.dispatch")


def visitors_channel(site_id: str) -> str:
    """Every visitor socket of the site listens here (availability)."""
    return f"site-visitors:{site_id}"


class Dispatch:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        router: Router,
        estimator: queue.WaitEstimator,
        briefs: VisitorBriefs,
    ) -> None:
        self.db = db
        self.hub = hub
        self.router = router
        self.estimator = estimator
        self.briefs = briefs
        self._last_availability: dict[str, bool] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._again: set[str] = set()  # sites whose state changed during a round

    async def site(self, site_id: str) -> dict[str, Any] | None:
        async with self.db.read() as conn:
            return await site_queries.get_site(conn, site_id)

    async def route(self, site_id: str) -> None:
        """Assign or offer what can be, then refresh positions and availability.

        One routing round per site at a time on this node, so its frames go out in the
        order the decisions were made (other nodes' frames carry `version`)."""
        lock = self._locks.setdefault(site_id, asyncio.Lock())
        if lock.locked():
            # A round is running or waiting: ask for one more after it and return. Many
            # events arriving together (a burst of chat_starts) then cost two rounds, not
            # one each — the second round reads the Store after all of them.
            self._again.add(site_id)
            return
        async with lock:
            while True:
                self._again.discard(site_id)
                await self._route(site_id)
                if site_id not in self._again:
                    break

    async def _route(self, site_id: str) -> None:
        site = await self.site(site_id)
        if site is None:
            return
        async with self.db.read() as conn:
            queued = await conv_queries.list_queued(conn, [site_id])
        assigned, offers = await self.router.dispatch(site, queued)
        for conv in assigned:
            await self.announce_assignment(conv)
        briefs = await self.briefs.many(conv["visitor_id"] for _, conv in offers) if offers else {}
        for agent_id, conv in offers:
            await self.hub.publish(
                agent_channel(agent_id),
                "offer",
                {
                    "type": "offer",
                    "conversation_id": conv["id"],
                    "visitor": briefs[conv["visitor_id"]],
                    "department": conv["department"],
                    "expires_ts": conv["offer_expires_ts"],
                },
            )
        if assigned or offers or queued:
            await self.hub.publish(f"site:{site_id}", "queue", {"site_id": site_id})
        await self.positions(site)
        await self.availability(site)

    async def route_to(self, conv: dict[str, Any], agent_id: str) -> bool:
        """Try to give `conv` to `agent_id` first (then `route` does the rest)."""
        assigned = await self.router.claim_for(conv, agent_id)
        if assigned is not None:
            await self.announce_assignment(assigned)
        return assigned is not None

    async def announce_assignment(self, conv: dict[str, Any]) -> None:
        async with self.db.read() as conn:
            agent = await user_queries.get_user(conn, conv["agent_id"])
        frame = conversation_frame(conv, agent)
        # The visitor brief is for the console only (the conversation channel reaches
        # the visitor's sockets too).
        brief = await self.briefs.one(conv["visitor_id"])
        await self.hub.publish(
            agent_channel(conv["agent_id"]), "assigned", {**frame, "visitor": brief}
        )
        await self.hub.publish(conv_channel(conv["id"]), "conversation", frame)

    async def positions(self, site: dict[str, Any]) -> None:
        """Send each waiting visitor its place in the queue and the expected wait."""
        async with self.db.read() as conn:
            queued = await conv_queries.list_queued(conn, [site["id"]])
        if not queued:
            return
        agents = await presence.agents(self.router.broker, site["id"])
        # Places come from the Store's order (the queue's truth); each department has
        # its own line.
        places: dict[str | None, int] = {}
        for conv in queued:
            place = places[conv["department"]] = places.get(conv["department"], 0) + 1
            wait = await self.estimator.estimate_s(site["id"], place, agents, conv["department"])
            await self.hub.publish(
                conv_channel(conv["id"]),
                "conversation",
                conversation_frame(conv, None, queue_position=place, estimated_wait_s=wait),
            )

    async def online(self, site: dict[str, Any], department: str | None = None) -> bool:
        if not is_open(site.get("business_hours"), site["timezone"], time.time()):
            return False
        return presence.available(await presence.agents(self.router.broker, site["id"]), department)

    async def availability(self, site: dict[str, Any]) -> None:
        online = await self.online(site)
        if self._last_availability.get(site["id"]) == online:
            return
        self._last_availability[site["id"]] = online
        await self.hub.publish(
            visitors_channel(site["id"]), "availability", {"type": "availability", "online": online}
        )
