"""What consoles watching a site's live visitors receive: at most one `visitor` frame
per visitor per second from each node, carrying the latest summary.

Every page view, cart or attributes event changes the summary; sent whole each time, a
visitor flooding events multiplied its bytes into every watching console (20 page
views were 60 MB to one console). Now the first change in a window goes out at once,
later ones in the window replace each other, and the last goes out when the window
ends — a console is never more than a second behind, and a visitor costs it at most
one summary (bounded by the attribute bounds) per second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from invitations.signals import summary as signal_summary
from server.chat.visitor_state import VisitorState

log = logging.getLogger("beckon.watch")
WATCH_INTERVAL_S = 1.0
PublishChannel = Callable[[str, str, dict[str, Any]], Awaitable[Any]]


def watch_channel(site_id: str) -> str:
    """Agents watching the site's live visitor list."""
    return f"watch:{site_id}"


def visitor_summary(state: VisitorState, now: float) -> dict[str, Any]:
    """What the console's live list and context panel show about a visitor."""
    f = state.facts
    return {
        "id": f.visitor_id,
        "name": f.name,
        "email": f.email,
        "identified": f.identified,
        "returning": f.visits > 1,
        "visits": f.visits,
        "chats": f.chats,
        "page": {
            "url": f.page_url,
            "title": f.page_title,
            "since_ts": int(f.page_started * 1000) if f.page_started else None,
        },
        "visit": {
            "started_ts": int(f.visit_started * 1000) if f.visit_started else None,
            "page_views": f.visit_page_views,
            "referrer": f.visit_referrer,
            "landing_url": f.visit_landing_url,
            "utm": {"source": f.utm_source, "medium": f.utm_medium, "campaign": f.utm_campaign},
        },
        "device": f.device,
        "lang": f.lang_tag,
        "tz": f.tz,
        "location": {"country": f.country} if f.country else None,
        "cart": {"value": f.cart_value, "currency": f.cart_currency, "items": f.cart_items}
        if f.cart_value is not None
        else None,
        "attributes": dict(f.attrs),
        "signals": signal_summary(f, now),
        "in_chat": state.counters.open_conversation,
        "invitation": state.invitation,
    }


class Coalescer:
    """Pure: at most one item per key per `interval_s` (the caller passes the time, in
    seconds). Items offered within a key's window replace each other; the caller
    flushes the last one when `offer` says the window ends."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._sent_at: dict[str, float] = {}
        self._pending: dict[str, Any] = {}
        self._pruned_at = float("-inf")

    def offer(self, key: str, item: Any, now: float) -> tuple[Any | None, float | None]:
        """(item to send now, None) or (None, when to flush): the flush time is given
        only for the first item held in a window (one timer per key at a time)."""
        sent_at = self._sent_at.get(key)
        if key in self._pending:
            self._pending[key] = item
            return None, None
        if sent_at is None or now - sent_at >= self.interval_s:
            self._sent_at[key] = now
            self._prune(now)
            return item, None
        self._pending[key] = item
        return None, sent_at + self.interval_s

    def flush(self, key: str, now: float) -> Any | None:
        """The item held for `key` (None if none): it is sent now."""
        item = self._pending.pop(key, None)
        if item is not None:
            self._sent_at[key] = now
        return item

    def held(self, key: str) -> Any | None:
        """The item waiting for the end of `key`'s window, if any (the caller may update it)."""
        return self._pending.get(key)

    def forget(self, key: str) -> None:
        self._sent_at.pop(key, None)
        self._pending.pop(key, None)

    def _prune(self, now: float) -> None:
        # Keys whose window is over need no memory: keep the map to live visitors. At
        # most once a window: a scan per send, with thousands of visitors all inside
        # their window, was a tenth of a busy node's time.
        if now - self._pruned_at < self.interval_s:
            return
        if len(self._sent_at) > 2 * len(self._pending) + 1024:
            self._pruned_at = now
            for key, sent_at in list(self._sent_at.items()):
                if now - sent_at >= self.interval_s and key not in self._pending:
                    del self._sent_at[key]


class WatchFeed:
    """One per node: publishes `visitor` and `visitor_left` to the watch channels."""

    def __init__(
        self,
        publish_channel: PublishChannel,
        interval_s: float = WATCH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish_channel
        self._clock = clock
        self._coalescer = Coalescer(interval_s)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def visitor(self, site_id: str, visitor_id: str, summary: dict[str, Any]) -> None:
        payload = {"type": "visitor", "site_id": site_id, "visitor": summary}
        now = self._clock()
        send, flush_at = self._coalescer.offer(visitor_id, payload, now)
        if send is not None:
            await self._publish(watch_channel(site_id), "visitor", send)
        elif flush_at is not None:
            loop = asyncio.get_running_loop()
            self._timers[visitor_id] = loop.call_later(
                max(0.0, flush_at - now), self._flush, visitor_id
            )

    async def invitation_changed(self, site_id: str, state: VisitorState) -> None:
        """The visitor's invitation or chat began or ended without a page event (a rule's
        timer, an agent's invitation, an answer, an expiry): the live list marks it now.
        Sent at once (invitations are few per visitor), and a summary still held for the
        window is brought up to date so it does not undo the mark when it goes out."""
        visitor_id = state.facts.visitor_id
        marks = {"invitation": state.invitation, "in_chat": state.counters.open_conversation}
        held = self._coalescer.held(visitor_id)
        if held is not None:
            held["visitor"] = {**held["visitor"], **marks}
        await self._publish(
            watch_channel(site_id),
            "visitor_invitation",
            {"type": "visitor_invitation", "site_id": site_id, "visitor_id": visitor_id, **marks},
        )

    def _flush(self, visitor_id: str) -> None:
        self._timers.pop(visitor_id, None)
        payload = self._coalescer.flush(visitor_id, self._clock())
        if payload is None:
            return
        task = asyncio.create_task(self._publish_late(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_late(self, payload: dict[str, Any]) -> None:
        try:
            await self._publish(watch_channel(payload["site_id"]), "visitor", payload)
        except Exception as exc:  # the next change sends a fresh summary
            log.warning("a coalesced visitor summary was not published: %r", exc)

    async def left(self, site_id: str, visitor_id: str) -> None:
        """The visitor's last socket here closed: no late summary after `visitor_left`."""
        timer = self._timers.pop(visitor_id, None)
        if timer is not None:
            timer.cancel()
        self._coalescer.forget(visitor_id)
        await self._publish(
            watch_channel(site_id),
            "visitor_left",
            {"type": "visitor_left", "site_id": site_id, "visitor_id": visitor_id},
        )

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
