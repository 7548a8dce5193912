"""The one place that reads the site watch channel's visitor events (`visitor`,
`visitor_left`, published by the visitor sockets' code; `visitor_invitation`, published
by the invitation engine when a visitor's invitation or chat begins or ends outside a
page event). Whatever shape those events take — whole records or only the changed
fields — the live view sees a `WatchChange`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WatchChange:
    visitor_id: str
    # The summary fields that changed (all of them for a whole record); None: the
    # visitor left the site.
    fields: dict[str, Any] | None
    # Only for a visitor the view already shows: a late invitation change about a
    # visitor who has left must not bring them back to the list.
    held_only: bool = False


def watch_change(kind: str, payload: Any) -> WatchChange | None:
    """The change an event of the watch channel carries; None for other kinds."""
    if kind == "visitor":
        visitor = payload["visitor"]
        return WatchChange(visitor["id"], visitor)
    if kind == "visitor_invitation":
        fields = {"invitation": payload["invitation"], "in_chat": payload["in_chat"]}
        return WatchChange(payload["visitor_id"], fields, held_only=True)
    if kind == "visitor_left":
        return WatchChange(payload["visitor_id"], None)
    return None
