"""Folding behaviour events into facts, every fact's value, serialisation."""

import json

import pytest

from invitations.events import apply_event, apply_event_changes
from invitations.facts import (
    MISSING,
    VisitorFacts,
    evolve,
    facts_from_dict,
    facts_to_dict,
    get_fact,
)

T = 1000.0
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15"
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"

HELLO = {
    "type": "hello",
    "page": {
        "url": "https://shop.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=spring",
        "title": "Spring sale",
        "referrer": "https://www.google.com/",
    },
    "accept_language": "hr-HR,hr;q=0.9,en-US;q=0.8",
    "user_agent": IPHONE,
    "identified": True,
    "country": "hr",
    "name": "Ana",
    "email": "ana@example.com",
    "attributes": {"plan": "pro", "seats": 3},
    "tz": "Europe/Zagreb",
}


def folded(*events, start=T, step=10.0):
    facts = VisitorFacts("v1")
    for i, event in enumerate(events):
        facts = apply_event(facts, event, start + i * step)
    return facts


def facts_at(facts, now):
    names = [
        "page.url",
        "page.path",
        "page.title",
        "page.time_s",
        "page.scroll_pct",
        "visit.time_s",
        "visit.page_views",
        "visit.referrer",
        "visit.landing_url",
        "visit.utm.source",
        "visit.utm.medium",
        "visit.utm.campaign",
        "idle_s",
        "visitor.visits",
        "visitor.returning",
        "visitor.chats",
        "visitor.lang",
        "visitor.device",
        "visitor.identified",
        "visitor.name",
        "visitor.email",
        "visitor.country",
        "cart.value",
        "cart.items",
        "cart.currency",
        "visitor.attr.plan",
        "event.exit_intent",
    ]
    return {name: get_fact(facts, name, now) for name in names}


def test_every_fact_after_a_realistic_visit():
    facts = folded(
        HELLO,
        {"type": "page_view", "url": "https://shop.example/checkout", "title": "Checkout"},
        {"type": "track", "event": "scroll", "props": {"depth": 40}},
        {"type": "track", "event": "scroll", "props": {"depth": 25}},
        {"type": "cart", "value": 150, "currency": "EUR", "items": 2},
        {"type": "track", "event": "exit_intent"},
    )
    assert facts_at(facts, T + 65) == {
        "page.url": "https://shop.example/checkout",
        "page.path": "/checkout",
        "page.title": "Checkout",
        "page.time_s": 55.0,
        "page.scroll_pct": 40,
        "visit.time_s": 65.0,
        "visit.page_views": 2,
        "visit.referrer": "https://www.google.com/",
        "visit.landing_url": HELLO["page"]["url"],
        "visit.utm.source": "google",
        "visit.utm.medium": "cpc",
        "visit.utm.campaign": "spring",
        "idle_s": 15.0,
        "visitor.visits": 1,
        "visitor.returning": False,
        "visitor.chats": 0,
        "visitor.lang": "hr",
        "visitor.device": "mobile",
        "visitor.identified": True,
        "visitor.name": "Ana",
        "visitor.email": "ana@example.com",
        "visitor.country": "HR",
        "cart.value": 150,
        "cart.items": 2,
        "cart.currency": "EUR",
        "visitor.attr.plan": "pro",
        "event.exit_intent": 1,
    }
    assert facts.lang_tag == "hr-hr"


def test_missing_facts_before_anything_happened():
    values = facts_at(VisitorFacts("v1"), T)
    assert values["visitor.visits"] == 0
    assert values["visitor.returning"] is False
    assert values["visitor.identified"] is False
    assert values["visitor.chats"] == 0
    assert values["visit.page_views"] == 0
    missing = {k for k, v in values.items() if v is MISSING}
    assert missing == set(values) - {
        "visitor.visits",
        "visitor.returning",
        "visitor.identified",
        "visitor.chats",
        "visit.page_views",
    }
    assert get_fact(VisitorFacts("v"), "site.agents_online", T) is MISSING
    with pytest.raises(KeyError):
        get_fact(VisitorFacts("v"), "nope", T)


