"""Run a visitor `Query` over live visitors: the ordered matching ids, exact counts per
group, and keyset pages for REST. Pure: the caller passes the rows and the set of
visitors with a queued chat.

The order is total (ties broken by visitor id) so pages and windows never repeat or
skip a row that did not change. Missing values (no cart, no country) sort last in
both directions.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.chat.visitor_query import STATES, Query, QueryError, url_matcher

TOP_PAGES = 5
Key = tuple[Any, ...]


@dataclass(slots=True)
class Entry:
    """One live visitor as the mirror holds it: the summary the console shows, a
    revision that changes whenever the summary does, and its search text."""

    summary: dict[str, Any]
    rev: int
    search: str = ""

    @classmethod
    def of(cls, summary: dict[str, Any], rev: int) -> Entry:
        page = summary.get("page") or {}
        parts = (summary.get("name"), summary.get("email"), page.get("url"))
        return cls(summary, rev, "\n".join(p for p in parts if p).casefold())


def state_of(summary: Mapping[str, Any], queued: frozenset[str] | set[str]) -> str:
    if summary["id"] in queued:
        return "queued"
    if summary.get("in_chat"):
        return "in_chat"
    if summary.get("invitation"):
        return "invited"
    return "browsing"


@dataclass(slots=True)
class Listing:
    ids: list[str]
    keys: list[Key]
    states: dict[str, str]  # id → state, for the matching rows
    counts: dict[str, Any] = field(default_factory=dict)


def _page_url(s: Mapping[str, Any]) -> str | None:
    return (s.get("page") or {}).get("url")


def _value(sort: str, s: Mapping[str, Any], state: str) -> Any:
    """The column's value for sorting; None when the visitor has none."""
    if sort == "on_site":
        started = (s.get("visit") or {}).get("started_ts")
        return None if started is None else -float(started)  # ascending: newest first
    if sort == "name":
        label = s.get("name") or s.get("email")
        return label.casefold() if label else None
    if sort == "page":
        url = _page_url(s)
        return url.casefold() if url else None
    if sort == "cart":
        cart = s.get("cart")
        return None if cart is None else float(cart["value"])
    if sort == "state":
        return float(STATES.index(state))
    if sort == "returning":
        return 1.0 if s.get("returning") else 0.0
    if sort == "country":
        return (s.get("location") or {}).get("country")
    if sort == "page_views":
        return float((s.get("visit") or {}).get("page_views") or 0)
    value = s.get(sort)  # device, lang
    return value.casefold() if isinstance(value, str) and value else None


def sort_key(query: Query, s: Mapping[str, Any], state: str) -> Key:
    value = _value(query.sort, s, state)
    group = STATES.index(state) if query.group else 0
    if value is None:
        return (group, 1, 0.0 if query.sort not in _TEXT_SORTS else (), s["id"])
    if isinstance(value, str):
        # Text as code points, so a descending order is the same key negated; the final
        # 1 (above any negated code point) puts "ann-marie" before its prefix "ann".
        if query.descending:
            value = (*(-ord(c) for c in value), 1)
        else:
            value = tuple(map(ord, value))
    elif query.descending:
        value = -value
    return (group, 0, value, s["id"])


_TEXT_SORTS = frozenset({"name", "page", "country", "device", "lang"})


def _filter(query: Query) -> Callable[[Entry], bool] | None:
    """Every filter but `state` (the state counts are over this set)."""
    checks: list[Callable[[Entry], bool]] = []
    if query.q:
        q = query.q
        checks.append(lambda e: q in e.search)
    url = url_matcher(query.url)
    if url is not None:
        checks.append(lambda e: url.search((_page_url(e.summary) or "").casefold()) is not None)
    if query.cart_min is not None:
        least = query.cart_min
        checks.append(
            lambda e: e.summary.get("cart") is not None and e.summary["cart"]["value"] >= least
        )
    if query.returning is not None:
        wanted = query.returning
        checks.append(lambda e: bool(e.summary.get("returning")) == wanted)
    if query.countries:
        countries = query.countries
        checks.append(lambda e: (e.summary.get("location") or {}).get("country") in countries)
    if query.devices:
        devices = query.devices
        checks.append(lambda e: (e.summary.get("device") or "").casefold() in devices)
    if query.langs:
        langs = query.langs
        checks.append(lambda e: _lang_matches(e.summary.get("lang"), langs))
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda e: all(check(e) for check in checks)


