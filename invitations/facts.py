"""What the engine knows about one visitor: `VisitorFacts`, fact look-up, serialisation.

`VisitorFacts` is immutable; `invitations.events.apply_event` returns a new one per
behaviour event. Facts that grow with time (`page.time_s`, `visit.time_s`, `idle_s`)
are stored as the instant they started from and computed against the `now` passed
in — so facts never go stale and nothing here reads a clock.

Units: every instant is float seconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from invitations import signals
from invitations.catalogue import ATTR_PREFIX, EVENT_PREFIX

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class _Missing:
    """The type of `MISSING`: a fact that has no value (distinct from any JSON value)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class DepartmentLoad:
    """Live load of one department (or of the whole site, key ""), passed in by the caller.

    `free_slots` is the sum over online agents of (max concurrent chats − active chats).
    """

    agents_online: int = 0
    free_slots: int = 0
    pending_invitations: int = 0
    queued_chats: int = 0
    # Inputs of the predicted wait (invitations.erlang): chats the online agents can
    # hold at once, new chats per second lately, mean chat duration in seconds.
    servers: int = 0
    arrivals_per_s: float = 0.0
    handle_time_s: float = 0.0


class VisitorFacts(NamedTuple):
    """Everything the rules may read about one visitor. Immutable; copy with `evolve`.

    A NamedTuple rather than a frozen dataclass because it is copied on every event:
    `evolve` costs well under a microsecond, `dataclasses.replace` on a frozen
    dataclass of this size about six. `attrs` and `events` are read-only mappings.
    """

    visitor_id: str
    page_url: str | None = None
    page_path: str | None = None
    page_title: str | None = None
    page_started: float | None = None  # instant the current page was opened
    page_scroll_pct: float | None = None
    visit_started: float | None = None  # instant this visit began; None before any visit
    visit_page_views: int = 0
    visit_referrer: str | None = None
    visit_landing_url: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    last_activity: float | None = None  # instant of the last activity (idle_s anchor)
    visits: int = 0
    chats: int = 0
    lang_tag: str | None = None  # full lower-case tag, e.g. "pt-br"; visitor.lang is "pt"
    device: str | None = None
    identified: bool = False
    name: str | None = None
    email: str | None = None
    tz: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, upper case, from the edge
    cart_value: float | None = None
    cart_items: int | None = None
    cart_currency: str | None = None
    attrs: Mapping[str, str | int | float | bool] = _EMPTY
    events: Mapping[str, int] = _EMPTY  # track counts, this visit
    # Struggle signals this visit (invitations.signals): counts per kind, and the
    # instant of the last one per kind and of any kind (the recency facts' anchors).
    signals: Mapping[str, int] = _EMPTY
    signal_at: float | None = None
    rage_click_at: float | None = None
    dead_click_at: float | None = None
    form_error_at: float | None = None
    page_loop_at: float | None = None
    search_no_results_at: float | None = None
    error_page_at: float | None = None
    long_wait_at: float | None = None
    # The last MAX_EVENT_TIMES instants of each track event, this visit (sliding windows).
    event_times: Mapping[str, tuple[float, ...]] = _EMPTY


_FIELD_INDEX = {name: i for i, name in enumerate(VisitorFacts._fields)}
_new_tuple = tuple.__new__


def evolve(facts: VisitorFacts, **changes: Any) -> VisitorFacts:
    """A copy of `facts` with `changes` (field name -> value). Raises KeyError for an
    unknown field."""
    values = list(facts)
    for name, value in changes.items():
        values[_FIELD_INDEX[name]] = value
    return _new_tuple(VisitorFacts, values)


# A getter returns the fact's value or None when it has none. Internally None is the
# missing marker (no fact value can be None); the public get_fact maps it to MISSING.
Getter = Callable[[VisitorFacts, float, DepartmentLoad | None], Any]


