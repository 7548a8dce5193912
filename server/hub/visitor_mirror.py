"""Per watched site, one in-memory mirror of every live visitor on this node.

Loaded once from the Broker's live state (every node's visitors, batched reads), then
kept current from the site's watch channel (`watch_adapter`), and the set of visitors
with a queued chat from the Store on each `queue` event of the site channel. Shared by
every console of the node watching the site (refcounted) and dropped when none does.
Visitors whose node died leave no `visitor_left`: a periodic reconcile against the
presence group (and a full reload after a broker reconnect) removes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from server.broker.base import Broker
from server.chat import live_visitors
from server.chat.proactive import watch_channel
from server.chat.visitor_listing import Entry, Listing, run
from server.chat.visitor_query import Query
from server.hub.hub import Hub, site_channel
from server.hub.watch_adapter import WatchChange, watch_change
from server.store import conversations as conv_queries
from server.store.database import Database

log = logging.getLogger("beckon.visitor_view")
# A full re-read of the site's visitors (10,000: ~0.5 s of one core) this often; within
# the online group's 90 s TTL, so a dead node's visitors leave the view within 2 min.
VISITOR_RECONCILE_S = 30.0
LINGER_S = 60.0  # a mirror nobody watches is kept this long before it is dropped
MAX_CACHED_LISTINGS = 64  # distinct queries per site per mirror version


class _Follower:
    """What `Hub.follow` keeps per follower (a mirror is not a socket)."""

    __slots__ = ("channels", "closed")

    def __init__(self) -> None:
        self.closed = False
        self.channels: list[str] = []


class SiteMirror:
    """The live visitors of one site. `version` changes whenever anything a listing
    depends on does; listings are cached per query for the current version."""

    def __init__(self, site_id: str) -> None:
        self.site_id = site_id
        self.entries: dict[str, Entry] = {}
        self.queued: frozenset[str] = frozenset()
        self.version = 0
        self.ready = asyncio.Event()
        self.queued_dirty = False
        self.unknown: set[str] = set()  # changed visitors to read whole
        self.reconciled = 0.0
        self.users = 0
        self.idle_since = 0.0  # when `users` last dropped to 0
        self.follower = _Follower()
        self.loading = asyncio.Lock()  # held by the load in progress
        self._loading: list[WatchChange] | None = None  # changes seen while loading
        self._listings: dict[tuple[Any, ...], Listing] = {}
        self._listed_version = -1

    def apply(self, change: WatchChange) -> None:
        if self._loading is not None:
            self._loading.append(change)
        self._apply(change)

    def _apply(self, change: WatchChange) -> None:
        self.version += 1
        if change.fields is None:
            self.entries.pop(change.visitor_id, None)
            self.unknown.discard(change.visitor_id)
            return
        held = self.entries.get(change.visitor_id)
        merged = _merged(held, change.fields)
        if merged is None:
            if change.held_only:
                return
            # Only some fields of a visitor this mirror does not hold: read it whole.
            self.unknown.add(change.visitor_id)
            return
        if held is not None and held.summary == merged:
            return  # the same again (a coalesced repeat): consoles are not sent it twice
        self.entries[change.visitor_id] = Entry.of(merged, self.version)

    def begin_load(self) -> None:
        self._loading = []

    def abort_load(self) -> None:
        """The read failed: keep what the changes made of the visitors held."""
        self._loading = None

    def finish_load(self, summaries: dict[str, dict[str, Any]], online: set[str]) -> None:
        """Replace the visitors by a loaded snapshot; changes that arrived while it was
        being read are newer and are applied over it."""
        seen, self._loading = self._loading or [], None
        self.version += 1
        self.unknown = set()
        old = self.entries
        entries: dict[str, Entry] = {}
        for vid, summary in summaries.items():
            if vid not in online:
                continue
            kept = old.get(vid)
            # Unchanged visitors keep their revision: consoles are not sent them again.
            same = kept is not None and kept.summary == summary
            entries[vid] = kept if same and kept is not None else Entry.of(summary, self.version)
        self.entries = entries
        for change in seen:
            self._apply(change)

    def set_queued(self, queued: frozenset[str]) -> None:
        if queued != self.queued:
            self.queued = queued
            self.version += 1

    def listing(self, query: Query) -> Listing:
        if self._listed_version != self.version:
            self._listings.clear()
            self._listed_version = self.version
        key = query.key
        listing = self._listings.get(key)
        if listing is None:
            if len(self._listings) >= MAX_CACHED_LISTINGS:
                self._listings.clear()
            listing = self._listings[key] = run(self.entries, self.queued, query)
        return listing


def _merged(old: Entry | None, fields: dict[str, Any]) -> dict[str, Any] | None:
    if old is None:
        return fields if "id" in fields else None
    return {**old.summary, **fields}


class VisitorMirrors:
    """The node's mirrors by site id: `acquire` (waits for the first load) and
    `release`; `upkeep` is called about once a second by the view loop."""

    def __init__(
        self,
        hub: Hub,
        db: Database,
        broker: Broker,
        reconcile_s: float = VISITOR_RECONCILE_S,
        linger_s: float = LINGER_S,
    ) -> None:
        self.hub = hub
        self.db = db
        self.broker = broker
        self.reconcile_s = reconcile_s
        self.linger_s = linger_s
        self.mirrors: dict[str, SiteMirror] = {}
        broker.add_reconnect_listener(self._on_reconnect)

    def loaded(self, site_id: str) -> SiteMirror | None:
        """The site's mirror if this node holds one, loaded (else None); not acquired."""
        mirror = self.mirrors.get(site_id)
        return mirror if mirror is not None and mirror.ready.is_set() else None

    async def acquire(self, site_id: str) -> SiteMirror:
        """The site's mirror, loaded. Raises BrokerUnavailable/StoreUnavailable (and
        holds nothing) if it cannot be loaded."""
        mirror = self.mirrors.get(site_id)
        if mirror is None:
            mirror = self.mirrors[site_id] = SiteMirror(site_id)
            mirror.users += 1
            try:
                await self._start(mirror)
            except BaseException:
                await self._drop(site_id, mirror)
                raise
            finally:
                mirror.ready.set()
            return mirror
        mirror.users += 1
        await mirror.ready.wait()
        if self.mirrors.get(site_id) is not mirror:  # its load failed
            mirror.users -= 1
            return await self.acquire(site_id)
        return mirror

    async def release(self, site_id: str) -> None:
        """One console less. A mirror nobody watches lingers `LINGER_S` (a reload, a
        switch to Chats and back, a reconnect find it loaded), then `upkeep` drops it."""
        mirror = self.mirrors.get(site_id)
        if mirror is None:
            return
        mirror.users -= 1
        if mirror.users <= 0:
            mirror.idle_since = time.monotonic()

    async def _drop(self, site_id: str, mirror: SiteMirror) -> None:
        if self.mirrors.get(site_id) is mirror:
            del self.mirrors[site_id]
        mirror.follower.closed = True
        for channel in list(mirror.follower.channels):
            await self.hub.unfollow(mirror.follower, channel)  # type: ignore[arg-type]

    async def _start(self, mirror: SiteMirror) -> None:
        def on_event(kind: str, payload: Any) -> None:
            if kind == "queue":
                mirror.queued_dirty = True
                return
            change = watch_change(kind, payload)
            if change is not None:
                mirror.apply(change)

        follower: Any = mirror.follower
        await self.hub.follow(follower, watch_channel(mirror.site_id), on_event)
        await self.hub.follow(follower, site_channel(mirror.site_id), on_event)
        await self._load(mirror)

    async def _load(self, mirror: SiteMirror) -> None:
        """Read every visitor of the site. One load at a time per mirror: the changes a
        load records while it reads belong to it (two at once would lose them)."""
        async with mirror.loading:
            await self._load_now(mirror)

    async def _load_now(self, mirror: SiteMirror) -> None:
        mirror.begin_load()
        started = mirror.reconciled = time.monotonic()
        try:
            online = await live_visitors.online_ids(self.broker, mirror.site_id)
            summaries = await live_visitors.load_summaries(self.broker, online, time.time())
        except BaseException:
            mirror.abort_load()
            raise
        mirror.finish_load(summaries, online)
        await self._refresh_queued(mirror)
        mirror.reconciled = time.monotonic()
        log.debug(
            "mirrored %d visitors of %s in %.3f s",
            len(mirror.entries),
            mirror.site_id,
            mirror.reconciled - started,
        )

    async def _refresh_queued(self, mirror: SiteMirror) -> None:
        mirror.queued_dirty = False
        async with self.db.read() as conn:
            rows = await conv_queries.list_queued(conn, [mirror.site_id])
        mirror.set_queued(frozenset(r["visitor_id"] for r in rows))

    async def _reconcile(self, mirror: SiteMirror) -> None:
        """Read every visitor again: pub/sub is a hint (style habit 4). Drops visitors
        gone from the presence group (their node died) and repairs any change whose
        watch event was lost (published while the broker was down, say)."""
        await self._load(mirror)

    async def _read_unknown(self, mirror: SiteMirror) -> None:
        wanted, mirror.unknown = mirror.unknown, set()
        loaded = await live_visitors.load_summaries(self.broker, wanted, time.time())
        for vid, summary in loaded.items():
            mirror.apply(WatchChange(vid, summary))

    async def upkeep(self) -> None:
        now = time.monotonic()
        for site_id, mirror in list(self.mirrors.items()):
            if mirror.users <= 0 and now - mirror.idle_since >= self.linger_s:
                await self._drop(site_id, mirror)
                continue
            if mirror.loading.locked() or not mirror.ready.is_set():
                continue  # the load in progress reads everything anyway
            try:
                if mirror.queued_dirty:
                    await self._refresh_queued(mirror)
                if now - mirror.reconciled >= self.reconcile_s:
                    await self._reconcile(mirror)
                elif mirror.unknown:
                    await self._read_unknown(mirror)
            except Exception as exc:  # retried on the next round
                log.warning("visitor mirror of %s not refreshed: %s", mirror.site_id, exc)

    async def _on_reconnect(self) -> None:
        # What was published while the broker was away is lost: read everything again.
        for mirror in list(self.mirrors.values()):
            try:
                await self._load(mirror)
            except Exception as exc:
                mirror.reconciled = 0.0  # the next upkeep reconciles
                log.warning("visitor mirror of %s not reloaded: %s", mirror.site_id, exc)
