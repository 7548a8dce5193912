"""The engine: firing, every gate code, choice, holdout, delay, trace, index, wakes."""

from inv_helpers import SITE, T0, rule

from invitations.caps import SiteContext, VisitorCounters
from invitations.engine import (
    SITE_FACTS,
    CancelPending,
    Decision,
    HoldOut,
    Invite,
    RuleSet,
    RuleTrace,
    evaluate,
)
from invitations.events import apply_event
from invitations.experiments import assign
from invitations.facts import DepartmentLoad, VisitorFacts

CHECKOUT = {"fact": "page.path", "op": "eq", "value": "/checkout"}
BIG_CART = {"fact": "cart.value", "op": "gte", "value": 100}
LONG_PAGE = {"fact": "page.time_s", "op": "gte", "value": 30}


def visitor(path="/checkout", cart=None, visitor_id="v1", at=T0):
    facts = apply_event(
        VisitorFacts(visitor_id),
        {"type": "hello", "page": {"url": f"https://s{path}"}, "lang": "en"},
        at,
    )
    if cart is not None:
        facts = apply_event(facts, {"type": "cart", "value": cart, "currency": "EUR"}, at)
    return facts


def run(rules, facts=None, counters=None, site=SITE, now=T0, **kw):
    return evaluate(
        facts or visitor(), RuleSet(rules), counters or VisitorCounters(), site, now, **kw
    )


def test_fires_with_text_and_variant():
    d = run([rule("r1", {"all": [CHECKOUT, BIG_CART]})], visitor(cart=150))
    assert d == Decision(
        (Invite("r1", "a", "Hello", "en", 0),), None, (RuleTrace("r1", "fired", None, "a"),), None
    )


def test_false_condition_is_traced_with_its_path():
    d = run([rule("r1", {"all": [CHECKOUT, BIG_CART]})], visitor(cart=50), explain=True)
    assert d.actions == ()
    assert d.trace == (RuleTrace("r1", "false", "when.all[1]"),)


def test_time_driven_firing_and_wake():
    r = rule("r1", {"all": [CHECKOUT, LONG_PAGE]})
    d = run([r])
    assert (d.actions, d.next_wake) == ((), T0 + 30)
    d = run([r], now=T0 + 30, changed_facts=frozenset(), prev_wake=T0 + 30)
    assert d.actions == (Invite("r1", "a", "Hello", "en", 0),)


def test_time_can_make_a_rule_false():
    r = rule("r1", {"all": [{"fact": "visit.time_s", "op": "lt", "value": 60}, LONG_PAGE]})
    assert run([r]).next_wake == T0 + 30
    facts = apply_event(visitor(), {"type": "page_view", "url": "https://s/x"}, T0 + 40)
    d = run([r], facts, now=T0 + 40)
    assert d.next_wake == T0 + 70  # page 30 s at visit 70 s: then visit.time_s < 60 is false
    assert run([r], facts, now=T0 + 70).actions == ()
    assert run([r], facts, now=T0 + 70).next_wake is None


def test_no_wake_when_only_an_event_can_help():
    assert run([rule("r1", {"all": [BIG_CART, LONG_PAGE]})], visitor(cart=5)).next_wake is None


def test_wakes_stop_at_the_end_of_the_visit():
    r = rule("r1", {"fact": "idle_s", "op": "gte", "value": 1800})
    assert run([r]).next_wake is None
    r = rule("r1", {"fact": "idle_s", "op": "gte", "value": 1799})
    assert run([r]).next_wake == T0 + 1799
    d = run([r], now=T0 + 1800)
    assert (d.actions, d.blocked) == ((), "no_visit")


def blocked(rules, **kw):
    d = run(rules, explain=True, **kw)
    return d.blocked, [(t.rule_id, t.outcome, t.detail) for t in d.trace], d.next_wake


