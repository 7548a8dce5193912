"""Hypothesis properties: (a) incremental = from scratch, (b) next_wake is never late."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inv_helpers import T0

from invitations.caps import SiteContext, VisitorCounters
from invitations.engine import CancelPending, HoldOut, Invite, RuleSet, evaluate
from invitations.events import apply_event_changes
from invitations.facts import DepartmentLoad, VisitorFacts
from invitations.rules import compile_rule

# T0 is 12:00 in Zagreb; this window opens a minute later, inside the test horizon.
SCHEDULE = {
    "timezone": "Europe/Zagreb",
    "windows": [{"days": ["tue"], "from": "12:01", "to": "12:02"}],
}
SITE = SiteContext(
    {"": DepartmentLoad(1, 2, 0, 0), "sales": DepartmentLoad(0, 0, 0, 0)},
    max_invitations_per_visit=3,
    max_invitations_per_day=4,
)

conditions = st.one_of(
    st.builds(
        lambda v: {"fact": "page.path", "op": "glob", "value": v},
        st.sampled_from(["/a*", "/b", "/*", "/c?"]),
    ),
    st.builds(
        lambda v: {"fact": "cart.value", "op": "gte", "value": v}, st.sampled_from([0, 50, 100])
    ),
    st.builds(
        lambda f, op, v: {"fact": f, "op": op, "value": v},
        st.sampled_from(["page.time_s", "visit.time_s", "idle_s"]),
        st.sampled_from(["gt", "gte", "lt", "lte", "eq"]),
        st.sampled_from([0, 1, 2.5, 5, 10, 30]),
    ),
    st.builds(
        lambda v: {"fact": "event.exit_intent", "op": "gte", "value": v}, st.sampled_from([1, 2])
    ),
    st.just({"fact": "visitor.attr.plan", "op": "eq", "value": "pro"}),
    st.just({"not": {"fact": "visit.page_views", "op": "gt", "value": 2}}),
    st.builds(
        lambda a, b: {"any": [a, b]},
        st.just({"fact": "idle_s", "op": "gte", "value": 7}),
        st.just({"fact": "cart.items", "op": "exists"}),
    ),
)

gates = st.fixed_dictionaries(
    {},
    optional={
        "max_per_visit": st.sampled_from([1, 2]),
        "cooldown_after_dismiss_s": st.sampled_from([5, 20]),
        "min_days_between": st.just(0.0001),
        "require_agent_online": st.booleans(),
        "department": st.just("sales"),
        "schedule": st.just(SCHEDULE),
    },
)


@st.composite
def rule_sets(draw):
    rules = []
    for i in range(draw(st.integers(1, 5))):
        delay = draw(st.sampled_from([0, 0, 3]))
        rules.append(
            compile_rule(
                {
                    "id": f"r{i}",
                    "priority": draw(st.integers(0, 2)),
                    "when": {"all": draw(st.lists(conditions, min_size=1, max_size=3))},
                    "gates": draw(gates),
                    "holdout_pct": draw(st.sampled_from([0, 0, 50])),
                    "variants": [{"id": "a", "delay_s": delay, "text": {"en": "hi"}}],
                }
            )
        )
    return rules


events = st.lists(
    st.tuples(
        st.sampled_from([0.5, 2, 4, 9, 31]),
        st.one_of(
            st.builds(
                lambda p: {"type": "page_view", "url": f"https://s{p}"},
                st.sampled_from(["/a", "/ab", "/b", "/c1"]),
            ),
            st.builds(
                lambda v, n: {"type": "cart", "value": v, "currency": "EUR", "items": n},
                st.sampled_from([10, 60, 120]),
                st.sampled_from([None, 1]),
            ),
            st.builds(
                lambda e: {"type": "track", "event": e},
                st.sampled_from(["exit_intent", "idle", "scroll"]),
            ),
            st.builds(
                lambda p: {"type": "attributes", "plan": p}, st.sampled_from(["pro", "free"])
            ),
            st.just({"type": "invitation_dismiss"}),
        ),
    ),
    max_size=12,
)


class Caller:
    """Acts on decisions as the server would."""

    def __init__(self, rule_set, incremental):
        self.rules, self.incremental = rule_set, incremental
        self.facts, self.counters, self.wake = VisitorFacts("visitor-7"), VisitorCounters(), None

    def decide(self, now, changed):
        if not self.incremental:
            changed = None
        d = evaluate(self.facts, self.rules, self.counters, SITE, now, changed, self.wake)
        self.wake = d.next_wake
        if d.actions:
            visit = self.facts.visit_started
            for a in d.actions:
                c = self.counters
                if isinstance(a, HoldOut):
                    c = c.record_holdout(a.rule_id, now, visit)
                elif isinstance(a, Invite) and a.delay_s:
                    c = c.with_pending(a.rule_id, a.variant_id, now + a.delay_s)
                elif isinstance(a, Invite):
                    c = c.record_invite(a.rule_id, now, visit)
                elif isinstance(a, CancelPending):
                    c = c.clear_pending()
                self.counters = c
            again = evaluate(self.facts, self.rules, self.counters, SITE, now, None)
            self.wake = again.next_wake
        return d

    def event(self, event, now):
        if event["type"] == "invitation_dismiss":
            if not self.counters.on_screen:
                return None
            self.counters = self.counters.record_dismiss(now)
            self.facts, _ = apply_event_changes(self.facts, event, now)
            return self.decide(now, None)
        self.facts, changed = apply_event_changes(self.facts, event, now)
        return self.decide(now, changed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(), stream=events)
def test_incremental_equals_from_scratch(rules, stream):
    inc = Caller(RuleSet(rules), incremental=True)
    full = Caller(RuleSet(rules, indexed=False), incremental=False)
    now = T0
    first = {"type": "hello", "page": {"url": "https://s/a"}}
    assert inc.event(first, now).actions == full.event(first, now).actions
    for gap, event in [*stream, (45, {"type": "track", "event": "active"})]:
        until = now + gap
        while True:  # timer wakes due before the next event, earliest first
            due = [w for w in (inc.wake, full.wake) if w is not None and w <= until]
            if not due:
                break
            now = min(due)
            a = inc.decide(now, frozenset())
            b = full.decide(now, None)
            assert a.actions == b.actions
        now = until
        a, b = inc.event(event, now), full.event(event, now)
        assert (a and a.actions) == (b and b.actions)
        assert inc.counters == full.counters
    # Wakes may differ (each side may wake early, harmlessly); every instant either side
    # woke at was evaluated by both above and gave the same actions.


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rule_sets(),
    opening=st.lists(
        st.tuples(
            st.sampled_from([0.5, 1.5]),
            st.sampled_from(
                [
                    {"type": "cart", "value": 120, "currency": "EUR"},
                    {"type": "page_view", "url": "https://s/ab"},
                    {"type": "track", "event": "exit_intent"},
                ]
            ),
        ),
        max_size=3,
    ),
    dismissed_ago=st.sampled_from([None, 3.0, 12.0]),
)
def test_next_wake_is_never_late(rules, opening, dismissed_ago):
    rule_set = RuleSet(rules)
    facts = VisitorFacts("visitor-7")
    now = T0
    facts, _ = apply_event_changes(facts, {"type": "hello", "page": {"url": "https://s/a"}}, now)
    for gap, event in opening:
        now += gap
        facts, _ = apply_event_changes(facts, event, now)
    counters = VisitorCounters()
    if dismissed_ago is not None:
        counters = counters.record_invite("zz", now - 30, facts.visit_started).record_dismiss(
            now - dismissed_ago
        )
    start, horizon = now, 120.0

    def fires(at):
        return evaluate(facts, rule_set, counters, SITE, at).actions != ()

    # Stepping from wake to wake, as the scheduler does.
    t, stepped = start, None
    d = evaluate(facts, rule_set, counters, SITE, t)
    for _ in range(1000):
        if d.actions:
            stepped = t
            break
        if d.next_wake is None or d.next_wake > start + horizon:
            break
        assert d.next_wake > t
        t = d.next_wake
        d = evaluate(facts, rule_set, counters, SITE, t, frozenset(), t)
    # Brute force every 100 ms.
    brute = next(
        (start + k / 10 for k in range(int(horizon * 10) + 1) if fires(start + k / 10)), None
    )
    if brute is not None:
        assert stepped is not None and stepped <= brute
    if stepped is not None:
        grid_before = [
            start + k / 10 for k in range(int(horizon * 10) + 1) if start + k / 10 < stepped
        ]
        assert not any(fires(g) for g in grid_before)
