"""The always-valid interval on the conversion rate: the mSPRT of
`server/chat/revenue_uplift.py` read on 0/1 outcomes. By a seeded, bounded simulation, a
marketer who opens the rule's results after every 100 visitors per group is told "better"
or "worse" in at most α of the experiments where the invitation changes nothing, while
the one-look interval read the same way is wrong far more often."""

from __future__ import annotations

import random

from server.chat.revenue_uplift import ALPHA, Moments, msprt, proportion, verdict
from server.chat.uplift import newcombe

RUNS = 1000
LOOKS = 50
STEP = 100
BASE_RATE = 0.05
SEED = 23


def test_proportion_is_the_moments_of_zeros_and_ones() -> None:
    by_counts = proportion(7, 100)
    by_values = Moments.of([1.0] * 7 + [0.0] * 93)
    assert by_counts.n == by_values.n
    assert abs(by_counts.mean - by_values.mean) < 1e-12
    assert abs(by_counts.m2 - by_values.m2) < 1e-9
    assert proportion(0, 0) == Moments()


def simulate(lift: float, seed: int, runs: int) -> dict[str, float]:
    """Share of runs ever flagged by the always-valid verdict / by Newcombe's interval."""
    rng = random.Random(seed)
    flagged = naive = better = 0
    for _ in range(runs):
        x1 = x2 = n = 0
        said = None
        fooled = False
        for _ in range(LOOKS):
            n += STEP
            x1 += sum(rng.random() < BASE_RATE * (1 + lift) for _ in range(STEP))
            x2 += sum(rng.random() < BASE_RATE for _ in range(STEP))
            a, b = proportion(x1, n), proportion(x2, n)
            now = verdict(msprt(a, b), a, b)
            if said is None and now != "unclear":
                said = now
            _diff, low, high = newcombe(x1, n, x2, n)
            fooled |= low > 0 or high < 0
        flagged += said is not None
        better += said == "better"
        naive += fooled
    return {"flagged": flagged / runs, "naive": naive / runs, "better": better / runs}


def test_under_no_effect_the_share_of_runs_ever_flagged_stays_within_alpha() -> None:
    rates = simulate(lift=0.0, seed=SEED, runs=RUNS)
    print(
        f"\nconversion mSPRT false-alarm rate (seed {SEED}, {RUNS} runs, {LOOKS} looks of "
        f"{STEP} visitors per group, α = {ALPHA}): {rates['flagged']:.4f}; Newcombe looked "
        f"at the same way: {rates['naive']:.4f}"
    )
    assert rates["flagged"] <= ALPHA
    assert rates["naive"] > 3 * ALPHA


def test_a_real_uplift_is_found_and_in_the_right_direction() -> None:
    rates = simulate(lift=1.0, seed=SEED + 1, runs=200)  # 5 % → 10 %
    print(f"\nconversion mSPRT power at 5 % → 10 %: {rates['flagged']:.3f}")
    assert rates["flagged"] >= 0.5
    assert rates["better"] == rates["flagged"]
