"""server/chat/revenue_uplift.py: Student t and Welch against published values, the
mSPRT against a hand calculation, and — by a seeded, bounded simulation — the
always-valid interval's false-alarm rate when the marketer looks after every 100
visitors per group: under no true effect the share of runs ever flagged stays ≤ α,
where the fixed-horizon Welch interval looked at the same way does not."""

from __future__ import annotations

import math
import random

import pytest

from server.chat.revenue_uplift import (
    ALPHA,
    MIN_VISITORS,
    Interval,
    Moments,
    msprt,
    msprt_from,
    t_cdf,
    t_quantile,
    verdict,
    welch,
    welch_df,
)

# Welch's t-test, example 1 of the Wikipedia article (t = −2.46, ν = 24.99).
A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        (1, 12.706204736174707),
        (2, 4.302652729749464),
        (10, 2.228138851986274),
        (30, 2.042272456301238),
        (1e9, 1.959963984540054),
    ],
)
def test_t_quantile_matches_the_tables(df: float, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, rel=1e-12)
    assert t_quantile(0.025, df) == pytest.approx(-expected, rel=1e-12)
    assert t_cdf(expected, df) == pytest.approx(0.975, abs=1e-12)


def test_t_quantile_refuses_impossible_input() -> None:
    with pytest.raises(ValueError) as caught:
        t_quantile(1.0, 3)
    assert str(caught.value) == "need 0 < p < 1 and df > 0, got p=1.0, df=3"
    with pytest.raises(ValueError) as caught:
        t_quantile(0.5, 0)
    assert str(caught.value) == "need 0 < p < 1 and df > 0, got p=0.5, df=0"


def test_moments_are_the_sample_mean_and_variance() -> None:
    m = Moments.of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert (m.n, m.mean, m.variance) == (8, 5.0, pytest.approx(32 / 7))
    assert Moments.of([3.0]).variance == 0.0


def test_welch_on_the_published_example() -> None:
    a, b = Moments.of(A1), Moments.of(A2)
    assert welch_df(a, b) == pytest.approx(24.9885, abs=1e-4)
    t = (a.mean - b.mean) / math.sqrt(a.variance / a.n + b.variance / b.n)
    assert t == pytest.approx(-2.4554, abs=1e-4)
    got = welch(a, b)
    assert got is not None
    assert got.diff == pytest.approx(-13 / 6)
    assert (got.low, got.high) == (
        pytest.approx(-3.98410, abs=1e-5),
        pytest.approx(-0.34924, abs=1e-5),
    )


def test_no_interval_without_two_values_or_any_spread() -> None:
    assert welch(Moments.of([1.0]), Moments.of([1.0, 2.0])) is None
    assert welch(Moments.of([0.0] * 50), Moments.of([0.0] * 50)) is None
    assert msprt(Moments.of([0.0] * 50), Moments.of([0.0] * 50)) is None


def test_msprt_against_a_hand_calculation() -> None:
    # θ̂ = 1, V = 1, τ² = 1, α = 0.05: Λ = √½ · e^¼, half-width √(2 (2 ln 20 + ln 2)).
    got = msprt_from(1.0, 1.0, 1.0, 0.05)
    assert got.likelihood_ratio == pytest.approx(math.sqrt(0.5) * math.exp(0.25), rel=1e-12)
    assert got.p_value == 1.0
    half = math.sqrt(2 * (2 * math.log(20) + math.log(2)))
    assert (got.low, got.high) == (pytest.approx(1 - half), pytest.approx(1 + half))
    strong = msprt_from(10.0, 1.0, 1.0, 0.05)
    assert strong.p_value == pytest.approx(math.exp(-(0.5 * math.log(0.5) + 25.0)), rel=1e-9)
    assert strong.low > 0


def test_the_always_valid_interval_is_wider_than_welch() -> None:
    a, b = Moments.of(A1 * 10), Moments.of(A2 * 10)
    fixed, always = welch(a, b), msprt(a, b)
    assert fixed is not None and always is not None
    assert always.low < fixed.low < fixed.high < always.high
    assert always.diff == fixed.diff


