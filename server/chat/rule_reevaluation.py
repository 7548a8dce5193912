"""A site's rules changed (one enabled, a new version saved, a new rule): the visitors
on the site now are looked at again at once, so one who matches now is invited now —
not at their next page view or timer, which may never come for one reading a page.

Each node looks at its own visitors (those whose socket it holds); every node hears of
the change through the rule cache's announcement. Changes in quick succession coalesce:
one pass per site at a time, and one more if the rules changed during it."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger("beckon.proactive")


class Engine(Protocol):
    local: dict[str, dict]

    async def reevaluate(self, visitor_id: str) -> None: ...


class RuleChangeReevaluator:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def rules_changed(self, site_id: str) -> None:
        """Called by the rule cache for each change it hears of (sync, on the loop)."""
        if site_id in self._running:
            self._again.add(site_id)
            return
        self._running[site_id] = asyncio.get_running_loop().create_task(self._pass(site_id))

    async def _pass(self, site_id: str) -> None:
        try:
            while True:
                self._again.discard(site_id)
                visitors = [v for v, s in list(self.engine.local.items()) if s["id"] == site_id]
                for visitor_id in visitors:
                    if visitor_id not in self.engine.local:
                        continue  # left meanwhile
                    try:
                        await self.engine.reevaluate(visitor_id)
                    except Exception as exc:  # one visitor's failure must not stop the pass
                        log.warning("visitor %s not re-evaluated: %r", visitor_id, exc)
                if site_id not in self._again:
                    return
        finally:
            self._running.pop(site_id, None)

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
