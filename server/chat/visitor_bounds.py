"""How much of its own state one visitor may make the node keep (pure: facts in, a
verdict out). docs/security.md, "Visitor-controlled state: every bound".

Frames are bounded one at a time by the wire models (`server/wire/fields.py`); these
bounds hold across frames, sockets and nodes, against the visitor's facts as the
Broker holds them. Past one, `OverBound` says which, and the caller stores nothing of
the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from invitations import VisitorFacts

LIMIT_REACHED = "limit_reached"
# Reserved `track` events (protocol.md) are few and fixed: they never count as names.
RESERVED_EVENTS = frozenset({"exit_intent", "scroll", "idle", "active", "conversion"})


class OverBound(Exception):
    """An event would take the visitor past a bound; `message` names it for the client."""

    code = LIMIT_REACHED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class VisitorBounds:
    max_attributes: int = 50
    max_attribute_bytes: int = 8192
    max_event_names: int = 50
    max_cart_items: int = 10_000

    @classmethod
    def from_settings(cls, settings: Any) -> VisitorBounds:
        return cls(
            max_attributes=settings.visitor_max_attributes,
            max_attribute_bytes=settings.visitor_max_attribute_bytes,
            max_event_names=settings.visitor_max_event_names,
            max_cart_items=settings.visitor_max_cart_items,
        )

    def check(self, facts: VisitorFacts, event: Mapping[str, Any]) -> None:
        """Raise OverBound if applying `event` (a behaviour frame as an engine event)
        would take the visitor past a bound; return otherwise."""
        kind = event.get("type")
        if kind == "attributes":
            self.check_attributes(facts.attrs, event.get("attributes") or {})
        elif kind == "track":
            name = event.get("event")
            if (
                name not in RESERVED_EVENTS
                and name not in facts.events
                and len(facts.events.keys() - RESERVED_EVENTS) >= self.max_event_names
            ):
                raise OverBound(f"at most {self.max_event_names} distinct track events per visit")
        elif kind == "cart":
            items = event.get("items")
            if items is not None and items > self.max_cart_items:
                raise OverBound(f"cart.items must be at most {self.max_cart_items}")

    def check_attributes(
        self, current: Mapping[str, Any], incoming: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The visitor's attributes after `incoming` (null clears a key), or OverBound
        when they would hold too many keys or bytes."""
        merged = merged_attributes(current, incoming)
        if len(merged) > self.max_attributes:
            raise OverBound(f"at most {self.max_attributes} attributes per visitor")
        if len(orjson.dumps(merged)) > self.max_attribute_bytes:
            raise OverBound(
                f"a visitor's attributes must be at most {self.max_attribute_bytes} bytes"
            )
        return merged


def merged_attributes(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """As the engine folds them: a scalar sets a key, null removes it."""
    merged = dict(current)
    for key, value in incoming.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