def test_new_visit_after_30_minutes_of_inactivity():
    facts = folded(HELLO, {"type": "track", "event": "exit_intent"})
    assert facts.visits == 1
    facts, changed = apply_event_changes(
        facts, {"type": "page_view", "url": "https://shop.example/b?utm_source=mail"}, T + 10 + 1799
    )
    assert changed is not None and facts.visits == 1  # 29:59 idle: same visit
    later = T + 10 + 1799 + 1800
    facts, changed = apply_event_changes(
        facts, {"type": "page_view", "url": "https://shop.example/c?utm_source=mail"}, later
    )
    assert changed is None  # a new visit: everything may have changed
    assert facts_at(facts, later + 5) | {} == facts_at(facts, later + 5)
    assert get_fact(facts, "visitor.visits", later) == 2
    assert get_fact(facts, "visitor.returning", later) is True
    assert get_fact(facts, "visit.page_views", later) == 1
    assert get_fact(facts, "visit.time_s", later + 5) == 5.0
    assert get_fact(facts, "event.exit_intent", later) == 0
    assert get_fact(facts, "visit.utm.source", later) == "mail"
    assert get_fact(facts, "visit.referrer", later) is MISSING
    assert get_fact(facts, "visitor.name", later) == "Ana"  # the visitor is the same


@pytest.mark.parametrize(
    ("sent", "kept"), [("si", "SI"), ("XX", None), ("T1", None), ("HRV", None), (7, None)]
)
def test_country_from_the_hello_only_when_it_is_a_country_code(sent, kept):
    facts = apply_event(VisitorFacts("v"), {"type": "hello", "country": sent}, T)
    assert facts.country == kept


def test_the_same_page_again_is_not_a_new_view():
    url = HELLO["page"]["url"]
    facts = folded(HELLO, {"type": "page_view", "url": url, "title": "Spring sale!"})
    assert get_fact(facts, "visit.page_views", T + 20) == 1  # the widget's view after hello
    assert get_fact(facts, "page.title", T + 20) == "Spring sale!"
    facts = apply_event(facts, HELLO, T + 30)  # a reconnect on the same page
    assert get_fact(facts, "visit.page_views", T + 40) == 1
    assert get_fact(facts, "page.time_s", T + 40) == 40.0  # time on the page goes on
    facts = apply_event(facts, {"type": "page_view", "url": "https://shop.example/b"}, T + 50)
    facts = apply_event(facts, {"type": "page_view", "url": url}, T + 60)  # back: a view
    assert get_fact(facts, "visit.page_views", T + 60) == 3
    assert get_fact(facts, "page.time_s", T + 70) == 10.0
    # After 30 minutes away the same page opens a new visit, and counts in it.
    later = T + 60 + 1800
    facts = apply_event(facts, HELLO, later)
    assert get_fact(facts, "visitor.visits", later) == 2
    assert get_fact(facts, "visit.page_views", later) == 1


def test_idle_track_is_not_activity():
    facts = folded(HELLO)
    facts, changed = apply_event_changes(facts, {"type": "track", "event": "idle"}, T + 40)
    assert changed == frozenset({"event.idle"})
    assert get_fact(facts, "idle_s", T + 50) == 50.0
    facts, changed = apply_event_changes(facts, {"type": "track", "event": "active"}, T + 60)
    assert changed == frozenset({"event.active", "idle_s"})
    assert get_fact(facts, "idle_s", T + 61) == 1.0


