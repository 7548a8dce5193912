"""Struggle signals as facts (invitations/signals.py): counts and recency per visit, the
per-visit cap, and rules that read them — compiled, traced and woken by time."""

import pytest
from inv_helpers import SITE, T0, rule

from invitations.caps import VisitorCounters
from invitations.catalogue import VISIT_TIMEOUT_S, fact_spec
from invitations.engine import Invite, RuleSet, evaluate
from invitations.events import apply_event, apply_event_changes
from invitations.facts import MISSING, VisitorFacts, facts_from_dict, facts_to_dict, get_fact
from invitations.signals import KINDS, MAX_PER_VISIT, SignalCapped, check_props, summary


def visiting(at: float = T0) -> VisitorFacts:
    return apply_event(VisitorFacts("v1"), {"type": "page_view", "url": "https://s/a"}, at)


def signal(facts: VisitorFacts, name: str, at: float, **props: object) -> VisitorFacts:
    return apply_event(facts, {"type": "track", "event": name, "props": props or None}, at)


def test_every_kind_is_a_number_fact_with_a_time_growing_recency() -> None:
    for kind in KINDS:
        assert fact_spec(f"signal.{kind.name}").type == "number"
        recency = fact_spec(f"signal.{kind.name}.ago_s")
        assert recency.type == "number" and recency.time_growing
    assert fact_spec("signal.count").type == "number"
    assert fact_spec("signal.ago_s").time_growing
    assert fact_spec("signal.nope") is None


def test_counts_and_recency_per_kind_and_in_total() -> None:
    f = visiting()
    assert get_fact(f, "signal.rage_click", T0) == 0
    assert get_fact(f, "signal.rage_click.ago_s", T0) is MISSING
    assert get_fact(VisitorFacts("v0"), "signal.rage_click", T0) is MISSING  # no visit
    f = signal(f, "rage_click", T0 + 1, clicks=3)
    f = signal(f, "rage_click", T0 + 5, clicks=4)
    f = signal(f, "error_page", T0 + 7, status=404)
    assert get_fact(f, "signal.rage_click", T0 + 10) == 2
    assert get_fact(f, "signal.rage_click.ago_s", T0 + 10) == 5
    assert get_fact(f, "signal.error_page.ago_s", T0 + 10) == 3
    assert get_fact(f, "signal.count", T0 + 10) == 3
    assert get_fact(f, "signal.ago_s", T0 + 10) == 3
    assert get_fact(f, "event.rage_click", T0 + 10) == 0  # a signal is not a custom event
    assert summary(f, T0 + 10) == {
        "rage_click": {"count": 2, "ago_s": 5},
        "error_page": {"count": 1, "ago_s": 3},
    }
    assert facts_from_dict(facts_to_dict(f)) == f


def test_a_signal_changes_its_facts_only() -> None:
    _, changed = apply_event_changes(visiting(), {"type": "track", "event": "dead_click"}, T0)
    assert changed == {
        "signal.dead_click",
        "signal.dead_click.ago_s",
        "signal.count",
        "signal.ago_s",
        "idle_s",
    }


def test_a_new_visit_starts_from_zero() -> None:
    f = signal(visiting(), "page_loop", T0 + 1)
    later = T0 + 1 + VISIT_TIMEOUT_S
    f = apply_event(f, {"type": "page_view", "url": "https://s/b"}, later)
    assert get_fact(f, "signal.page_loop", later) == 0
    assert get_fact(f, "signal.page_loop.ago_s", later) is MISSING
    assert get_fact(f, "signal.ago_s", later) is MISSING


def test_a_flood_is_capped_per_kind_and_visit() -> None:
    f = visiting()
    for i in range(MAX_PER_VISIT):
        f = signal(f, "dead_click", T0 + i)
    with pytest.raises(SignalCapped) as caught:
        signal(f, "dead_click", T0 + 100)
    assert str(caught.value) == "at most 50 dead_click signals are counted per visit"
    assert caught.value.code == "rate_limited"
    f = signal(f, "rage_click", T0 + 100, clicks=3)  # other kinds still count
    assert get_fact(f, "signal.dead_click", T0 + 100) == MAX_PER_VISIT
    assert get_fact(f, "signal.count", T0 + 100) == MAX_PER_VISIT + 1


