"""server/chat/visitor_query.py: flat parameters in, a Query (or one exact message) out."""

from __future__ import annotations

import pytest

from server.chat.visitor_query import Query, QueryError, parse_query, url_matcher


def test_every_parameter_parses_and_round_trips() -> None:
    params = {
        "q": "  Zoë ",
        "state": "invited,queued",
        "url": "*/cart*",
        "cart_min": "50",
        "returning": "true",
        "country": "de,fr",
        "device": "Mobile",
        "lang": "pt,EN",
        "sort": "-cart",
        "group": "state",
    }
    query = parse_query(params)
    assert query == Query(
        q="zoë",
        states=frozenset({"invited", "queued"}),
        url="*/cart*",
        cart_min=50.0,
        returning=True,
        countries=frozenset({"DE", "FR"}),
        devices=frozenset({"mobile"}),
        langs=("en", "pt"),
        sort="cart",
        descending=True,
        group=True,
    )
    assert query.params() == {
        "q": "zoë",
        "state": "queued,invited",
        "url": "*/cart*",
        "cart_min": "50",
        "returning": "true",
        "country": "DE,FR",
        "device": "mobile",
        "lang": "en,pt",
        "sort": "-cart",
        "group": "state",
    }
    assert parse_query(query.params()) == query
    assert parse_query({}) == Query() and Query().params() == {}


def test_typed_values_from_a_frame_are_accepted() -> None:
    assert parse_query({"cart_min": 10, "returning": False}) == Query(
        cart_min=10.0, returning=False
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stat": "queued"}, "unknown parameter 'stat'"),
        (
            {"state": "chatting"},
            "'state' must be a comma list of queued, in_chat, invited, browsing",
        ),
        ({"cart_min": "lots"}, "'cart_min' must be a number ≥ 0"),
        ({"cart_min": "-1"}, "'cart_min' must be a number ≥ 0"),
        ({"cart_min": "inf"}, "'cart_min' must be a number ≥ 0"),
        ({"cart_min": "nan"}, "'cart_min' must be a number ≥ 0"),
        ({"returning": "maybe"}, "'returning' must be true or false"),
        ({"country": "Germany"}, "'country' must be a comma list of two-letter country codes"),
        (
            {"sort": "age"},
            "'sort' must be one of on_site, name, page, cart, state, returning, "
            "country, device, lang, page_views (prefix '-' to reverse)",
        ),
        ({"group": "page"}, "'group' must be 'state' or empty"),
        ({"q": "x" * 501}, "'q' must be at most 500 characters"),
        ({"device": ",".join("d" * 21)}, "'device' must list at most 20 values"),
        ({"q": True}, "'q' must be a string"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(params: dict, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(params)
    assert str(caught.value) == message


def test_rest_paging_parameters_may_be_ignored() -> None:
    assert (
        parse_query({"limit": "5", "cursor": "x"}, ignore=frozenset({"limit", "cursor"})) == Query()
    )


def test_url_patterns() -> None:
    star = url_matcher("*/cart*")
    assert star is not None
    assert star.search("https://shop.example/cart?x") and not star.search("https://shop.example/p")
    plain = url_matcher("a.b")
    assert plain is not None and plain.search("xa.by") and not plain.search("axb")
    assert url_matcher("") is None
