"""The live list's invited / in-chat mark when it changes without a page event:
`WatchFeed.invitation_changed` publishes it (and updates a summary still held by the
coalescer), the watch adapter reads it as a partial change, and the mirror applies it
only to a visitor it shows (a late expiry must not bring back a visitor who left)."""

from __future__ import annotations

from typing import Any

import pytest

from invitations import VisitorFacts
from server.chat.visitor_state import VisitorState
from server.chat.watch_feed import WatchFeed
from server.hub.visitor_mirror import SiteMirror
from server.hub.watch_adapter import WatchChange, watch_change

INVITATION = {"id": "iv_1", "rule_id": None, "department": None, "paced": False}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(invitation: dict[str, Any] | None) -> VisitorState:
    s = VisitorState(facts=VisitorFacts(visitor_id="v1"))
    s.invitation = invitation
    return s


def test_the_adapter_reads_the_mark_as_a_partial_change_for_shown_visitors() -> None:
    payload = {"visitor_id": "v1", "invitation": INVITATION, "in_chat": False}
    assert watch_change("visitor_invitation", payload) == WatchChange(
        "v1", {"invitation": INVITATION, "in_chat": False}, held_only=True
    )


def test_the_mirror_marks_a_shown_visitor_and_ignores_one_who_left() -> None:
    mirror = SiteMirror("st_1")
    mirror.apply(WatchChange("v1", {"id": "v1", "name": "Ann", "invitation": None}))
    mirror.apply(WatchChange("v1", {"invitation": INVITATION, "in_chat": False}, held_only=True))
    assert mirror.entries["v1"].summary["invitation"] == INVITATION
    assert mirror.entries["v1"].summary["name"] == "Ann"
    mirror.apply(WatchChange("v2", {"invitation": None, "in_chat": False}, held_only=True))
    assert "v2" not in mirror.entries and mirror.unknown == set()


@pytest.mark.asyncio
async def test_the_feed_publishes_at_once_and_updates_a_held_summary() -> None:
    published: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(channel: str, kind: str, payload: dict[str, Any]) -> None:
        published.append((channel, kind, payload))

    clock = Clock()
    feed = WatchFeed(publish, interval_s=1.0, clock=clock)
    await feed.visitor("st_1", "v1", {"id": "v1", "invitation": None, "in_chat": False})
    clock.now += 0.2
    # A second summary in the window is held, made before the invitation.
    await feed.visitor("st_1", "v1", {"id": "v1", "invitation": None, "in_chat": False})
    await feed.invitation_changed("st_1", state(INVITATION))
    assert published[-1] == (
        "watch:st_1",
        "visitor_invitation",
        {
            "type": "visitor_invitation",
            "site_id": "st_1",
            "visitor_id": "v1",
            "invitation": INVITATION,
            "in_chat": False,
        },
    )
    # When the held summary goes out, it does not undo the mark.
    feed._flush("v1")  # what the window's timer calls
    for task in list(feed._tasks):
        await task
    assert published[-1][1] == "visitor"
    assert published[-1][2]["visitor"]["invitation"] == INVITATION
    await feed.close()
