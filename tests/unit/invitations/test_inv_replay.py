"""Backtest: recorded events through rules in simulated time, deterministic report."""

from dataclasses import replace

from inv_helpers import T0, rule

from invitations.capacity import CapacityPoint
from invitations.caps import SiteContext
from invitations.replay import (
    BacktestReport,
    HourLoad,
    RuleReport,
    VariantReport,
    backtest,
    percentile,
)
from invitations.replay_sim import Outcome

MS = 1000


def ev(visitor, seconds, type_, **fields):
    return {"visitor_id": visitor, "ts": int((T0 + seconds) * MS), "type": type_, **fields}


LOG = [
    ev("a", 0, "hello", page={"url": "https://s/checkout"}),
    ev("a", 5, "cart", value=150, currency="EUR"),
    ev("b", 10, "hello", page={"url": "https://s/checkout"}),
    ev("b", 20, "invitation_dismiss"),
    ev("c", 0, "hello", page={"url": "https://s/blog"}),
    ev("c", 100, "page_view", url="https://s/checkout"),
    ev("c", 110, "chat_start"),
    ev("d", 3600, "hello", page={"url": "https://s/checkout"}),
]
RULES = [
    rule(
        "long",
        {
            "all": [
                {"fact": "page.path", "op": "eq", "value": "/checkout"},
                {"fact": "page.time_s", "op": "gte", "value": 30},
            ]
        },
        gates={"max_per_visit": 2},
    ),
]


def test_report_is_exact():
    report = backtest(LOG, RULES, capacity_per_hour=2)
    (a, _, c, d) = report.per_visitor
    assert a.outcomes == (
        Outcome(T0 + 30, "long", "a", "invited"),
        Outcome(T0 + 150, "long", "a", "invited"),
    )
    assert c.outcomes == () and c.blocked == (("*", ("open_conversation",)),)
    assert d.gates_at == ()  # at the last event, d's hello: not 30 s on the page yet
    later = backtest(LOG, RULES, snapshot_at=T0 + 3700).per_visitor[3]
    assert later.gates_at == (("long", "invitation_on_screen"),)  # invited at 3630
    report = replace(report, per_visitor=())
    # Each of a, b, d fires 30 s into its visit; the invitation expires 120 s later and,
    # the page time still ≥ 30 s, the rule fires again (max_per_visit 2) 150 s in.
    # b's dismiss at 20 s came before any invitation; c opens a chat before 30 s on
    # /checkout, so it never fires.
    assert report == BacktestReport(
        visitors=4,
        visits=4,
        events=8,
        rules=(
            RuleReport(
                rule_id="long",
                visits_matched=3,
                triggered=6,
                held_out=0,
                shown=6,
                time_to_fire_p50=30.0,
                time_to_fire_p90=150.0,
                variants=(VariantReport("a", 6, 0, 6, 30.0, 150.0),),
            ),
        ),
        hourly_load=(
            HourLoad(T0, 4, 2, True),
            HourLoad(T0 + 3600, 2, 2, False),
        ),
        peak_per_hour=4,
        hours_over_capacity=1,
    )


def test_deterministic_and_order_independent():
    assert backtest(LOG, RULES) == backtest(list(reversed(LOG)), RULES)


def test_holdout_and_delay_are_counted():
    rules = [
        rule(
            "h",
            holdout_pct=50,
            variants=[{"id": "x", "delay_s": 2, "text": {"en": "x"}}],
            gates={"max_per_visit": 1},
        )
    ]
    log = [ev(f"v{i}", i, "hello", page={"url": "https://s/"}) for i in range(200)]
    report = backtest(log, rules).rules[0]
    assert report.triggered == 200
    assert report.held_out + report.shown == 200
    assert 70 < report.held_out < 130
    assert report.time_to_fire_p50 == 0.0


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([5.0, 1.0, 3.0, 2.0], 90) == 5.0


def outcomes(report, visitor):
    (found,) = [v for v in report.per_visitor if v.visitor_id == visitor]
    return [(o.ts - T0, o.rule_id, o.outcome, o.detail) for o in found.outcomes]


def test_the_site_budget_holds_across_rules_and_refires():
    """The "17 shown in the backtest, 1 live" bug: the site's per-visit budget."""
    rules = [rule("one", priority=2), rule("two", priority=1)]
    log = [ev("v", 0, "hello", page={"url": "https://s/"})]
    log += [ev("v", 130 * n, "page_view", url=f"https://s/{n}") for n in range(1, 9)]
    unlimited = backtest(log, rules)
    # "one" re-fires after each expiry (120 s) until the visit ends, 30 min after 1040 s.
    assert [(r.rule_id, r.shown) for r in unlimited.rules] == [("one", 24), ("two", 0)]
    budget = backtest(log, rules, SiteContext(max_invitations_per_visit=1))
    assert [(r.rule_id, r.shown) for r in budget.rules] == [("one", 1), ("two", 0)]
    assert outcomes(budget, "v") == [(0, "one", "invited", None)]
    assert budget.per_visitor[0].gates_at == (("one", "fatigue"), ("two", "fatigue"))


