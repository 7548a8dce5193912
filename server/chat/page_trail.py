"""The visitor's page trail: the pages of this visit, in order, for the console's
visitor context.

Kept beside the engine's facts in the visitor's state (`visitor_state`), bounded to the
last `MAX_TRAIL_PAGES`. A page enters the trail when the engine opens one (a hello or
page_view on another url, `invitations.events`), a new visit starts a new trail, and a
title learnt later for the same page replaces the first one. Time on each page is what
separates it from the next (the console computes it; the last one is still open).
"""

from __future__ import annotations

from typing import Any

from invitations import VisitorFacts

MAX_TRAIL_PAGES = 20


def advance(
    trail: list[dict[str, Any]], before: VisitorFacts, after: VisitorFacts
) -> list[dict[str, Any]] | None:
    """The trail after an event took the facts from `before` to `after`; None when the
    event did not change it. Pure."""
    if after.visit_started != before.visit_started:
        trail = []
    elif after.page_started == before.page_started:
        if trail and after.page_title != before.page_title and trail[-1]["url"] == after.page_url:
            return [*trail[:-1], {**trail[-1], "title": after.page_title}]
        return None
    if after.page_url is None or after.page_started is None:
        return trail
    page = {
        "url": after.page_url,
        "path": after.page_path,
        "title": after.page_title,
        "ts": int(after.page_started * 1000),
    }
    return [*trail, page][-MAX_TRAIL_PAGES:]


def valid(raw: Any) -> list[dict[str, Any]]:
    """A stored trail as read back (anything else, e.g. from an older version: empty)."""
    if not isinstance(raw, list):
        return []
    return [p for p in raw if isinstance(p, dict) and isinstance(p.get("url"), str)][
        -MAX_TRAIL_PAGES:
    ]


def frame(conversation_id: str, visitor_id: str, trail: list[dict[str, Any]]) -> dict[str, Any]:
    """The `visitor_page` frame the agents of the visitor's open chat receive."""
    return {
        "type": "visitor_page",
        "conversation_id": conversation_id,
        "visitor_id": visitor_id,
        "pages": trail,
    }
