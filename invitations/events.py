"""Folding behaviour events into `VisitorFacts` (spec: protocol.md, visitor frames).

An event is a dict with a "type" and the fields of the widget frame (already validated
by the server). Handled types:

- `hello` {page {url, title?, referrer?}, lang?, tz?, identified?, name?, email?,
  attributes?, user_agent?, accept_language?, chats?, country?} — `identified` is True only
  when the server verified `user_hash`; `chats` lets the server restore the stored count;
  `country` is the edge's ISO code (the server passes it only from a trusted header).
- `page_view` {url, title?, referrer?}

A hello or page_view opens a page (a page view, `page.time_s` from zero) only when its
url is not the page the visitor is on: every socket's hello carries the page, so the
widget's own page view after it, and a reconnect's hello, are the same view.
- `track` {event, props?} — reserved: `scroll` (props.depth 0–100), `idle` (not an
  activity), `active`, `exit_intent`, `conversion`, and the struggle signals of
  `invitations.signals` (counted as `signal.*` facts, not `event.*`; capped per visit).
- `cart` {value, currency, items?} — replaces the cart.
- `attributes` {attributes {...}} or the attributes as flat fields of the frame.
- `chat_started`, `chat_closed` — `visitor.chats` counts conversations started.
- any other type — generic activity (resets `idle_s`).

Every event except `track idle` is activity. Activity after ≥ 30 min without activity
starts a new visit: `visit.*` and `event.*` reset and `visitor.visits` grows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from invitations import signals
from invitations.catalogue import ATTR_PREFIX, EVENT_PREFIX, VISIT_TIMEOUT_S
from invitations.device import device_class
from invitations.facts import MAX_EVENT_TIMES, VisitorFacts, evolve

_PAGE_CHANGED = frozenset(
    {
        "page.url",
        "page.path",
        "page.title",
        "page.time_s",
        "page.scroll_pct",
        "visit.page_views",
        "idle_s",
    }
)
_CART_CHANGED = frozenset({"cart.value", "cart.currency", "cart.items", "idle_s"})
_CHATS_CHANGED = frozenset({"visitor.chats", "idle_s"})
_ACTIVITY_CHANGED = frozenset({"idle_s"})
# ISO 3166-1 alpha-2; edges send XX (unknown) and T1 (Tor), which say nothing.
_COUNTRY = re.compile(r"(?!XX)[A-Z]{2}")
_RESERVED_KEYS = frozenset({"type", "ts", "visitor_id", "ref"})


def apply_event(facts: VisitorFacts, event: Mapping[str, Any], now: float) -> VisitorFacts:
    """The facts after `event` happened at `now` (seconds since epoch). Pure.

    Raises ValueError for an event without a string "type" or with malformed fields.
    """
    return apply_event_changes(facts, event, now)[0]


def apply_event_changes(
    facts: VisitorFacts, event: Mapping[str, Any], now: float
) -> tuple[VisitorFacts, frozenset[str] | None]:
    """Like `apply_event`, also returning the names of the facts the event changed.

    The second item is None when potentially every fact changed (a `hello`, or a new
    visit); pass it on to `engine.evaluate(changed_facts=...)` as is.
    """
    kind = event.get("type")
    if not isinstance(kind, str):
        raise ValueError("event needs a string 'type'")
    activity = not (kind == "track" and event.get("event") == "idle")
    new_visit = activity and (
        facts.last_activity is None or now - facts.last_activity >= VISIT_TIMEOUT_S
    )
    if new_visit:
        facts = _start_visit(facts, now, event)
    changes, changed = _HANDLERS.get(kind, _activity)(facts, event, now)
    if activity:
        changes["last_activity"] = now
    return evolve(facts, **changes), (None if new_visit else changed)


def _start_visit(facts: VisitorFacts, now: float, event: Mapping[str, Any]) -> VisitorFacts:
    page = _page_of(event)
    url = page.get("url") if page else facts.page_url
    return evolve(
        facts,
        visit_started=now,
        visit_page_views=0,
        visit_referrer=_opt_str(page.get("referrer")) if page else None,
        visit_landing_url=url,
        events=MappingProxyType({}),
        **signals.FIELDS,
        event_times=MappingProxyType({}),
        visits=facts.visits + 1,
        page_started=now,
        page_scroll_pct=0 if facts.page_url is not None else None,
        **_utm(url),
    )


def _page_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if event.get("type") == "hello":
        page = event.get("page")
        return page if isinstance(page, Mapping) else None
    if event.get("type") == "page_view":
        return event
    return None


def _utm(url: Any) -> dict[str, str | None]:
    query = parse_qs(urlsplit(url).query) if isinstance(url, str) else {}
    return {
        f"utm_{key}": (query[f"utm_{key}"][0] if query.get(f"utm_{key}") else None)
        for key in ("source", "medium", "campaign")
    }


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return value


def _open_page(facts: VisitorFacts, page: Mapping[str, Any], now: float) -> dict[str, Any]:
    url = page.get("url")
    if not isinstance(url, str):
        raise ValueError("page: expected a string 'url'")
    if url == facts.page_url and facts.visit_page_views > 0:
        return {"page_title": _opt_str(page.get("title"))}
    return {
        "page_url": url,
        "page_path": urlsplit(url).path or "/",
        "page_title": _opt_str(page.get("title")),
        "page_started": now,
        "page_scroll_pct": 0,
        "visit_page_views": facts.visit_page_views + 1,
    }


def _page_view(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    return _open_page(f, event, now), _PAGE_CHANGED


def _hello(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    page = event.get("page")
    changes = _open_page(f, page, now) if isinstance(page, Mapping) else {}
    changes["identified"] = bool(event.get("identified", False))
    lang = _primary_language(event.get("lang"), event.get("accept_language"))
    if lang is not None:
        changes["lang_tag"] = lang
    ua = event.get("user_agent")
    if isinstance(ua, str):
        changes["device"] = device_class(ua)
    if isinstance(event.get("tz"), str):
        changes["tz"] = event["tz"]
    country = event.get("country")
    if isinstance(country, str) and _COUNTRY.fullmatch(country.upper()):
        changes["country"] = country.upper()
    if isinstance(event.get("chats"), int):
        changes["chats"] = event["chats"]
    attributes = event.get("attributes")
    if isinstance(attributes, Mapping):
        changes.update(_merge_attributes(f, attributes))
    for key in ("name", "email"):  # the verified identity wins over attributes
        if isinstance(event.get(key), str):
            changes[key] = event[key]
    return changes, None


def _primary_language(lang: Any, accept_language: Any) -> str | None:
    """hello.lang wins; else the Accept-Language entry with the highest q (first on ties)."""
    if isinstance(lang, str) and lang.strip():
        return lang.strip().replace("_", "-").lower()
    if not isinstance(accept_language, str):
        return None
    best, best_q = None, 0.0
    for part in accept_language.split(","):
        tag, _, params = part.partition(";")
        tag, params = tag.strip(), params.strip()
        q = 1.0
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > best_q:
            best, best_q = tag.replace("_", "-").lower(), q
    return best


def _track(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    name = event.get("event")
    if not isinstance(name, str) or not name:
        raise ValueError("track: expected a non-empty string 'event'")
    if name in signals.BY_NAME:
        return signals.fold(f, name, now)
    events = dict(f.events)
    events[name] = events.get(name, 0) + 1
    times = dict(f.event_times)
    times[name] = (*times.get(name, ())[-(MAX_EVENT_TIMES - 1) :], now)
    changes: dict[str, Any] = {
        "events": MappingProxyType(events),
        "event_times": MappingProxyType(times),
    }
    if name == "scroll":
        props = event.get("props")
        depth = props.get("depth") if isinstance(props, Mapping) else None
        if depth is not None:
            depth = min(100, max(0, _number(depth, "scroll depth")))
            if f.page_scroll_pct is None or depth > f.page_scroll_pct:
                changes["page_scroll_pct"] = depth
    return changes, _track_changed(name)


@lru_cache(maxsize=1024)
def _track_changed(name: str) -> frozenset[str]:
    """Facts a `track` event changes (cached: the same few names come again and again)."""
    if name == "scroll":
        return frozenset({EVENT_PREFIX + name, "page.scroll_pct", "idle_s"})
    if name == "idle":
        return frozenset({EVENT_PREFIX + name})
    return frozenset({EVENT_PREFIX + name, "idle_s"})


def _cart(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    items = event.get("items")
    if items is not None and (isinstance(items, bool) or not isinstance(items, int)):
        raise ValueError(f"cart items: expected an integer, got {items!r}")
    changes = {
        "cart_value": _number(event.get("value"), "cart value"),
        "cart_currency": _opt_str(event.get("currency")),
        "cart_items": items,
    }
    return changes, _CART_CHANGED


def _merge_attributes(f: VisitorFacts, attributes: Mapping[str, Any]) -> dict[str, Any]:
    attrs = dict(f.attrs)
    for key, value in attributes.items():
        if value is None:
            attrs.pop(key, None)  # null clears an attribute
        elif isinstance(value, str | int | float | bool):
            attrs[key] = value
        else:
            raise ValueError(f"attribute {key!r}: expected a scalar, got {type(value).__name__}")
    changes: dict[str, Any] = {"attrs": MappingProxyType(attrs)}
    for key in ("name", "email"):
        if isinstance(attributes.get(key), str):
            changes[key] = attributes[key]
    return changes


def _attributes(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    attributes = event.get("attributes")
    if not isinstance(attributes, Mapping):
        attributes = {k: v for k, v in event.items() if k not in _RESERVED_KEYS}
    changed = {ATTR_PREFIX + key for key in attributes}
    changed.add("idle_s")
    if "name" in attributes:
        changed.add("visitor.name")
    if "email" in attributes:
        changed.add("visitor.email")
    return _merge_attributes(f, attributes), frozenset(changed)


def _chat_started(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    return {"chats": f.chats + 1}, _CHATS_CHANGED


def _activity(f: VisitorFacts, event: Mapping[str, Any], now: float) -> tuple:
    return {}, _ACTIVITY_CHANGED


_HANDLERS = {
    "hello": _hello,
    "page_view": _page_view,
    "track": _track,
    "cart": _cart,
    "attributes": _attributes,
    "chat_started": _chat_started,
    "chat_closed": _activity,
}