def test_visitor_level_gates():
    r = [rule("r1")]
    assert blocked(r, counters=VisitorCounters(open_conversation=True)) == (
        "open_conversation",
        [("r1", "blocked", "open_conversation")],
        None,
    )
    assert blocked(r, counters=VisitorCounters(on_screen=True))[0] == "invitation_on_screen"
    site = SiteContext(SITE.departments, max_invitations_per_visit=1, max_invitations_per_day=2)
    shown = VisitorCounters().record_invite("rx", T0 - 10, T0).record_dismiss(T0 - 5)
    assert blocked(r, counters=shown, site=site)[0] == "fatigue"
    other_visit = (
        VisitorCounters().record_invite("rx", T0 - 7200, T0 - 7200).record_dismiss(T0 - 7100)
    )
    assert blocked(r, counters=other_visit, site=site)[0] is None
    # A budget of 0 holds from a visit's first evaluation (counters of no visit yet).
    none = SiteContext(SITE.departments, max_invitations_per_visit=0)
    assert blocked(r, counters=VisitorCounters(), site=none)[0] == "fatigue"
    day = (
        VisitorCounters()
        .record_invite("rx", T0 - 86000, T0 - 86000)
        .record_invite("rx", T0 - 7200, T0 - 7200)
        .record_dismiss(T0 - 7000)
    )
    assert blocked(r, counters=day, site=site) == (
        "fatigue",
        [("r1", "blocked", "fatigue")],
        T0 + 400,
    )


def test_rule_gates():
    site = SiteContext({"": DepartmentLoad(0, 0, 0, 0), "sales": DepartmentLoad(2, 3, 2, 1)})
    rules = [
        rule("mpv", gates={"max_per_visit": 1}),
        rule("days", gates={"min_days_between": 7}),
        rule("cool", gates={"cooldown_after_dismiss_s": 600}),
        rule(
            "sched",
            gates={
                "schedule": {
                    "timezone": "Europe/Zagreb",
                    "windows": [{"days": ["sat"], "from": "09:00", "to": "17:00"}],
                }
            },
        ),
        rule("offline", gates={"require_agent_online": True}),
        rule("full", gates={"require_agent_online": True, "department": "sales"}),
        rule("nodept", gates={"require_agent_online": True, "department": "support"}),
    ]
    counters = (
        VisitorCounters()
        .record_invite("mpv", T0 - 100, T0)
        .record_invite("days", T0 - 90, T0)
        .record_dismiss(T0 - 60)
    )
    b, trace, wake = blocked(rules, counters=counters, site=site)
    assert b is None
    assert sorted(trace) == sorted(
        [
            ("mpv", "blocked", "max_per_visit"),
            ("days", "blocked", "min_days_between"),
            ("cool", "blocked", "cooldown"),
            ("sched", "blocked", "schedule_closed"),
            ("offline", "blocked", "agent_offline"),
            ("full", "blocked", "no_capacity"),
            ("nodept", "blocked", "agent_offline"),
        ]
    )
    assert wake == T0 - 60 + 600  # the cooldown lifts first


def test_priority_then_oldest_then_order():
    rules = [
        rule("low", priority=1),
        rule("new", priority=5, created_ts=2000.0),
        rule("old", priority=5, created_ts=1000.0),
        rule("untimed", priority=5),
    ]
    d = run(rules, explain=True)
    assert d.actions == (Invite("old", "a", "Hello", "en", 0),)
    assert [(t.rule_id, t.outcome) for t in d.trace] == [
        ("old", "fired"),
        ("new", "outranked"),
        ("untimed", "outranked"),
        ("low", "outranked"),
    ]
    d = run([rule("x"), rule("y")])
    assert d.actions[0].rule_id == "x"


def test_disabled_rules_never_fire():
    d = run([rule("off", enabled=False), rule("on")], explain=True)
    assert d.actions[0].rule_id == "on"
    assert RuleTrace("off", "disabled") in d.trace


def held_out_visitor(rule_id, pct):
    return next(f"v{i}" for i in range(1000) if assign(f"v{i}", rule_id, pct, (1.0,))[0])


def test_holdout_then_next_rule():
    top = rule("top", priority=9, holdout_pct=50)
    low = rule("low", priority=1)
    vid = held_out_visitor("top", 50)
    facts = visitor(visitor_id=vid)
    d = run([top, low], facts)
    assert d.actions == (HoldOut("top", "a"), Invite("low", "a", "Hello", "en", 0))
    # Recorded: not repeated in this visit.
    counters = VisitorCounters().record_holdout("top", T0, facts.visit_started)
    d = run([top], facts, counters)
    assert d.actions == ()
    assert d.trace == (RuleTrace("top", "held_out", None, "a"),)


def test_variant_choice_is_by_weight_and_stable():
    r = rule(
        "ab",
        variants=[
            {"id": "a", "weight": 1, "text": {"en": "A"}},
            {"id": "b", "weight": 3, "text": {"en": "B"}},
        ],
    )
    seen = [run([r], visitor(visitor_id=f"v{i}")).actions[0].variant_id for i in range(400)]
    assert 70 < seen.count("a") < 130
    assert seen == [run([r], visitor(visitor_id=f"v{i}")).actions[0].variant_id for i in range(400)]


