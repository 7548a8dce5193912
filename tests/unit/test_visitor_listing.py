"""server/chat/visitor_listing.py: literal visitors in, exact ids, counts and pages out."""

from __future__ import annotations

from typing import Any

import pytest

from server.chat.visitor_listing import (
    Entry,
    decode_cursor,
    encode_cursor,
    page_after,
    run,
    state_of,
)
from server.chat.visitor_query import QueryError, parse_query


def visitor(vid: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": vid,
        "name": fields.get("name"),
        "email": fields.get("email"),
        "returning": fields.get("returning", False),
        "page": {"url": fields.get("url"), "title": None, "since_ts": None},
        "visit": {"started_ts": fields.get("started"), "page_views": fields.get("views", 1)},
        "device": fields.get("device"),
        "lang": fields.get("lang"),
        "location": {"country": fields["country"]} if "country" in fields else None,
        "cart": {"value": fields["cart"], "currency": "EUR", "items": 1}
        if "cart" in fields
        else None,
        "in_chat": fields.get("in_chat", False),
        "invitation": fields.get("invitation"),
    }


VISITORS = [
    visitor(
        "v1",
        name="Ann",
        url="https://s.ex/cart",
        cart=120.0,
        started=1000,
        country="DE",
        device="desktop",
        lang="de-de",
        returning=True,
    ),
    visitor(
        "v2",
        email="bob@x.io",
        url="https://s.ex/p/1",
        cart=20.0,
        started=3000,
        country="FR",
        device="mobile",
        lang="fr",
        in_chat=True,
    ),
    visitor(
        "v3",
        name="Cyd",
        url="https://s.ex/p/2",
        started=2000,
        device="mobile",
        lang="pt-br",
        invitation={"id": "in_1"},
    ),
    visitor(
        "v4",
        url="https://s.ex/cart",
        cart=60.0,
        started=4000,
        country="DE",
        lang="de",
        returning=True,
    ),
    visitor("v5", name="ann-marie", url="https://s.ex/", started=None),
]
ENTRIES = {v["id"]: Entry.of(v, 1) for v in VISITORS}
QUEUED = frozenset({"v4"})


def ids(**params: str) -> list[str]:
    return run(ENTRIES, QUEUED, parse_query(params)).ids


def test_states_come_from_the_queue_the_chat_and_the_invitation() -> None:
    assert [state_of(v, QUEUED) for v in VISITORS] == [
        "browsing",
        "in_chat",
        "invited",
        "queued",
        "browsing",
    ]


def test_default_order_is_newest_arrival_first_and_unknown_last() -> None:
    assert ids() == ["v4", "v2", "v3", "v1", "v5"]
    assert ids(sort="-on_site") == ["v1", "v3", "v2", "v4", "v5"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "ann"}, ["v1", "v5"]),
        ({"q": "BOB@"}, ["v2"]),
        ({"q": "/p/"}, ["v2", "v3"]),
        ({"state": "in_chat,invited"}, ["v2", "v3"]),
        ({"state": "queued"}, ["v4"]),
        ({"url": "*/cart"}, ["v4", "v1"]),
        ({"url": "p/"}, ["v2", "v3"]),
        ({"cart_min": "60"}, ["v4", "v1"]),
        ({"returning": "false"}, ["v2", "v3", "v5"]),
        ({"country": "de"}, ["v4", "v1"]),
        ({"device": "mobile"}, ["v2", "v3"]),
        ({"lang": "pt"}, ["v3"]),
        ({"lang": "de"}, ["v4", "v1"]),
        ({"sort": "cart"}, ["v2", "v4", "v1", "v3", "v5"]),
        ({"sort": "-cart"}, ["v1", "v4", "v2", "v3", "v5"]),
        ({"sort": "name"}, ["v1", "v5", "v2", "v3", "v4"]),
        ({"sort": "-name"}, ["v3", "v2", "v5", "v1", "v4"]),
        ({"sort": "country"}, ["v1", "v4", "v2", "v3", "v5"]),
        ({"group": "state"}, ["v4", "v2", "v3", "v1", "v5"]),
        ({"group": "state", "sort": "name"}, ["v4", "v2", "v3", "v1", "v5"]),
        ({"q": "zzz"}, []),
    ],
)
def test_each_filter_and_sort(params: dict[str, str], expected: list[str]) -> None:
    assert ids(**params) == expected


def test_counts_are_exact_and_states_ignore_only_the_state_filter() -> None:
    listing = run(ENTRIES, QUEUED, parse_query({"country": "DE,FR", "state": "browsing"}))
    assert listing.ids == ["v1"]
    assert listing.counts == {
        "online": 5,
        "matching": 1,
        "states": {"queued": 1, "in_chat": 1, "invited": 0, "browsing": 1},
        "returning": 1,
        "with_cart": 1,
        "pages": [{"url": "https://s.ex/cart", "count": 1}],
    }
    everyone = run(ENTRIES, QUEUED, parse_query({}))
    assert everyone.counts["pages"] == [
        {"url": "https://s.ex/cart", "count": 2},
        {"url": "https://s.ex/", "count": 1},
        {"url": "https://s.ex/p/1", "count": 1},
        {"url": "https://s.ex/p/2", "count": 1},
    ]
    assert everyone.states == {
        "v1": "browsing",
        "v2": "in_chat",
        "v3": "invited",
        "v4": "queued",
        "v5": "browsing",
    }


@pytest.mark.parametrize("sort", ["on_site", "-name", "cart", "-cart", "page", "state"])
def test_pages_cover_everyone_once_through_cursors(sort: str) -> None:
    query = parse_query({"sort": sort, "group": "state"})
    listing = run(ENTRIES, QUEUED, query)
    seen: list[str] = []
    after = None
    while True:
        page, last = page_after(listing, after, 2)
        seen += page
        if last is None:
            break
        after = decode_cursor(query, encode_cursor(query, last))
    assert seen == listing.ids and len(seen) == 5


def test_a_cursor_continues_after_its_row_when_rows_before_it_left() -> None:
    query = parse_query({})
    listing = run(ENTRIES, QUEUED, query)
    page, last = page_after(listing, None, 2)
    assert page == ["v4", "v2"] and last is not None
    fewer = {k: v for k, v in ENTRIES.items() if k not in ("v4", "v2")}
    rest, end = page_after(run(fewer, QUEUED, query), last, 10)
    assert rest == ["v3", "v1", "v5"] and end is None


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("!!!", "'cursor' is not valid"),
        ("eyJ4IjoxfQ", "'cursor' is not valid"),  # {"x":1}
        ("", "'cursor' is not valid"),
    ],
)
def test_bad_cursors(cursor: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        decode_cursor(parse_query({}), cursor)
    assert str(caught.value) == message


def test_a_cursor_of_another_query_is_refused() -> None:
    by_cart = parse_query({"sort": "cart"})
    listing = run(ENTRIES, QUEUED, by_cart)
    _, last = page_after(listing, None, 1)
    assert last is not None
    cursor = encode_cursor(by_cart, last)
    with pytest.raises(QueryError) as caught:
        decode_cursor(parse_query({"sort": "name"}), cursor)
    assert str(caught.value) == "'cursor' belongs to another query: start again without it"
