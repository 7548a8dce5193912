"""Decisions over time, the pure part: each rule's outcome (conditions first), only the
changes recorded, events always, the per-visit cap, the sample, the funnel."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from inv_helpers import SITE, T0, rule

from invitations.caps import SiteContext, VisitorCounters
from invitations.decisions import (
    GATE_ORDER,
    LIFE_RESERVE,
    MAX_CHANGES_PER_VISIT,
    Change,
    Tracker,
    admit,
    funnel,
    gates_of,
    in_sample,
    rule_outcomes,
    rules_to_check,
    stage,
)
from invitations.engine import RuleSet
from invitations.events import apply_event
from invitations.facts import DepartmentLoad, VisitorFacts

BIG_CART = {"fact": "cart.value", "op": "gte", "value": 100}
ON_SALE = {"fact": "page.path", "op": "eq", "value": "/sale"}


def visitor(cart=None, path="/checkout", visitor_id="v1"):
    facts = apply_event(
        VisitorFacts(visitor_id), {"type": "hello", "page": {"url": f"https://s{path}"}}, T0
    )
    if cart is not None:
        facts = apply_event(facts, {"type": "cart", "value": cart, "currency": "EUR"}, T0)
    return facts


def outcomes(rules, facts, counters=None, site=SITE, **kw):
    return rule_outcomes(facts, RuleSet(rules), counters or VisitorCounters(), site, T0, **kw)


def test_unmatched_then_fired_then_blocked_by_a_visitor_gate():
    r = rule("big", BIG_CART)
    assert outcomes([r], visitor(cart=10)) == {"big": Change("big", "unmatched")}
    assert outcomes([r], visitor(cart=150)) == {"big": Change("big", "fired", None, "a")}
    on_screen = VisitorCounters(on_screen=True)
    assert outcomes([r], visitor(cart=150), on_screen) == {
        "big": Change("big", "blocked", "invitation_on_screen")
    }


def test_conditions_come_first_even_under_a_visitor_gate():
    """The engine skips the conditions behind a visitor gate; the timeline does not:
    `blocked` always means the conditions held."""
    r = rule("big", BIG_CART)
    busy = VisitorCounters(open_conversation=True)
    assert outcomes([r], visitor(cart=10), busy) == {"big": Change("big", "unmatched")}
    assert outcomes([r], visitor(cart=500), busy)["big"].detail == "open_conversation"


def test_rule_gates_held_out_outranked_delayed_refused():
    paced = rule("paced", BIG_CART, gates={"require_agent_online": True, "department": "x"})
    assert outcomes([paced], visitor(cart=150))["paced"] == Change(
        "paced", "blocked", "agent_offline"
    )
    held = rule("held", BIG_CART, holdout_pct=50)
    # A visitor id the hash puts in the holdout group (found by trying a few).
    held_id = next(
        f"v{i}"
        for i in range(100)
        if outcomes([held], visitor(150, visitor_id=f"v{i}"))["held"].outcome == "held_out"
    )
    assert outcomes([held], visitor(150, visitor_id=held_id))["held"].variant_id == "a"
    first, second = rule("first", BIG_CART, priority=2), rule("second", BIG_CART)
    got = outcomes([first, second], visitor(cart=150))
    assert got["second"] == Change("second", "outranked", "first", "a")
    pending = VisitorCounters().with_pending("first", "a", T0 + 10)
    got = outcomes([first, second], visitor(cart=150), pending)
    assert got["first"] == Change("first", "delayed", None, "a")
    assert got["second"] == Change("second", "blocked", "invitation_pending")
    got = outcomes([first, second], visitor(cart=150), refused=["first"])
    assert got["first"] == Change("first", "blocked", "no_capacity")


def test_the_rule_on_screen_is_left_to_its_life():
    r = rule("big", BIG_CART)
    counters = VisitorCounters(on_screen=True)
    assert outcomes([r], visitor(cart=150), counters, on_screen_rule="big") == {}


def test_only_changes_are_recorded_and_events_always():
    tracker = Tracker(T0)
    matched = {"big": Change("big", "blocked", "schedule_closed")}
    assert tracker.changes({"big": Change("big", "unmatched")}) == []  # the start
    assert tracker.changes(matched) == [matched["big"]]
    assert tracker.take(matched["big"])
    for _ in range(100):  # a hundred evaluations, the same outcome: nothing new
        assert tracker.changes(matched) == []
    fired = Change("big", "fired", None, "a")
    assert tracker.take(fired) and tracker.take(fired)  # events: every time
    assert tracker.count == 1 + 2 * (1 + LIFE_RESERVE)
    assert tracker.changes({"big": Change("big", "unmatched")}) == [Change("big", "unmatched")]


def test_the_cap_per_visit_and_a_new_visit():
    tracker = Tracker(T0)
    flip = [Change("r", "blocked", "fatigue"), Change("r", "unmatched")]
    taken = sum(tracker.take(flip[i % 2]) for i in range(MAX_CHANGES_PER_VISIT + 50))
    assert taken == MAX_CHANGES_PER_VISIT == tracker.count
    assert not tracker.take(Change("r", "fired"))
    fresh = tracker.for_visit(T0 + 3600)
    assert (fresh.count, fresh.last, fresh.admitted) == (0, {}, None)
    assert tracker.for_visit(T0) is tracker


def test_a_fired_change_reserves_room_for_its_life():
    tracker = Tracker(T0, count=MAX_CHANGES_PER_VISIT - LIFE_RESERVE)
    assert not tracker.take(Change("r", "fired"))  # its life would not fit
    assert tracker.take(Change("r", "blocked", "fatigue"))


def test_tracker_round_trip_and_removed_rules():
    tracker = Tracker(T0, True, True, 7, {"a": ["fired", None], "gone": ["unmatched", None]})
    assert Tracker.from_dict(tracker.to_dict()) == tracker
    assert Tracker.from_dict(None) == Tracker()
    tracker.forget_rules(["a"])
    assert tracker.last == {"a": ["fired", None]}


def test_sampling_is_full_below_the_rate_then_a_stable_share():
    assert admit(0, 600, 10, "s", "v") == (True, False)
    assert admit(599, 600, 0, "s", "v") == (True, False)
    assert admit(600, 600, 0, "s", "v") == (False, False)
    assert admit(600, 600, 100, "s", "v") == (True, True)
    ids = [f"vi_{i}" for i in range(4000)]
    share = sum(in_sample("s", v, 10) for v in ids) / len(ids)
    assert 0.08 < share < 0.12
    assert [in_sample("s", v, 10) for v in ids[:50]] == [in_sample("s", v, 10) for v in ids[:50]]
    assert admit(600, 600, 10, "s", "vi_1") == admit(601, 600, 10, "s", "vi_1")


def test_stages_follow_the_engine_order():
    ranks = [stage("blocked", code) for code in GATE_ORDER]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert stage("unmatched", None) == 0
    assert ranks[-1] < stage("held_out", None) < stage("fired", None) < stage("shown", None)
    assert stage("shown", None) < stage("accepted", None) < stage("chatted", None)
    assert stage("chatted", None) < stage("converted", None)


def test_funnel_counts_the_visitors_past_each_step():
    # Furthest stage → visitors: 5 stopped by fatigue, 3 by the schedule, 2 held out,
    # 4 fired (not shown), 3 shown, 2 accepted, 1 converted.
    reached = {
        stage("blocked", "fatigue"): 5,
        stage("blocked", "schedule_closed"): 3,
        stage("held_out", None): 2,
        stage("fired", None): 4,
        stage("shown", None): 3,
        stage("accepted", None): 2,
        stage("converted", None): 1,
    }
    steps = funnel(reached, ["schedule_closed", "fatigue"])
    assert [(s.step, s.visitors) for s in steps] == [
        ("matched", 20),
        ("gate:fatigue", 15),
        ("gate:schedule_closed", 12),
        ("fired", 10),
        ("shown", 6),
        ("accepted", 3),
        ("chatted", 1),
        ("converted", 1),
    ]
    assert funnel({}, [])[0].visitors == 0


def test_gates_of_a_rule():
    r = rule("r", BIG_CART, gates={"max_per_visit": 1, "require_agent_online": True})
    assert gates_of(r.gates) == [
        "max_per_visit",
        "agent_offline",
        "no_capacity",
    ]


def test_site_facts_read_through_the_rule_department():
    online = {"fact": "site.agents_online", "op": "gte", "value": 1}
    r = rule("r", online, gates={"department": "x"})
    site = SiteContext({"x": DepartmentLoad(1, 1, 0, 0)})
    assert outcomes([r], visitor(), site=site)["r"].outcome == "fired"
    assert outcomes([r], visitor(), site=SiteContext())["r"].outcome == "unmatched"
    assert outcomes([rule("s", ON_SALE)], visitor())["s"].outcome == "unmatched"


PATHS = ["/", "/sale", "/checkout", "/collections/c1/x", "/help"]
OUTCOMES = [
    ["unmatched", None],
    ["unmatched", ""],
    ["fired", None],
    ["blocked", "fatigue"],
    ["blocked", "max_per_visit"],
    ["held_out", None],
]


def _random_rule(i: int, kind: int, path: str, cart: int, seconds: int) -> Any:
    guard = {"fact": "page.path", "op": "glob", "value": path + "*"}
    body = [
        {"fact": "cart.value", "op": "gte", "value": cart},
        {"fact": "page.time_s", "op": "gte", "value": seconds},
        {"fact": "visit.page_views", "op": "gte", "value": 1},
    ][kind % 3]
    when = {"all": [guard, body]} if kind < 3 else body  # some rules read no page
    extra: dict[str, Any] = {"priority": i % 3}
    if kind == 4:
        extra["holdout_pct"] = 50
    if kind == 5:
        extra["gates"] = {"max_per_visit": 1}
    return rule(f"r{i}", when, **extra)


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(PATHS),
            st.integers(0, 200),
            st.integers(0, 60),
        ),
        min_size=1,
        max_size=12,
    ),
    path=st.sampled_from(PATHS),
    cart=st.one_of(st.none(), st.integers(0, 300)),
    dwell=st.integers(0, 90),
    last=st.dictionaries(st.integers(0, 14), st.sampled_from(OUTCOMES), max_size=6),
    on_screen=st.booleans(),
    budget_used=st.booleans(),
)
def test_checking_only_the_rules_the_page_allows_records_the_same_changes(
    specs, path, cart, dwell, last, on_screen, budget_used
):
    """`rules_to_check` leaves out rules the page rules out: the changes recorded are
    exactly those of checking every rule."""
    rules = RuleSet([_random_rule(i, *spec) for i, spec in enumerate(specs)])
    facts = visitor(cart=cart, path=path)
    now = T0 + dwell
    counters = VisitorCounters(on_screen=on_screen)
    if budget_used:
        counters = counters.record_invite("r0", T0, facts.visit_started)
    tracker = Tracker(facts.visit_started, True, False, 0, {f"r{k}": v for k, v in last.items()})
    on_screen_rule = "r1" if on_screen else None
    full = rule_outcomes(facts, rules, counters, SITE, now, on_screen_rule=on_screen_rule)
    some = rule_outcomes(
        facts,
        rules,
        counters,
        SITE,
        now,
        on_screen_rule=on_screen_rule,
        within=rules_to_check(tracker, rules, facts),
    )
    assert tracker.changes(some) == tracker.changes(full)
    assert all(full[rule_id] == change for rule_id, change in some.items())
