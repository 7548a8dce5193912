"""server/hub/visitor_mirror.py's SiteMirror and the watch adapter: changes in, the
visitors the mirror holds out — whole records, partial changes, and changes that
arrive while the first snapshot is being read."""

from __future__ import annotations

from server.chat.visitor_query import parse_query
from server.hub.visitor_mirror import SiteMirror
from server.hub.watch_adapter import WatchChange, watch_change


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
