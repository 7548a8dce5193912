"""The engine's view of a site right now: agents online, free slots, pending
invitations and queued chats, and the predicted wait's inputs (chat slots, recent
arrival rate, mean chat duration — `server/chat/wait_inputs.py`), per department
(cached for a second per node; the reload after expiry is shared by every caller that
needs it meanwhile)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from invitations import DepartmentLoad, SiteContext
from server.broker.base import Broker
from server.chat import pacing, presence
from server.chat.wait_inputs import WaitInputs
from server.single_flight import SingleFlight
from server.store.database import Database
from server.store.tables import conversations

CACHE_S = 1.0


class SiteLoads:
    def __init__(self, db: Database, broker: Broker, wait: WaitInputs | None = None) -> None:
        self.db = db
        self.broker = broker
        self.wait = wait or WaitInputs(db)
        self._cache: dict[str, tuple[SiteContext, float]] = {}
        self._loads: SingleFlight[str, SiteContext] = SingleFlight()
        self._changes: dict[str, int] = {}  # invalidations per site

    def invalidate(self, site_id: str) -> None:
        self._cache.pop(site_id, None)
        self._changes[site_id] = self._changes.get(site_id, 0) + 1
        self._loads.forget(site_id)

    async def context(self, site: dict[str, Any]) -> SiteContext:
        cached = self._cache.get(site["id"])
        if cached and time.monotonic() - cached[1] < CACHE_S:
            return cached[0]
        return await self._loads.run(site["id"], lambda: self._load(site))

    async def _load(self, site: dict[str, Any]) -> SiteContext:
        changes = self._changes.get(site["id"], 0)
        agents = [a for a in await presence.agents(self.broker, site["id"]) if a.status == "online"]
        query = (
            select(conversations.c.department, func.count())
            .where(conversations.c.site_id == site["id"], conversations.c.status == "queued")
            .group_by(conversations.c.department)
        )
        async with self.db.read() as conn:
            queued = {dept: int(n) for dept, n in await conn.execute(query)}
        rates = await self.wait.rates(site["id"], time.time())
        loads = {}
        for dept in ["", *site["departments"]]:
            serving = [a for a in agents if a.serves(dept or None)]
            arrivals_per_s, handle_time_s = rates.for_department(dept)
            loads[dept] = DepartmentLoad(
                agents_online=len(serving),
                free_slots=sum(a.free for a in serving),
                pending_invitations=await pacing.pending(self.broker, site["id"], dept or None),
                queued_chats=sum(queued.values()) if not dept else queued.get(dept, 0),
                servers=sum(a.capacity for a in serving),
                arrivals_per_s=arrivals_per_s,
                handle_time_s=handle_time_s,
            )
        settings = site.get("settings") or {}
        context = SiteContext(
            departments=loads,
            default_lang=site["default_lang"],
            max_invitations_per_visit=settings.get("max_invitations_per_visit"),
            max_invitations_per_day=settings.get("max_invitations_per_day"),
        )
        if changes == self._changes.get(site["id"], 0):  # not kept if it read the old state
            self._cache[site["id"]] = (context, time.monotonic())
        return context
