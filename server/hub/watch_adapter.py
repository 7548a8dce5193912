"""The one place that reads the site watch channel's visitor events (`visitor`,
`visitor_left`, published by the visitor sockets' code). Whatever shape those events
take — whole records or only the changed fields — the live view sees a `WatchChange`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WatchChange:
    visitor_id: str
    # The summary fields that changed (all of them for a whole record); None: the
    # visitor left the site.
    fields: dict[str, Any] | None


def watch_change(kind: str, payload: Any) -> WatchChange | None:
    """The change an event of the watch channel carries; None for other kinds."""
    if kind == "visitor":
        visitor = payload["visitor"]
        return WatchChange(visitor["id"], visitor)
    if kind == "visitor_left":
        return WatchChange(payload["visitor_id"], None)
    return None