def test_an_expired_invitation_is_not_a_dismissal():
    rules = [rule("r", gates={"cooldown_after_dismiss_s": 3600, "max_per_visit": 2})]
    log = [ev("v", 0, "hello", page={"url": "https://s/"}), ev("v", 200, "page_view", url="/x")]
    assert [o[0] for o in outcomes(backtest(log, rules), "v")] == [0, 120]
    dismissed = [*log, ev("v", 10, "invitation_dismiss")]
    assert outcomes(backtest(dismissed, rules), "v") == [(0, "r", "invited", None)]


def test_answers_are_not_activity_and_accepting_opens_a_chat():
    rules = [rule("r")]
    log = [
        ev("v", 0, "hello", page={"url": "https://s/"}),
        ev("v", 5, "invitation_accept"),
        ev("v", 200, "page_view", url="/x"),
    ]
    report = backtest(log, rules)
    assert outcomes(report, "v") == [(0, "r", "invited", None)]
    assert report.per_visitor[0].gates_at == (("r", "open_conversation"),)


def test_no_time_driven_firing_while_the_visitor_is_away():
    rules = [
        rule(
            "r", when={"fact": "page.time_s", "op": "gte", "value": 30}, gates={"max_per_visit": 1}
        )
    ]
    log = [
        ev("v", 0, "hello", page={"url": "https://s/"}),
        ev("v", 10, "visitor_left"),
        ev("v", 60, "cart", value=5, currency="EUR"),  # posted over REST: facts only
    ]
    assert outcomes(backtest(log, rules), "v") == []
    back = [*log, ev("v", 100, "hello", page={"url": "https://s/"})]
    assert outcomes(backtest(back, rules), "v") == [(100, "r", "invited", None)]


def test_a_conversation_open_at_hello_blocks_that_hello():
    rules = [rule("r")]
    log = [
        ev("v", 0, "hello", page={"url": "https://s/"}),
        ev("v", 0.004, "conversation_state", open=True),
    ]
    report = backtest(log, rules)
    assert outcomes(report, "v") == []
    assert report.per_visitor[0].blocked == (("*", ("open_conversation",)),)


def test_pacing_shares_the_capacity_series_between_visitors():
    rules = [rule("r", gates={"require_agent_online": True, "max_per_visit": 1})]
    log = [ev(v, 0, "hello", page={"url": "https://s/"}) for v in ("a", "b", "c")]
    log.append(ev("a", 50, "invitation_dismiss"))
    capacity = [
        CapacityPoint(T0, "", 1, 1),
        CapacityPoint(T0 + 300, "", 1, 2),
    ]
    report = backtest(log, rules, capacity=capacity)
    assert outcomes(report, "a") == [(0, "r", "invited", None)]
    # b is held back (no_capacity) and looks again every 2 s: invited when a dismisses.
    assert outcomes(report, "b") == [(50, "r", "invited", None)]
    # c: b's invitation expires at 170 (its slot comes back), c is invited then.
    assert outcomes(report, "c") == [(170, "r", "invited", None)]
    assert dict(report.per_visitor[2].blocked)["r"] == ("no_capacity",)
    offline = backtest(log, rules, capacity=[CapacityPoint(T0 + 5000, "", 1, 1)])
    assert sum(r.shown for r in offline.rules) == 0
    assert dict(offline.per_visitor[0].blocked)["r"] == ("agent_offline",)


def test_nothing_after_the_window_is_simulated():
    log = [ev("v", 0, "hello", page={"url": "https://s/"})]
    rules = [rule("r")]
    assert len(outcomes(backtest(log, rules), "v")) == 15  # every 120 s for 30 min
    assert outcomes(backtest(log, rules, until=T0 + 119), "v") == [(0, "r", "invited", None)]


def test_manual_and_withdrawn_invitations_are_replayed():
    when = {"fact": "visit.page_views", "op": "gte", "value": 2}
    rules = [rule("r", when=when, gates={"max_per_visit": 1})]
    log = [
        ev("v", 0, "hello", page={"url": "https://s/"}),
        ev("v", 5, "invitation_manual"),
        ev("v", 10, "page_view", url="https://s/2"),
    ]
    report = backtest(log, rules, SiteContext(max_invitations_per_visit=1))
    assert outcomes(report, "v") == []  # the agent's invitation used the budget
    assert report.per_visitor[0].gates_at == (("r", "invitation_on_screen"),)
    withdrawn = [*log, ev("v", 20, "invitation_withdrawn")]
    assert outcomes(backtest(withdrawn, rules), "v") == [(20, "r", "invited", None)]