def test_props_are_numbers_within_bounds_and_never_text() -> None:
    assert check_props("rage_click", {"clicks": 3}) is None
    assert check_props("long_wait", {"wait_s": 60.5}) is None
    assert check_props("error_page", {}) == ("props.status", "is required")
    assert check_props("form_error", {"fields": "2"}) == (
        "props.fields",
        "must be a whole number from 0 to 1000",
    )
    assert check_props("page_loop", {"from": "/a"}) == (
        "props.from",
        "is not a prop of page_loop (allowed: none)",
    )


def test_a_rule_on_a_recent_rage_click_fires_and_time_makes_it_false() -> None:
    when = {
        "all": [
            {"fact": "signal.rage_click", "op": "gte", "value": 1},
            {"fact": "signal.rage_click.ago_s", "op": "lt", "value": 30},
        ]
    }
    rules = RuleSet([rule("calm", when)])
    f = visiting()
    quiet = evaluate(f, rules, VisitorCounters(), SITE, T0, explain=True)
    assert quiet.actions == () and quiet.trace[0].detail == "when.all[0]"
    f = signal(f, "rage_click", T0 + 2, clicks=5)
    fired = evaluate(f, rules, VisitorCounters(), SITE, T0 + 2)
    assert [type(a) for a in fired.actions] == [Invite]
    stale = evaluate(f, rules, VisitorCounters(), SITE, T0 + 32, explain=True)
    assert stale.actions == () and stale.trace[0].detail == "when.all[1]"


def test_time_wakes_a_rule_waiting_for_a_quiet_spell_after_a_signal() -> None:
    when = {"fact": "signal.form_error.ago_s", "op": "gte", "value": 20}
    rules = RuleSet([rule("after", when)])
    f = signal(visiting(), "form_error", T0 + 1, fields=2)
    waiting = evaluate(f, rules, VisitorCounters(), SITE, T0 + 1)
    assert waiting.actions == () and waiting.next_wake == T0 + 21
    due = evaluate(f, rules, VisitorCounters(), SITE, T0 + 21)
    assert [type(a) for a in due.actions] == [Invite]


def test_a_backtest_replays_a_logged_flood_as_the_live_path_did() -> None:
    """The socket logs a frame before the engine refuses it: the replay skips it too."""
    from invitations.replay import backtest

    def ev(seconds: float, type_: str, **fields: object) -> dict:
        return {"visitor_id": "v", "ts": int((T0 + seconds) * 1000), "type": type_, **fields}

    flood = [ev(1 + i / 100, "track", event="dead_click") for i in range(MAX_PER_VISIT + 5)]
    log = [ev(0, "hello", page={"url": "https://s/a"}), *flood]
    when = {"fact": "signal.dead_click", "op": "gte", "value": MAX_PER_VISIT}
    report = backtest(log, [rule("flood", when, gates={"max_per_visit": 1})])
    assert report.rules[0].triggered == 1


def test_stored_facts_without_signals_stay_readable_by_the_previous_release() -> None:
    """Empty signal fields are left out of the stored form (a node still running the
    release before signals refuses unknown fields during a rolling restart)."""
    quiet = facts_to_dict(visiting())
    assert not {"signals", "signal_at", "rage_click_at"} & set(quiet)
    assert facts_from_dict(quiet) == visiting()
    loud = facts_to_dict(signal(visiting(), "rage_click", T0 + 1, clicks=3))
    assert (loud["signals"], loud["rage_click_at"], loud["signal_at"]) == (
        {"rage_click": 1},
        T0 + 1,
        T0 + 1,
    )
    assert "dead_click_at" not in loud
