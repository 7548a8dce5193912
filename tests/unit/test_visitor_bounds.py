"""The bounds on what one visitor may make the node keep (`server/chat/visitor_bounds.py`)
and the once-a-second coalescing of console summaries (`server/chat/watch_feed.py`)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from invitations import VisitorFacts
from server.chat.visitor_bounds import OverBound, VisitorBounds
from server.chat.watch_feed import Coalescer
from server.store.visitor_batch import capped_merge, fold_known

BOUNDS = VisitorBounds(max_attributes=3, max_attribute_bytes=60, max_event_names=2)


def _facts(attrs=None, events=None) -> VisitorFacts:  # type: ignore[no-untyped-def]
    return VisitorFacts(
        "vi_1", attrs=MappingProxyType(attrs or {}), events=MappingProxyType(events or {})
    )


def _refused(facts: VisitorFacts, event: dict) -> str:
    with pytest.raises(OverBound) as info:
        BOUNDS.check(facts, event)
    assert info.value.code == "limit_reached"
    return info.value.message


def test_attribute_keys_are_counted_across_frames() -> None:
    facts = _facts({"a": 1, "b": 2})
    BOUNDS.check(facts, {"type": "attributes", "attributes": {"c": 3}})
    BOUNDS.check(facts, {"type": "attributes", "attributes": {"a": 9, "b": 9}})  # overwrite
    # null clears a key, so the frame stays within the cap
    BOUNDS.check(facts, {"type": "attributes", "attributes": {"a": None, "c": 1, "d": 1}})
    message = _refused(facts, {"type": "attributes", "attributes": {"c": 3, "d": 4}})
    assert message == "at most 3 attributes per visitor"


def test_attribute_bytes_are_counted_as_json() -> None:
    facts = _facts({"a": "x" * 40})
    BOUNDS.check(facts, {"type": "attributes", "attributes": {"b": "y" * 5}})
    message = _refused(facts, {"type": "attributes", "attributes": {"b": "y" * 20}})
    assert message == "a visitor's attributes must be at most 60 bytes"


def test_custom_event_names_are_bounded_reserved_ones_are_not() -> None:
    facts = _facts(events={"add": 3, "scroll": 9, "wish": 1})
    BOUNDS.check(facts, {"type": "track", "event": "add"})  # a name it has
    BOUNDS.check(facts, {"type": "track", "event": "exit_intent"})  # reserved
    message = _refused(facts, {"type": "track", "event": "third"})
    assert message == "at most 2 distinct track events per visit"


def test_cart_items_are_bounded() -> None:
    BOUNDS.check(_facts(), {"type": "cart", "value": 1, "currency": "EUR", "items": 10_000})
    message = _refused(_facts(), {"type": "cart", "value": 1, "currency": "EUR", "items": 10_001})
    assert message == "cart.items must be at most 10000"


def test_other_events_pass() -> None:
    BOUNDS.check(_facts({"a": 1, "b": 1, "c": 1}), {"type": "page_view", "url": "https://x.io"})


def test_capped_merge_keeps_stored_keys_first() -> None:
    assert capped_merge({"a": 1, "b": 1}, {"b": 2, "c": 3, "d": 4}, 3) == {"a": 1, "b": 2, "c": 3}
    assert capped_merge(None, {"x": 1, "y": 2}, 1) == {"x": 1}
    assert capped_merge({"a": 1, "b": 1}, {"c": 3}, 1) == {"a": 1, "b": 1}  # never drops


def test_fold_known_caps_the_folded_attributes() -> None:
    row = {"id": "vi_1", "site_id": "s", "first_seen_ts": 1, "last_seen_ts": 1}
    rows = [{**row, "attributes": {"a": 1, "b": 1}}, {**row, "attributes": {"c": 1, "a": 2}}]
    assert fold_known(rows, 2)[0]["attributes"] == {"a": 2, "b": 1}
    assert fold_known(rows)[0]["attributes"] == {"a": 2, "b": 1, "c": 1}


def test_coalescer_sends_the_first_then_the_last_of_each_window() -> None:
    c = Coalescer(1.0)
    assert c.offer("v", "p1", 10.0) == ("p1", None)
    assert c.offer("v", "p2", 10.2) == (None, 11.0)  # held; flush at the window's end
    assert c.offer("v", "p3", 10.5) == (None, None)  # replaces p2, timer already set
    assert c.offer("w", "q1", 10.5) == ("q1", None)  # another visitor: its own window
    assert c.flush("v", 11.0) == "p3"
    assert c.flush("v", 11.0) is None
    assert c.offer("v", "p4", 11.5) == (None, 12.0)  # a new window began at the flush
    c.forget("v")
    assert c.flush("v", 12.0) is None
    assert c.offer("v", "p5", 12.0) == ("p5", None)


def test_coalescer_forgets_visitors_whose_window_is_over_at_most_once_a_window() -> None:
    c = Coalescer(1.0)
    for i in range(3000):
        c.offer(f"v{i}", "p", 10.0 + i * 0.0001)  # 3,000 visitors inside one window
    assert len(c._sent_at) == 3000  # nothing is over yet: nothing forgotten
    c.offer("late", "p", 12.0)  # every earlier window is over
    assert set(c._sent_at) == {"late"}
