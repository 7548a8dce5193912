"""server/hub/visitor_mirror.py, visitor_views.py and the watch adapter: changes in,
the visitors the mirror holds and the frames a console gets out — whole records,
partial changes, changes that arrive while the snapshot is being read, a console that
is behind, a console that closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from invitations import VisitorFacts
from server.broker.base import BrokerUnavailable
from server.broker.memory_broker import MemoryBroker
from server.chat import visitor_state
from server.chat.proactive import online_group, watch_channel
from server.chat.visitor_query import parse_query
from server.chat.visitor_state import VisitorState
from server.hub.hub import Hub
from server.hub.visitor_mirror import SiteMirror, VisitorMirrors
from server.hub.visitor_views import VisitorViews
from server.hub.watch_adapter import WatchChange, watch_change
from server.metrics import Metrics
from server.store.database import open_database
from server.store.migrate import upgrade_to_head
from tests.waiting import next_loop_turn, settled


def summary(vid: str, url: str, **extra: object) -> dict:
    return {"id": vid, "page": {"url": url}, "in_chat": False, "invitation": None, **extra}


def test_the_adapter_reads_visitor_and_visitor_left_only() -> None:
    record = summary("v1", "https://a/")
    assert watch_change("visitor", {"type": "visitor", "visitor": record}) == WatchChange(
        "v1", record
    )
    assert watch_change("visitor_left", {"visitor_id": "v1"}) == WatchChange("v1", None)
    assert watch_change("queue", {"site_id": "s"}) is None


def test_changes_merge_and_leaving_removes() -> None:
    mirror = SiteMirror("st_1")
    mirror.apply(WatchChange("v1", summary("v1", "https://a/", name="Ann")))
    rev = mirror.entries["v1"].rev
    mirror.apply(WatchChange("v1", {"page": {"url": "https://a/cart"}}))  # only what changed
    entry = mirror.entries["v1"]
    assert entry.summary["name"] == "Ann" and entry.summary["page"] == {"url": "https://a/cart"}
    assert entry.rev > rev and "https://a/cart" in entry.search
    mirror.apply(WatchChange("v2", {"page": {"url": "https://a/"}}))  # unknown and partial
    assert "v2" not in mirror.entries and mirror.unknown == {"v2"}
    mirror.apply(WatchChange("v2", None))
    mirror.apply(WatchChange("v1", None))
    assert mirror.entries == {} and mirror.unknown == set()


def test_changes_during_the_first_load_win_over_the_snapshot() -> None:
    mirror = SiteMirror("st_1")
    mirror.begin_load()
    mirror.apply(WatchChange("v1", {"page": {"url": "https://a/new"}}))  # newer than the read
    mirror.apply(WatchChange("v2", None))  # left while being read
    mirror.apply(WatchChange("v4", summary("v4", "https://a/4")))  # arrived meanwhile
    snapshot = {
        "v1": summary("v1", "https://a/old", name="Ann"),
        "v2": summary("v2", "https://a/2"),
        "v3": summary("v3", "https://a/3"),
        "v9": summary("v9", "https://a/9"),  # state without presence: not on the site
    }
    mirror.finish_load(snapshot, online={"v1", "v2", "v3", "v4"})
    assert sorted(mirror.entries) == ["v1", "v3", "v4"]
    assert mirror.entries["v1"].summary["page"] == {"url": "https://a/new"}
    assert mirror.entries["v1"].summary["name"] == "Ann"


def test_listings_are_cached_per_version() -> None:
    mirror = SiteMirror("st_1")
    mirror.apply(WatchChange("v1", summary("v1", "https://a/")))
    query = parse_query({})
    first = mirror.listing(query)
    assert mirror.listing(query) is first
    mirror.set_queued(frozenset({"v1"}))
    again = mirror.listing(query)
    assert again is not first and again.states == {"v1": "queued"}
    mirror.set_queued(frozenset({"v1"}))  # no change: same version, same listing
    assert mirror.listing(query) is again


def test_a_reload_keeps_the_revision_of_unchanged_visitors() -> None:
    mirror = SiteMirror("st_1")
    mirror.begin_load()
    mirror.finish_load(
        {"v1": summary("v1", "https://a/"), "v2": summary("v2", "https://b/")}, online={"v1", "v2"}
    )
    revs = {vid: e.rev for vid, e in mirror.entries.items()}
    mirror.begin_load()
    mirror.finish_load(
        {"v1": summary("v1", "https://a/"), "v2": summary("v2", "https://c/")}, online={"v1", "v2"}
    )
    assert mirror.entries["v1"].rev == revs["v1"]
    assert mirror.entries["v2"].rev > revs["v2"]
    assert mirror.entries["v2"].summary["page"] == {"url": "https://c/"}


# -- the node's mirrors: shared, loaded once, lingering after the last console ------------
@pytest_asyncio.fixture
async def mirrors(tmp_path: Path) -> AsyncIterator[tuple[VisitorMirrors, MemoryBroker, Hub]]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path}/mirror.db")
    await upgrade_to_head(db)
    broker = MemoryBroker()
    await broker.start()
    hub = Hub(db, broker, Metrics())
    for i in range(3):
        state = VisitorState(VisitorFacts(f"vi_{i}", page_url=f"https://a/{i}"))
        await visitor_state.save(broker, state)
        await broker.presence_set(online_group("st_1"), f"vi_{i}", b"1", 60)
    try:
        yield VisitorMirrors(hub, db, broker, reconcile_s=3600, linger_s=0.0), broker, hub
    finally:
        await broker.close()
        await db.close()


async def test_a_mirror_is_shared_follows_the_watch_channel_and_lingers(mirrors) -> None:  # type: ignore[no-untyped-def]
    registry, broker, hub = mirrors
    first = await registry.acquire("st_1")
    assert sorted(first.entries) == ["vi_0", "vi_1", "vi_2"]
    assert await registry.acquire("st_1") is first and first.users == 2
    # vi_1 leaves, as a visitor node says it: off the presence group, then the event.
    await broker.presence_remove(online_group("st_1"), "vi_1")
    await hub.publish(
        watch_channel("st_1"), "visitor_left", {"type": "visitor_left", "visitor_id": "vi_1"}
    )
    await settled(lambda: "vi_1" not in first.entries)
    await registry.release("st_1")
    await registry.release("st_1")
    assert registry.mirrors["st_1"] is first  # lingers until the next upkeep
    assert await registry.acquire("st_1") is first  # a reload finds it loaded
    await registry.release("st_1")
    await registry.upkeep()  # linger_s=0: dropped, and the node unsubscribes
    assert registry.mirrors == {} and first.follower.channels == []
    again = await registry.acquire("st_1")
    assert again is not first and sorted(again.entries) == ["vi_0", "vi_2"]


class FakeConsole:
    """What VisitorViews needs of a Connection: `offer` and `closed`."""

    def __init__(self) -> None:
        self.closed = False
        self.behind = False
        self.frames: list[dict] = []

    def offer(self, frame: dict) -> bool:
        if self.behind:
            return False
        self.frames.append(frame)
        return True


async def test_views_send_changes_only_skip_when_behind_and_forget_closed_consoles(
    mirrors,  # type: ignore[no-untyped-def]
) -> None:
    registry, _broker, _hub = mirrors
    views = VisitorViews(registry)
    console = FakeConsole()
    await views.show(console, "st_1", parse_query({"sort": "page"}), 0, 2, "r1")  # type: ignore[arg-type]
    (first,) = console.frames
    assert (first["ref"], first["ids"], first["total"]) == ("r1", ["vi_0", "vi_1"], 3)
    assert [r["id"] for r in first["rows"]] == ["vi_0", "vi_1"]
    await views.tick()  # nothing changed: nothing sent
    assert len(console.frames) == 1
    mirror = registry.mirrors["st_1"]
    mirror.apply(WatchChange("vi_1", {"page": {"url": "https://a/1b"}}))
    console.behind = True
    await views.tick()  # behind: skipped, never queued
    assert len(console.frames) == 1 and views.dropped == 1
    mirror.apply(WatchChange("vi_1", {"page": {"url": "https://a/1c"}}))
    console.behind = False
    await views.tick()  # the latest state, the changed row only
    latest = console.frames[-1]
    assert latest["ids"] == ["vi_0", "vi_1"] and "ref" not in latest
    assert [(r["id"], r["page"]["url"]) for r in latest["rows"]] == [("vi_1", "https://a/1c")]
    console.closed = True
    await views.tick()
    assert mirror.users == 0  # released (it lingers until upkeep drops it)


async def test_a_reconcile_never_runs_over_a_load_in_progress(mirrors) -> None:  # type: ignore[no-untyped-def]
    registry, broker, hub = mirrors
    registry.reconcile_s = 0.0  # every upkeep would re-read
    gate = asyncio.Event()
    real_get_many = broker.state_get_many

    async def slow_get_many(keys: list[str]) -> list[bytes | None]:
        got = await real_get_many(keys)  # read now, answered later: a slow Redis
        await gate.wait()
        return got

    broker.state_get_many = slow_get_many
    loading = asyncio.create_task(registry.acquire("st_1"))
    await settled(
        lambda: "st_1" in registry.mirrors and registry.mirrors["st_1"]._loading is not None
    )
    # While the snapshot is in flight vi_2 moves on; an upkeep must not start a second load.
    moved = {"id": "vi_2", "page": {"url": "https://a/moved"}, "in_chat": False, "invitation": None}
    await hub.publish(watch_channel("st_1"), "visitor", {"type": "visitor", "visitor": moved})
    await settled(lambda: "vi_2" in registry.mirrors["st_1"].entries)
    upkeeping = asyncio.create_task(registry.upkeep())
    for _ in range(5):
        await next_loop_turn()  # a second load, if one started, is now reading too
    gate.set()
    mirror = await loading
    await upkeeping
    assert mirror.entries["vi_2"].summary["page"] == {"url": "https://a/moved"}
    assert mirror._loading is None


async def test_a_failed_load_stops_recording_changes(mirrors) -> None:  # type: ignore[no-untyped-def]
    registry, broker, _hub = mirrors
    mirror = await registry.acquire("st_1")

    async def down(keys: list[str]) -> list[bytes | None]:
        raise BrokerUnavailable("redis down")

    broker.state_get_many = down
    registry.reconcile_s = 0.0
    await registry.upkeep()  # logged and retried later, nothing left recording
    assert mirror._loading is None and sorted(mirror.entries) == ["vi_0", "vi_1", "vi_2"]