def _lang_matches(tag: str | None, langs: tuple[str, ...]) -> bool:
    if not tag:
        return False
    tag = tag.casefold()
    return any(tag == lang or tag.startswith(lang + "-") for lang in langs)


def run(entries: Mapping[str, Entry], queued: frozenset[str] | set[str], query: Query) -> Listing:
    """The matching rows in order, with exact counts:

    `online` every live visitor; `matching` rows passing every filter; `states` per
    state over the rows passing every filter except `state` (so each group shows
    what choosing it would list); `returning`, `with_cart` and the top pages over
    the matching rows.
    """
    keep = _filter(query)
    state_counts = dict.fromkeys(STATES, 0)
    rows: list[tuple[Key, str]] = []
    states: dict[str, str] = {}
    returning = with_cart = 0
    pages: Counter[str] = Counter()
    for entry in entries.values():
        if keep is not None and not keep(entry):
            continue
        s = entry.summary
        state = state_of(s, queued)
        state_counts[state] += 1
        if query.states and state not in query.states:
            continue
        states[s["id"]] = state
        rows.append((sort_key(query, s, state), s["id"]))
        returning += bool(s.get("returning"))
        with_cart += s.get("cart") is not None
        url = _page_url(s)
        if url:
            pages[url] += 1
    rows.sort()
    counts = {
        "online": len(entries),
        "matching": len(rows),
        "states": state_counts,
        "returning": returning,
        "with_cart": with_cart,
        "pages": [{"url": u, "count": n} for u, n in _top(pages)],
    }
    return Listing([r[1] for r in rows], [r[0] for r in rows], states, counts)


def _top(pages: Counter[str]) -> list[tuple[str, int]]:
    # Ties by URL, so the same state gives the same list.
    return sorted(pages.items(), key=lambda item: (-item[1], item[0]))[:TOP_PAGES]


# -- REST pages ------------------------------------------------------------------------
def encode_cursor(query: Query, key: Key) -> str:
    raw = orjson.dumps({"q": query.params(), "k": list(key)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: Query, cursor: str) -> Key:
    """The key a cursor points after; QueryError if it is malformed or was made for
    another query (a cursor only continues the listing it came from)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        params, key = data["q"], data["k"]
        group, missing, value, visitor_id = key
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise QueryError("'cursor' is not valid") from None
    if params != query.params():
        raise QueryError("'cursor' belongs to another query: start again without it")
    if isinstance(value, list):
        value = tuple(value)
    ok = (
        isinstance(group, int)
        and isinstance(missing, int)
        and isinstance(visitor_id, str)
        and isinstance(value, (int, float, tuple))
    )
    if not ok:
        raise QueryError("'cursor' is not valid")
    return (group, missing, value, visitor_id)


def page_after(listing: Listing, after: Key | None, limit: int) -> tuple[list[str], Key | None]:
    """Up to `limit` ids after the key `after` (from the start when None), and the key
    to continue from (None on the last page)."""
    start = 0
    if after is not None:
        start = _first_after(listing.keys, after)
    ids = listing.ids[start : start + limit]
    end = start + len(ids)
    return ids, listing.keys[end - 1] if ids and end < len(listing.ids) else None


def _first_after(keys: list[Key], after: Key) -> int:
    low, high = 0, len(keys)
    while low < high:
        mid = (low + high) // 2
        try:
            before = keys[mid] <= after
        except TypeError:  # a cursor's value of another type than this column's
            raise QueryError("'cursor' belongs to another query: start again without it") from None
        if before:
            low = mid + 1
        else:
            high = mid
    return low