def _since(attr: str) -> Getter:
    def get(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> float | None:
        start = getattr(f, attr)
        return None if start is None else now - start

    return get


def _plain(attr: str) -> Getter:
    def get(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> Any:
        return getattr(f, attr)

    return get


def _lang(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> str | None:
    tag = f.lang_tag
    return None if tag is None else tag.split("-", 1)[0]


def _visits(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int:
    return f.visits


def _returning(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> bool:
    return f.visits > 1


def _agents(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int | None:
    return None if load is None else load.agents_online


def _queue(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int | None:
    return None if load is None else load.queued_chats


_GETTERS: dict[str, Getter] = {
    "page.url": _plain("page_url"),
    "page.path": _plain("page_path"),
    "page.title": _plain("page_title"),
    "page.time_s": _since("page_started"),
    "page.scroll_pct": _plain("page_scroll_pct"),
    "visit.time_s": _since("visit_started"),
    "visit.page_views": _plain("visit_page_views"),
    "visit.referrer": _plain("visit_referrer"),
    "visit.landing_url": _plain("visit_landing_url"),
    "visit.utm.source": _plain("utm_source"),
    "visit.utm.medium": _plain("utm_medium"),
    "visit.utm.campaign": _plain("utm_campaign"),
    "idle_s": _since("last_activity"),
    "visitor.visits": _visits,
    "visitor.returning": _returning,
    "visitor.chats": _plain("chats"),
    "visitor.lang": _lang,
    "visitor.device": _plain("device"),
    "visitor.identified": _plain("identified"),
    "visitor.name": _plain("name"),
    "visitor.email": _plain("email"),
    "visitor.country": _plain("country"),
    "cart.value": _plain("cart_value"),
    "cart.items": _plain("cart_items"),
    "cart.currency": _plain("cart_currency"),
    "site.agents_online": _agents,
    "site.queue_length": _queue,
}


def _signal_count(name: str | None) -> Getter:
    # Like event.NAME: a visit that saw no such signal counts 0; no visit, no value.
    def get(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int | None:
        if f.visit_started is None:
            return None
        return f.signals.get(name, 0) if name else sum(f.signals.values())

    return get


for _kind in signals.KINDS:
    _GETTERS[signals.PREFIX + _kind.name] = _signal_count(_kind.name)
    _GETTERS[signals.PREFIX + _kind.name + ".ago_s"] = _since(_kind.anchor)
_GETTERS[signals.PREFIX + "count"] = _signal_count(None)
_GETTERS[signals.PREFIX + "ago_s"] = _since(signals.TOTAL_ANCHOR)

# Which anchor attribute each time-growing fact is measured from (used by timing).
TIME_ANCHORS: dict[str, str] = {
    "page.time_s": "page_started",
    "visit.time_s": "visit_started",
    "idle_s": "last_activity",
    signals.PREFIX + "ago_s": signals.TOTAL_ANCHOR,
    **{signals.PREFIX + k.name + ".ago_s": k.anchor for k in signals.KINDS},
}


def fact_getter(name: str) -> Getter:
    """A fast getter for fact `name` (which the caller has validated against the catalogue).

    Raises KeyError for a name that is not a fact.
    """
    getter = _GETTERS.get(name)
    if getter is not None:
        return getter
    if name.startswith(ATTR_PREFIX):
        key = name[len(ATTR_PREFIX) :]

        def get_attr(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> Any:
            return f.attrs.get(key)

        return get_attr
    if name.startswith(EVENT_PREFIX):
        key = name[len(EVENT_PREFIX) :]

        # Counts are per visit; a visit that never saw the event counts 0.
        def get_event(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int | None:
            return None if f.visit_started is None else f.events.get(key, 0)

        return get_event
    raise KeyError(name)


def window_getter(event: str, within_s: float) -> Getter:
    """Count of `event` in the `within_s` seconds up to `now` (an instant `t` counts while
    `now - t < within_s`); 0 in a visit without it, missing before any visit. Counts
    stop at MAX_EVENT_TIMES (only that many instants are kept)."""

    def get(f: VisitorFacts, now: float, load: DepartmentLoad | None) -> int | None:
        if f.visit_started is None:
            return None
        return sum(1 for t in f.event_times.get(event, ()) if now - t < within_s)

    return get


def get_fact(facts: VisitorFacts, name: str, now: float, load: DepartmentLoad | None = None) -> Any:
    """The value of fact `name` at instant `now` (seconds since epoch), or `MISSING`.

    `load` is the department load used for `site.*` facts. Raises KeyError for an
    unknown fact name.
    """
    value = fact_getter(name)(facts, now, load)
    return MISSING if value is None else value


_MAPPINGS = ("attrs", "events", "signals", "event_times")
MAX_EVENT_TIMES = 50
# Fields added after facts version 1 shipped; a missing one takes its default, and one
# left out while empty keeps the record readable by a node of the previous release.
_OMIT_EMPTY = frozenset((*signals.FIELDS, "event_times"))


# Per field, in order: (name, left out while empty, a mapping) — looked up once, not
# on every save.
_FIELD_KINDS = tuple(
    (name, name in _OMIT_EMPTY, name in _MAPPINGS) for name in VisitorFacts._fields
)


def facts_to_dict(facts: VisitorFacts) -> dict[str, Any]:
    """JSON-able form of `facts` (for live visitor state in Redis). Exact round trip with
    `facts_from_dict`; versioned by the "v" key."""
    out: dict[str, Any] = {"v": 1}
    for (name, omit_empty, mapping), value in zip(_FIELD_KINDS, facts, strict=True):
        if omit_empty and not value:
            continue  # left out while empty: a node of the previous release can read it
        out[name] = dict(value) if mapping else value
    return out


_FIELD_NAMES = frozenset(VisitorFacts._fields)


def facts_from_dict(data: Mapping[str, Any]) -> VisitorFacts:
    """Inverse of `facts_to_dict`. Raises ValueError for an unknown version or field."""
    if data.get("v") != 1:
        raise ValueError(f"unsupported facts version {data.get('v')!r}")
    unknown = set(data) - _FIELD_NAMES - {"v"}
    if unknown:
        raise ValueError(f"unknown facts fields: {', '.join(sorted(unknown))}")
    kwargs = {k: v for k, v in data.items() if k != "v"}
    for name in _MAPPINGS:
        if name in kwargs:
            kwargs[name] = MappingProxyType(dict(kwargs[name]))
    if "event_times" in kwargs:  # JSON lists back to tuples
        times = {k: tuple(v) for k, v in kwargs["event_times"].items()}
        kwargs["event_times"] = MappingProxyType(times)
    return VisitorFacts(**kwargs)