@pytest.mark.parametrize(
    ("event", "changed"),
    [
        (
            {"type": "page_view", "url": "https://x/y"},
            {
                "page.url",
                "page.path",
                "page.title",
                "page.time_s",
                "page.scroll_pct",
                "visit.page_views",
                "idle_s",
            },
        ),
        (
            {"type": "cart", "value": 1, "currency": "EUR"},
            {"cart.value", "cart.currency", "cart.items", "idle_s"},
        ),
        ({"type": "track", "event": "add_to_cart"}, {"event.add_to_cart", "idle_s"}),
        (
            {"type": "track", "event": "scroll", "props": {"depth": 10}},
            {"event.scroll", "page.scroll_pct", "idle_s"},
        ),
        (
            {"type": "attributes", "plan": "pro", "name": "Iva"},
            {"visitor.attr.plan", "visitor.attr.name", "visitor.name", "idle_s"},
        ),
        (
            {"type": "attributes", "attributes": {"email": "a@b.c"}},
            {"visitor.attr.email", "visitor.email", "idle_s"},
        ),
        ({"type": "chat_started"}, {"visitor.chats", "idle_s"}),
        ({"type": "chat_closed"}, {"idle_s"}),
        ({"type": "message"}, {"idle_s"}),
        ({"type": "hello", "page": {"url": "https://x/"}}, None),
    ],
)
def test_changed_facts_per_event(event, changed):
    facts = folded(HELLO)
    _, got = apply_event_changes(facts, event, T + 5)
    assert got == (None if changed is None else frozenset(changed))


def test_attributes_and_chats():
    facts = folded(
        HELLO, {"type": "attributes", "plan": None, "vip": True}, {"type": "chat_started"}
    )
    assert dict(facts.attrs) == {"seats": 3, "vip": True}
    assert facts.chats == 1
    with pytest.raises(ValueError, match="expected a scalar"):
        apply_event(facts, {"type": "attributes", "x": [1]}, T + 100)


def test_cart_replaces_the_cart_and_rejects_bad_values():
    facts = folded(
        HELLO,
        {"type": "cart", "value": 10, "currency": "EUR", "items": 1},
        {"type": "cart", "value": 0, "currency": "USD"},
    )
    assert (facts.cart_value, facts.cart_currency, facts.cart_items) == (0, "USD", None)
    for bad in (
        {"value": float("inf")},
        {"value": "10"},
        {"value": True},
        {"value": 1, "items": 1.5},
    ):
        with pytest.raises(ValueError):
            apply_event(facts, {"type": "cart", "currency": "EUR", **bad}, T + 100)
    with pytest.raises(ValueError, match="string 'type'"):
        apply_event(facts, {"event": "x"}, T)


@pytest.mark.parametrize(
    ("hello", "lang"),
    [
        ({"lang": "pt-BR", "accept_language": "en"}, "pt-br"),
        ({"accept_language": "en-US,en;q=0.9,hr;q=0.95"}, "en-us"),
        ({"accept_language": "de;q=0.5,fr;q=0.8,*;q=0.9"}, "fr"),
        ({"accept_language": "sl_SI"}, "sl-si"),
        ({}, None),
    ],
)
def test_language(hello, lang):
    facts = apply_event(VisitorFacts("v"), {"type": "hello", **hello}, T)
    assert facts.lang_tag == lang


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        (IPHONE, "mobile"),
        (IPAD, "tablet"),
        (ANDROID_TABLET, "tablet"),
        (ANDROID_PHONE, "mobile"),
        (WINDOWS, "desktop"),
        ("", "desktop"),
    ],
)
def test_device_from_user_agent(ua, device):
    facts = apply_event(VisitorFacts("v"), {"type": "hello", "user_agent": ua}, T)
    assert facts.device == device


def test_serialisation_round_trip_is_exact():
    facts = folded(
        HELLO,
        {"type": "cart", "value": 99.95, "currency": "EUR", "items": 3},
        {"type": "track", "event": "exit_intent"},
        step=0.1,
    )
    data = json.loads(json.dumps(facts_to_dict(facts)))
    back = facts_from_dict(data)
    assert back == facts
    assert facts_to_dict(back) == facts_to_dict(facts)
    with pytest.raises(ValueError, match="unsupported facts version"):
        facts_from_dict({**data, "v": 2})
    with pytest.raises(ValueError, match="unknown facts fields: colour"):
        facts_from_dict({**data, "colour": 1})


def test_facts_are_immutable_and_evolve_copies():
    facts = VisitorFacts("v")
    with pytest.raises(AttributeError):
        facts.cart_value = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        facts.attrs["x"] = 1  # type: ignore[index]
    other = evolve(facts, cart_value=5.0)
    assert (facts.cart_value, other.cart_value) == (None, 5.0)