def test_delay_then_recheck_gates():
    r = rule("d", variants=[{"id": "a", "delay_s": 5, "text": {"en": "Hi {visitor.name|you}"}}])
    facts = visitor()
    d = run([r], facts)
    assert d.actions == (Invite("d", "a", "Hi you", "en", 5),)
    assert d.next_wake == T0 + 5
    pending = VisitorCounters().with_pending("d", "a", T0 + 5)
    d = run([r], facts, pending, now=T0 + 2)
    assert (d.actions, d.blocked, d.next_wake) == ((), "invitation_pending", T0 + 5)
    later = apply_event(facts, {"type": "attributes", "name": "Iva"}, T0 + 3)
    d = run([r], later, pending, now=T0 + 5)
    assert d.actions == (Invite("d", "a", "Hi Iva", "en", 0),)
    d = run([r], later, pending.with_conversation(True), now=T0 + 5)
    assert d.actions == (CancelPending("d", "a", "open_conversation"),)
    d = run([rule("other")], later, pending, now=T0 + 5)
    assert d.actions == (CancelPending("d", "a", "rule_removed"),)
    assert VisitorCounters().with_pending("d", "a", 1.0).clear_pending() == VisitorCounters()


def test_language_fallback_and_site_default():
    r = rule("t", variants=[{"id": "a", "text": {"de": "Hallo", "hr": "Bok", "en": "Hi"}}])
    for lang, expected in [("hr-HR", ("Bok", "hr")), ("de", ("Hallo", "de")), ("fr", ("Hi", "en"))]:
        facts = apply_event(
            VisitorFacts("v"), {"type": "hello", "page": {"url": "https://s/"}, "lang": lang}, T0
        )
        action = run([r], facts).actions[0]
        assert (action.text, action.lang) == expected
    site = SiteContext(SITE.departments, default_lang="hr")
    facts = apply_event(VisitorFacts("v"), {"type": "hello", "page": {"url": "https://s/"}}, T0)
    assert run([r], facts, site=site).actions[0].text == "Bok"
    assert (
        run([r], facts, site=SiteContext(SITE.departments, default_lang="it")).actions[0].text
        == "Hallo"
    )


def test_index_reevaluates_only_rules_reading_changed_facts():
    cart_rule = rule(
        "cart", {"all": [BIG_CART]}, gates={"require_agent_online": True, "department": "x"}
    )
    page_rule = rule(
        "page", {"all": [CHECKOUT]}, gates={"require_agent_online": True, "department": "x"}
    )
    rules = RuleSet([cart_rule, page_rule])
    facts = visitor(cart=150)

    def traced(changed):
        d = evaluate(facts, rules, VisitorCounters(), SITE, T0, changed)
        return [t.rule_id for t in d.trace]

    assert traced(None) == ["cart", "page"]
    assert traced(frozenset({"cart.value"})) == ["cart"]
    assert traced(frozenset({"page.path"})) == ["page"]
    assert traced(frozenset({"visitor.chats"})) == []
    assert traced(SITE_FACTS) == ["cart", "page"]  # capacity reads the department load
    flat = RuleSet([cart_rule, page_rule], indexed=False)
    d = evaluate(facts, flat, VisitorCounters(), SITE, T0, frozenset({"visitor.chats"}))
    assert [t.rule_id for t in d.trace] == ["cart", "page"]


def test_path_index_skips_rules_for_other_pages():
    rules = RuleSet([rule("co", {"all": [CHECKOUT, BIG_CART]}), rule("any", {"all": [BIG_CART]})])
    assert rules.path_mask("/checkout") == 0b11
    assert rules.path_mask("/blog") == 0b10
    assert rules.path_mask(None) == 0b10


def test_counters_round_trip():
    import json

    c = (
        VisitorCounters()
        .record_invite("r1", T0, T0)
        .record_holdout("r2", T0 + 1, T0)
        .record_dismiss(T0 + 2)
        .with_pending("r1", "a", T0 + 9)
        .with_conversation(True)
    )
    back = VisitorCounters.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c
    assert c.rule_count("r1", T0) == 1 and c.rule_count("r1", T0 + 5000) == 0