def test_verdict_waits_for_enough_visitors_and_reads_the_always_valid_interval() -> None:
    big = Moments(MIN_VISITORS, 10.0, 1.0 * (MIN_VISITORS - 1))
    small = Moments(MIN_VISITORS - 1, 0.0, 1.0 * (MIN_VISITORS - 2))
    base = Moments(MIN_VISITORS, 0.0, 1.0 * (MIN_VISITORS - 1))
    assert verdict(msprt(big, base), big, base) == "better"
    assert verdict(msprt(base, big), base, big) == "worse"
    assert verdict(msprt(big, small), big, small) == "unclear"
    assert verdict(msprt(base, base), base, base) == "unclear"
    assert verdict(None, big, base) == "unclear"


# -- the simulation ------------------------------------------------------------------------
RUNS = 1000
LOOKS = 50  # the marketer looks after every STEP visitors per group, up to 5000 each
STEP = 100
CONVERSION = 0.05  # 5 % of visitors buy; order values are log-normal (median ≈ €55)
SEED = 19


class _Group:
    """Per-visitor revenue, mostly zeros: converters are drawn by geometric gaps."""

    def __init__(self, rng: random.Random, lift: float) -> None:
        self.rng, self.lift = rng, lift
        self.n, self.total, self.squares = 0, 0.0, 0.0
        self.next_buyer = self._gap()

    def _gap(self) -> int:
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - CONVERSION))

    def grow(self, visitors: int) -> Moments:
        self.n += visitors
        while self.next_buyer < self.n:
            value = self.rng.lognormvariate(4.0, 0.8) * (1.0 + self.lift)
            self.total += value
            self.squares += value * value
            self.next_buyer += 1 + self._gap()
        mean = self.total / self.n
        return Moments(self.n, mean, max(0.0, self.squares - self.total * mean))


def simulate(lift: float, seed: int = SEED, runs: int = RUNS) -> dict[str, float]:
    """Share of runs ever flagged (by verdict / by a naive Welch interval) and how many
    of the always-valid flags said `better`."""
    rng = random.Random(seed)
    flagged = naive = better = 0
    for _ in range(runs):
        invited, holdout = _Group(rng, lift), _Group(rng, 0.0)
        seen_seq = seen_naive = None
        for _ in range(LOOKS):
            a, b = invited.grow(STEP), holdout.grow(STEP)
            said = verdict(msprt(a, b), a, b)
            if seen_seq is None and said != "unclear":
                seen_seq = said
            fixed: Interval | None = welch(a, b)
            if fixed is not None and (fixed.low > 0 or fixed.high < 0):
                seen_naive = True
        flagged += seen_seq is not None
        better += seen_seq == "better"
        naive += bool(seen_naive)
    return {"flagged": flagged / runs, "naive": naive / runs, "better": better / runs}


def test_under_no_effect_the_share_of_runs_ever_flagged_stays_within_alpha() -> None:
    rates = simulate(lift=0.0)
    print(
        f"\nmSPRT false-alarm rate (seed {SEED}, {RUNS} runs, {LOOKS} looks of {STEP} "
        f"visitors per group, α = {ALPHA}): {rates['flagged']:.4f}; naive Welch looked "
        f"at the same way: {rates['naive']:.4f}"
    )
    assert rates["flagged"] <= ALPHA
    # The simulation can tell: peeking at the fixed-horizon interval breaks α badly.
    assert rates["naive"] > 3 * ALPHA


def test_a_real_uplift_is_found_and_in_the_right_direction() -> None:
    rates = simulate(lift=0.5, seed=SEED + 1, runs=200)
    print(f"\nmSPRT power at +50 % revenue per buyer: {rates['flagged']:.3f}")
    assert rates["flagged"] >= 0.5
    assert rates["better"] == rates["flagged"]
