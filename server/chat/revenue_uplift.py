"""Revenue uplift per visitor of an invited group over a comparison group, with honest
intervals (docs/rules.md, "Measuring: holdout and attribution"). Pure: numbers in,
numbers out; no I/O, no clock, no randomness.

Two intervals for the difference of mean revenue per visitor (θ = μ₁ − μ₀):

- **Welch** (fixed-horizon, 95 %): θ̂ ± t(1 − α/2, ν) · se, with se² = s₁²/n₁ + s₀²/n₀ and
  the Welch–Satterthwaite ν. Right for one look at a sample size fixed in advance; looked
  at again and again it flags a "difference" that is not there far more often than α.
- **Always valid** (mSPRT, Johari, Koomen, Pekelis & Walsh, "Always Valid Inference",
  2017/2022): the mixture likelihood ratio of θ̂ ~ N(θ, V) against θ = 0 with a normal
  mixing distribution N(0, τ²),
      Λ = √(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))),   V = se²,
  is (asymptotically) a non-negative martingale under "no effect", so by Ville's
  inequality P(Λ ever ≥ 1/α) ≤ α: the test may be read at every page view. Its
  confidence sequence — the θ not rejected — is
      θ̂ ± √( V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)) ),
  and the always-valid p-value is min(1, 1/Λ). τ is the effect size the test is tuned
  to, `TAU_SD` pooled standard deviations of revenue per visitor. With plug-in variances
  the guarantee is asymptotic, so nothing is judged before `MIN_VISITORS` per group.

The false-alarm rate under no true effect is measured by simulation in
tests/unit/test_revenue_uplift.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
TAU_SD = 0.1  # mixing scale of the mSPRT, in pooled standard deviations per visitor
MIN_VISITORS = 100  # per group, before either interval says anything


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, mean and sum of squared deviations of per-visitor values (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        m = cls()
        for value in values:
            m = m.add(value)
        return m

    def add(self, value: float) -> Moments:
        n = self.n + 1
        delta = value - self.mean
        mean = self.mean + delta / n
        return Moments(n, mean, self.m2 + delta * (value - mean))

    @property
    def variance(self) -> float:
        """Sample variance (n − 1 in the denominator); 0 below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0


@dataclass(frozen=True, slots=True)
class Interval:
    diff: float  # θ̂ = mean₁ − mean₀
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Sequential:
    diff: float
    low: float
    high: float
    p_value: float  # always valid: min(1, 1/Λ)
    likelihood_ratio: float  # Λ


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b), 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with `df` > 0 degrees of freedom (df may be fractional)."""
    if df > 1e7:
        return NormalDist().cdf(t)
    tail = 0.5 * _beta_inc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def _t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def t_quantile(p: float, df: float) -> float:
    """The t with P(T ≤ t) = p, for 0 < p < 1. Raises ValueError outside that range."""
    if not 0.0 < p < 1.0 or not df > 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    z = NormalDist().inv_cdf(p)
    if df > 1e7:
        return z
    if df <= 2:  # closed forms (the expansion below is poor in such heavy tails)
        if df == 1:
            return math.tan(math.pi * (p - 0.5))
        if df == 2:
            return (2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p)))
    # Cornish–Fisher expansion in 1/df: exact to ~1e-10 from df = 1000 on; below, the
    # start for Newton steps on the exact CDF.
    t = (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )
    if df >= 1000:
        return t
    if df < 3:
        t = _bisect(p, df)
    for _ in range(50):
        step = (t_cdf(t, df) - p) / _t_pdf(t, df)
        t -= step
        if abs(step) <= 1e-15 * max(1.0, abs(t)):
            break
    return t


def _bisect(p: float, df: float) -> float:
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(60):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def welch_df(a: Moments, b: Moments) -> float:
    """Welch–Satterthwaite degrees of freedom. Raises ZeroDivisionError with no spread."""
    va, vb = a.variance / a.n, b.variance / b.n
    return (va + vb) ** 2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))


def welch(a: Moments, b: Moments, alpha: float = ALPHA) -> Interval | None:
    """Welch's (1 − alpha) interval for mean(a) − mean(b); None when either group has
    fewer than two values or neither varies (no spread, no interval)."""
    if a.n < 2 or b.n < 2:
        return None
    se2 = a.variance / a.n + b.variance / b.n
    if se2 <= 0.0:
        return None
    half = t_quantile(1.0 - alpha / 2.0, welch_df(a, b)) * math.sqrt(se2)
    diff = a.mean - b.mean
    return Interval(diff, diff - half, diff + half)


def msprt(
    a: Moments, b: Moments, alpha: float = ALPHA, tau_sd: float = TAU_SD
) -> Sequential | None:
    """The always-valid confidence sequence and p-value for mean(a) − mean(b) (module
    docstring); None when either group has fewer than two values or neither varies."""
    if a.n < 2 or b.n < 2:
        return None
    v = a.variance / a.n + b.variance / b.n
    if v <= 0.0:
        return None
    pooled = ((a.n - 1) * a.variance + (b.n - 1) * b.variance) / (a.n + b.n - 2)
    return msprt_from(a.mean - b.mean, v, (tau_sd * tau_sd) * pooled, alpha)


def msprt_from(diff: float, v: float, tau2: float, alpha: float = ALPHA) -> Sequential:
    """mSPRT for an estimate `diff` with variance `v` and mixing variance `tau2` (> 0)."""
    log_lr = 0.5 * math.log(v / (v + tau2)) + diff * diff * tau2 / (2.0 * v * (v + tau2))
    half = math.sqrt(
        v * (v + tau2) / tau2 * (2.0 * math.log(1.0 / alpha) + math.log((v + tau2) / v))
    )
    lr = math.exp(min(log_lr, 700.0))
    return Sequential(diff, diff - half, diff + half, min(1.0, math.exp(-log_lr)), lr)


def verdict(seq: Sequential | None, a: Moments, b: Moments) -> str:
    """`better`, `worse` or `unclear`: only the always-valid interval decides, and only
    once both groups have `MIN_VISITORS`."""
    if seq is None or a.n < MIN_VISITORS or b.n < MIN_VISITORS:
        return "unclear"
    if seq.low > 0:
        return "better"
    if seq.high < 0:
        return "worse"
    return "unclear"


def proportion(converted: int, visitors: int) -> Moments:
    """The moments of a group's 0/1 outcomes (converted or not), from its counts."""
    if visitors <= 0:
        return Moments()
    rate = converted / visitors
    return Moments(visitors, rate, visitors * rate * (1.0 - rate))
