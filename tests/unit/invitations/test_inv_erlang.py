"""Erlang C against values worked by hand and published tables."""

import math

import pytest

from invitations.erlang import erlang_b, erlang_c, predict_wait


def test_erlang_b_known_values():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(3, 2.0) == pytest.approx(4 / 19)  # (8/6) / (1 + 2 + 2 + 8/6)
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)  # standard table


def test_erlang_c_known_values():
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(10, 8.0) == pytest.approx(0.409, abs=5e-4)  # standard table
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(0, 1.0) == 1.0


def test_predicted_wait():
    # M/M/1, λ = 1/120 per s, h = 60 s: ρ = 0.5, W = ρ·h/(1−ρ) = 60 s.
    mm1 = predict_wait(1, 1 / 120, 60)
    assert mm1.load_erlangs == pytest.approx(0.5)
    assert mm1.predicted_wait_s == pytest.approx(60.0)
    # N = 3, A = 2 (λ = 1/150 per s, h = 300 s): W = (4/9)·300/(3−2) = 133.3 s.
    assert predict_wait(3, 1 / 150, 300).predicted_wait_s == pytest.approx(400 / 3)
    assert predict_wait(3, 0.0, 300).predicted_wait_s == 0.0  # nobody arriving
    assert predict_wait(0, 0.0, 300).predicted_wait_s == math.inf  # nobody online
    assert predict_wait(2, 1 / 100, 300).predicted_wait_s == math.inf  # A = 3 ≥ N


def test_bad_input():
    with pytest.raises(ValueError, match="servers and load must be ≥ 0"):
        erlang_b(-1, 1.0)


def test_the_predicted_wait_gate_in_the_engine_and_the_backtest():
    from inv_helpers import T0, rule

    from invitations import DepartmentLoad, SiteContext, VisitorCounters, evaluate, validate_rule
    from invitations.capacity import CapacityPoint
    from invitations.facts import VisitorFacts
    from invitations.replay import backtest

    paced = rule("w", gates={"max_predicted_wait_s": 60})
    facts = VisitorFacts("v", visit_started=T0, last_activity=T0, visit_page_views=1)

    def outcome(load):
        decision = evaluate(facts, [paced], VisitorCounters(), SiteContext({"": load}), T0)
        return [(t.outcome, t.detail) for t in decision.trace]

    # N = 3, A = 2: W = 133 s ≥ 60 → blocked; N = 4, A = 2: W = C(4,2)·300/2 ≈ 26 s → fired.
    assert outcome(DepartmentLoad(2, 1, 0, 0, 3, 1 / 150, 300)) == [("blocked", "predicted_wait")]
    assert outcome(DepartmentLoad(2, 1, 0, 0, 4, 1 / 150, 300)) == [("fired", None)]
    assert outcome(DepartmentLoad(0, 0, 0, 0, 0, 0, 300)) == [("blocked", "agent_offline")]
    assert outcome(None) == [("blocked", "agent_offline")]
    errors = validate_rule(
        {
            "id": "r",
            "when": {"fact": "visit.page_views", "op": "gte", "value": 1},
            "gates": {"max_predicted_wait_s": 0},
            "variants": [{"id": "a", "text": {"en": "x"}}],
        }
    )
    assert [(e.path, e.message) for e in errors] == [
        ("gates.max_predicted_wait_s", "expected a number of seconds above 0")
    ]
    log = [
        {"visitor_id": "v", "ts": int(T0 * 1000), "type": "hello", "page": {"url": "https://s/"}}
    ]
    busy = [CapacityPoint(T0 - 1, "", 2, 1, 0, 3, 1 / 150, 300)]
    quiet = [CapacityPoint(T0 - 1, "", 2, 1, 0, 4, 1 / 150, 300)]
    assert backtest(log, [paced], capacity=busy, until=T0 + 10).rules[0].shown == 0
    assert backtest(log, [paced], capacity=quiet, until=T0 + 10).rules[0].shown == 1
