"""The live visitor list as a query: search, filters, sort and grouping, parsed from the
same flat parameters wherever they come from (REST query string, the console's `view`
frame, a deep link `/agent/#visitors?...`). Pure: no I/O, no clock.

Parameters (all optional; protocol.md, "Live visitor view"):
  q          search in name, email and page URL (case-insensitive substring)
  state      comma list of browsing, invited, in_chat, queued
  url        page URL pattern: `*` matches anything; without `*` a substring
  cart_min   cart value at least this (a number ≥ 0)
  returning  true / false
  country    comma list of ISO 3166 alpha-2 codes
  device     comma list (desktop, mobile, tablet, …)
  lang       comma list of language tags; `pt` matches `pt-br`
  sort       a column, `-column` for descending: on_site (default), name, page, cart,
             state, returning, country, device, lang, page_views
  group      `state` (rows ordered by state first) or empty
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATES = ("queued", "in_chat", "invited", "browsing")  # also the group order
SORTS = (
    "on_site",
    "name",
    "page",
    "cart",
    "state",
    "returning",
    "country",
    "device",
    "lang",
    "page_views",
)
PARAMS = frozenset(
    {"q", "state", "url", "cart_min", "returning", "country", "device", "lang", "sort", "group"}
)
MAX_PARAM_CHARS = 500
MAX_LIST_ITEMS = 20


class QueryError(ValueError):
    """A parameter is malformed; the message names it (`'cart_min' must be a number ≥ 0`)."""


@dataclass(frozen=True, slots=True)
class Query:
    q: str = ""
    states: frozenset[str] = frozenset()
    url: str = ""
    cart_min: float | None = None
    returning: bool | None = None
    countries: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    langs: tuple[str, ...] = ()
    sort: str = "on_site"
    descending: bool = False
    group: bool = False

    @property
    def key(self) -> tuple[Any, ...]:
        """Hashable identity: views with the same key share one computed result."""
        return (
            self.q,
            tuple(sorted(self.states)),
            self.url,
            self.cart_min,
            self.returning,
            tuple(sorted(self.countries)),
            tuple(sorted(self.devices)),
            self.langs,
            self.sort,
            self.descending,
            self.group,
        )

    def params(self) -> dict[str, str]:
        """The flat parameters that parse back to this query (defaults left out)."""
        out: dict[str, str] = {}
        if self.q:
            out["q"] = self.q
        if self.states:
            out["state"] = ",".join(s for s in STATES if s in self.states)
        if self.url:
            out["url"] = self.url
        if self.cart_min is not None:
            out["cart_min"] = f"{self.cart_min:g}"
        if self.returning is not None:
            out["returning"] = "true" if self.returning else "false"
        if self.countries:
            out["country"] = ",".join(sorted(self.countries))
        if self.devices:
            out["device"] = ",".join(sorted(self.devices))
        if self.langs:
            out["lang"] = ",".join(self.langs)
        if self.sort != "on_site" or self.descending:
            out["sort"] = ("-" if self.descending else "") + self.sort
        if self.group:
            out["group"] = "state"
        return out


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QueryError(f"'{name}' must be a string")
    text = str(value).strip()
    if len(text) > MAX_PARAM_CHARS:
        raise QueryError(f"'{name}' must be at most {MAX_PARAM_CHARS} characters")
    return text


def _items(name: str, value: Any) -> list[str]:
    items = [part.strip() for part in _text(name, value).split(",") if part.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise QueryError(f"'{name}' must list at most {MAX_LIST_ITEMS} values")
    return items


def parse_query(params: Mapping[str, Any], *, ignore: frozenset[str] = frozenset()) -> Query:
    """A `Query` from flat parameters; raises QueryError naming the first bad one.

    Unknown parameters are refused (a typo must not silently show everyone), except
    the names in `ignore` (e.g. REST's `limit` and `cursor`).
    """
    unknown = sorted(set(params) - PARAMS - ignore)
    if unknown:
        raise QueryError(f"unknown parameter '{unknown[0]}'")
    states = _items("state", params.get("state", ""))
    for state in states:
        if state not in STATES:
            raise QueryError(f"'state' must be a comma list of {', '.join(STATES)}")
    cart_min: float | None = None
    raw_cart = _text("cart_min", params.get("cart_min", ""))
    if raw_cart:
        try:
            cart_min = float(raw_cart)
        except ValueError:
            raise QueryError("'cart_min' must be a number ≥ 0") from None
        if not 0 <= cart_min < float("inf"):
            raise QueryError("'cart_min' must be a number ≥ 0")
    returning = _boolean(params.get("returning", ""))
    countries = [c.upper() for c in _items("country", params.get("country", ""))]
    for country in countries:
        if re.fullmatch(r"[A-Z]{2}", country) is None:
            raise QueryError("'country' must be a comma list of two-letter country codes")
    raw_sort = _text("sort", params.get("sort", "")) or "on_site"
    descending = raw_sort.startswith("-")
    sort = raw_sort.lstrip("-")
    if sort not in SORTS:
        raise QueryError(f"'sort' must be one of {', '.join(SORTS)} (prefix '-' to reverse)")
    group = _text("group", params.get("group", ""))
    if group not in ("", "state"):
        raise QueryError("'group' must be 'state' or empty")
    return Query(
        q=_text("q", params.get("q", "")).casefold(),
        states=frozenset(states),
        url=_text("url", params.get("url", "")).casefold(),
        cart_min=cart_min,
        returning=returning,
        countries=frozenset(countries),
        devices=frozenset(d.casefold() for d in _items("device", params.get("device", ""))),
        langs=tuple(sorted({x.casefold() for x in _items("lang", params.get("lang", ""))})),
        sort=sort,
        descending=descending,
        group=group == "state",
    )


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text("returning", value).lower()
    if text == "":
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise QueryError("'returning' must be true or false")


def url_matcher(pattern: str) -> re.Pattern[str] | None:
    """`*` is a wildcard over the whole URL; without one the pattern is a substring."""
    if not pattern:
        return None
    if "*" not in pattern:
        return re.compile(re.escape(pattern))
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile("^" + ".*".join(parts) + "$")
