"""The consoles' live visitor views on this node (protocol.md, "Live visitor view").

A console asks for a view — site, query, the window of rows on screen — and gets a
`visitor_view` frame: the window's ids in order, the rows that changed since the last
frame it got, and exact counts. Then, at most once per tick, a new frame whenever the
site's mirror changed what the window or counts show.

Droppable-latest: a view frame is only offered to the socket (`Connection.offer`); a
console that is behind skips it and the next tick carries the latest state. Nothing
about visitors ever queues past the socket's bound, so a console is never closed
because of visitor traffic; chat frames keep their own reliable, ordered path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from server.chat.visitor_query import Query
from server.hub.connection import Connection
from server.hub.visitor_mirror import SiteMirror, VisitorMirrors

log = logging.getLogger("beckon.visitor_view")
TICK_S = 1.0
MAX_WINDOW = 200


@dataclass(slots=True)
class _View:
    site_id: str
    mirror: SiteMirror
    query: Query = field(default_factory=Query)
    offset: int = 0
    limit: int = 50
    # What the console holds: the window's ids and, per row, (rev, state) sent.
    ids: list[str] = field(default_factory=list)
    sent: dict[str, tuple[int, str]] = field(default_factory=dict)
    counts: dict[str, Any] | None = None
    version: int = -1  # the mirror version last sent (-1: send on the next chance)
    refs: list[str] = field(default_factory=list)  # requests the next frame answers


class VisitorViews:
    """Views by console socket and site. `start`/`close` in the app's lifespan."""

    def __init__(self, mirrors: VisitorMirrors, tick_s: float = TICK_S) -> None:
        self.mirrors = mirrors
        self.tick_s = tick_s
        self._views: dict[Connection, dict[str, _View]] = {}
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # frames skipped because the console was behind (for tests/metrics)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def show(
        self,
        conn: Connection,
        site_id: str,
        query: Query,
        offset: int,
        limit: int,
        ref: str | None,
    ) -> None:
        """Set the console's view of `site_id` and answer with a frame now (or, if the
        console is behind, on the next tick). Raises BrokerUnavailable or
        StoreUnavailable if the site's visitors cannot be read."""
        views = self._views.setdefault(conn, {})
        view = views.get(site_id)
        if view is None:
            mirror = await self.mirrors.acquire(site_id)
            views = self._views.setdefault(conn, {})
            if conn.closed or site_id in views:  # closed, or a concurrent show won
                await self.mirrors.release(site_id)
                if conn.closed:
                    return
            else:
                views[site_id] = _View(site_id, mirror)
            view = views[site_id]
        view.query, view.offset, view.limit = query, offset, min(limit, MAX_WINDOW)
        view.version = -1
        if ref:
            view.refs.append(ref)
        self._push(conn, view)

    async def hide(self, conn: Connection, site_id: str) -> None:
        views = self._views.get(conn)
        if views is None or site_id not in views:
            return
        del views[site_id]
        if not views:
            del self._views[conn]
        await self.mirrors.release(site_id)

    async def forget(self, conn: Connection) -> None:
        """The socket ended: drop its views (and mirrors no one else watches)."""
        for site_id in list(self._views.pop(conn, {})):
            await self.mirrors.release(site_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await self.tick()
            except Exception:
                log.exception("visitor views round failed")

    async def tick(self) -> None:
        await self.mirrors.upkeep()
        for conn, views in list(self._views.items()):
            if conn.closed:  # a `show` that finished after its socket's `forget`
                await self.forget(conn)
                continue
            for view in list(views.values()):
                if view.version != view.mirror.version:
                    self._push(conn, view)

    def _push(self, conn: Connection, view: _View) -> None:
        mirror = view.mirror
        listing = mirror.listing(view.query)
        window = listing.ids[view.offset : view.offset + view.limit]
        sent: dict[str, tuple[int, str]] = {}
        rows = []
        for vid in window:
            entry = mirror.entries[vid]
            state = listing.states[vid]
            mark = sent[vid] = (entry.rev, state)
            if view.sent.get(vid) != mark:
                rows.append({**entry.summary, "state": state})
        if not rows and window == view.ids and listing.counts == view.counts and not view.refs:
            view.version = mirror.version
            return
        frame: dict[str, Any] = {
            "type": "visitor_view",
            "site_id": view.site_id,
            "query": view.query.params(),
            "offset": view.offset,
            "total": len(listing.ids),
            "counts": listing.counts,
            "ids": window,
            "rows": rows,
        }
        if view.refs:
            frame["ref"] = view.refs[-1]
        if not conn.offer(frame):
            self.dropped += 1
            return  # behind: the next tick sends the state of then
        view.ids, view.sent, view.counts = window, sent, listing.counts
        view.version = mirror.version
        view.refs.clear()
