"""Event counts over a sliding window and time-of-day conditions anywhere in the tree
: literal facts and `now` in, exact outcome and next wake out."""

import pytest
from inv_helpers import SITE, T0

from invitations import VisitorCounters, apply_event, compile_rule, evaluate, validate_rule
from invitations.facts import MAX_EVENT_TIMES, VisitorFacts, facts_from_dict, facts_to_dict

# T0 is Tuesday 10:00 UTC = 12:00 in Zagreb.


def visitor(*tracks: float) -> VisitorFacts:
    facts = apply_event(VisitorFacts("v"), {"type": "hello", "page": {"url": "https://s/"}}, T0)
    for at in tracks:
        facts = apply_event(facts, {"type": "track", "event": "add_to_cart"}, T0 + at)
    return facts


def make(when, tz="UTC"):
    return compile_rule(
        {"id": "r", "when": when, "variants": [{"id": "a", "text": {"en": "Hi"}}]}, tz
    )


def decide(rule, facts, now):
    return evaluate(facts, [rule], VisitorCounters(), SITE, now)


TWO_IN_TEN = {"fact": "event.add_to_cart", "op": "gte", "value": 2, "within_s": 600}


def test_a_count_within_a_window():
    rule = make(TWO_IN_TEN)
    assert [a.rule_id for a in decide(rule, visitor(0, 100), T0 + 100).actions] == ["r"]
    # The first add left the window (600 s) before the second came.
    assert decide(rule, visitor(0, 600), T0 + 600).actions == ()
    assert decide(rule, visitor(0, 599.5), T0 + 599.5).actions != ()


def test_time_alone_makes_a_fewer_than_count_true():
    quiet = make({"all": [{"fact": "event.add_to_cart", "op": "lt", "value": 1, "within_s": 60}]})
    facts = visitor(10)
    decision = decide(quiet, facts, T0 + 10)
    assert decision.actions == () and decision.next_wake == T0 + 70
    assert [a.rule_id for a in decide(quiet, facts, T0 + 70).actions] == ["r"]


def test_event_times_are_bounded_and_survive_serialisation():
    facts = visitor(*range(MAX_EVENT_TIMES + 10))
    assert len(facts.event_times["add_to_cart"]) == MAX_EVENT_TIMES
    assert facts.events["add_to_cart"] == MAX_EVENT_TIMES + 10
    assert facts_from_dict(facts_to_dict(facts)) == facts
    new_visit = apply_event(facts, {"type": "page_view", "url": "https://s/x"}, T0 + 7200)
    assert new_visit.event_times == {}


def active_at(at: float) -> VisitorFacts:
    """A visitor who arrived at T0 and did something at T0 + `at` (still in the visit)."""
    return apply_event(visitor(), {"type": "track", "event": "scroll"}, T0 + at)


ONE_TO_TWO_TUESDAY = {
    "any": [
        {"time": {"days": ["tue"], "from": "13:00", "to": "14:00"}},
        {"fact": "cart.value", "op": "gte", "value": 100},
    ]
}


def test_a_time_condition_inside_any_wakes_when_it_turns_true():
    rule = make(ONE_TO_TWO_TUESDAY, "Europe/Zagreb")  # the site's zone
    facts = active_at(3000)  # 12:50 in Zagreb
    decision = decide(rule, facts, T0 + 3000)
    assert decision.actions == () and decision.next_wake == T0 + 3600
    assert [a.rule_id for a in decide(rule, facts, T0 + 3600).actions] == ["r"]
    # The same rule on a site in UTC: 13:00 UTC is 3 h away, past the visit's end.
    utc = decide(make(ONE_TO_TWO_TUESDAY, "UTC"), facts, T0 + 3000)
    assert utc.actions == () and utc.next_wake is None


def test_a_time_condition_under_not_and_with_its_own_zone():
    window = {"days": ["tue"], "from": "10:20", "to": "10:40", "timezone": "UTC"}
    rule = make({"not": {"time": window}}, "Europe/Zagreb")
    assert [a.rule_id for a in decide(rule, visitor(), T0).actions] == ["r"]  # 10:00 UTC
    facts = active_at(1200)
    inside = decide(rule, facts, T0 + 1200)  # 10:20 UTC: inside, so `not` is false
    assert inside.actions == () and inside.next_wake == T0 + 2400
    assert [a.rule_id for a in decide(rule, facts, T0 + 2400).actions] == ["r"]


@pytest.mark.parametrize(
    ("when", "path", "message"),
    [
        (
            {"fact": "cart.value", "op": "gte", "value": 1, "within_s": 60},
            "when.within_s",
            "within_s applies only to event.NAME counts",
        ),
        (
            {"fact": "event.x", "op": "gte", "value": 1, "within_s": 0},
            "when.within_s",
            "expected a number of seconds above 0, at most 1800",
        ),
        (
            {"fact": "event.x", "op": "gte", "value": 1, "within_s": 3600},
            "when.within_s",
            "expected a number of seconds above 0, at most 1800",
        ),
        (
            {"time": {"days": ["tue"], "from": "13:00", "to": "14:00", "timezone": "Mars/Base"}},
            "when.time.timezone",
            'unknown time zone "Mars/Base"',
        ),
        (
            {"time": {"days": ["someday"], "from": "13:00", "to": "14:00"}},
            "when.time.days[0]",
            "expected one of mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            {"time": {"days": ["tue"], "from": "13:00", "to": "14:00", "at": 1}},
            "when.time.at",
            "unknown field",
        ),
        (
            {"time": "tuesdays"},
            "when.time",
            'expected an object with "days", "from" and "to"',
        ),
    ],
)
def test_bad_windows_and_times_are_refused_at_their_path(when, path, message):
    errors = validate_rule(
        {"id": "r", "when": when, "variants": [{"id": "a", "text": {"en": "x"}}]}
    )
    assert [(e.path, e.message) for e in errors] == [(path, message)]


def test_the_generated_check_agrees_with_the_reference_closures():
    from invitations.codegen import compile_fast
    from invitations.conditions import compile_node

    rule = make(
        {
            "all": [
                {
                    "any": [
                        TWO_IN_TEN,
                        {"not": {"time": {"days": ["tue"], "from": "12:30", "to": "13:00"}}},
                    ]
                },
                {"time": {"days": ["tue"], "from": "11:00", "to": "14:00"}},
            ]
        },
        "Europe/Zagreb",
    )
    fast, reference = compile_fast(rule.when), compile_node(rule.when)
    for facts in (visitor(), visitor(0, 100), active_at(1900)):
        for at in range(0, 7200, 300):
            assert fast(facts, T0 + at, None) == reference(facts, T0 + at, None), at
