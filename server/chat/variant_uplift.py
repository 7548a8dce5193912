"""Revenue uplift per visitor for each variant of a rule (docs/rules.md, "Measuring:
holdout and attribution"). Pure: the stats query's per-visitor revenue in, the report
out; the statistics are `revenue_uplift`'s.

Each variant's invited visitors (intent to treat: every visitor the variant was sent
to, accepted or not, by their first invitation) are compared with the holdout group;
a rule without a holdout (fewer than two held-out visitors) compares each variant with
the other variants together. Revenue is in one currency — the one with the most revenue
— and a visitor with no conversion in it counts 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from server.chat.revenue_uplift import ALPHA, MIN_VISITORS, TAU_SD, Moments, msprt, verdict, welch

Spend = Mapping[str, Mapping[str, float]]  # visitor id -> currency -> revenue


def main_currency(*groups: Spend) -> str | None:
    """The currency with the most revenue over `groups`; None with no revenue at all."""
    totals: dict[str, float] = defaultdict(float)
    for group in groups:
        for spent in group.values():
            for currency, value in spent.items():
                totals[currency] += value
    if not totals:
        return None
    return max(sorted(totals), key=lambda c: totals[c])


def _moments(group: Spend, visitors: list[str], currency: str | None) -> Moments:
    m = Moments()
    for visitor in visitors:
        m = m.add(group.get(visitor, {}).get(currency, 0.0) if currency else 0.0)
    return m


def _round(x: float) -> float:
    return round(x, 4)


def variant_report(
    holdout: Spend,
    invited: Spend,
    variant_of: Mapping[str, str],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    """The `revenue_uplift` object of the rule stats (docs/protocol.md).

    `holdout` / `invited`: every member of the group (revenue {} when none);
    `variant_of`: each invited visitor's variant; `weights`: the rule's current variant
    weights (a variant with weight 0 is reported as stopped).
    """
    currency = main_currency(holdout, invited)
    by_variant: dict[str, list[str]] = defaultdict(list)
    for visitor in invited:
        by_variant[variant_of.get(visitor, "-")].append(visitor)
    use_holdout = len(holdout) >= 2
    base_holdout = _moments(holdout, list(holdout), currency) if use_holdout else None
    variants = []
    for variant_id in sorted(set(by_variant) | set(weights)):
        mine = _moments(invited, by_variant.get(variant_id, []), currency)
        if base_holdout is not None:
            base = base_holdout
        else:
            others = [v for other, vs in by_variant.items() if other != variant_id for v in vs]
            base = _moments(invited, others, currency)
        fixed, always = welch(mine, base), msprt(mine, base)
        variants.append(
            {
                "variant_id": variant_id,
                "visitors": mine.n,
                "revenue_per_visitor": _round(mine.mean),
                "baseline_visitors": base.n,
                "baseline_per_visitor": _round(base.mean),
                "diff": _round(mine.mean - base.mean),
                "interval": None
                if fixed is None
                else {"low": _round(fixed.low), "high": _round(fixed.high)},
                "always_valid": None
                if always is None
                else {
                    "low": _round(always.low),
                    "high": _round(always.high),
                    "p_value": round(always.p_value, 6),
                },
                "verdict": verdict(always, mine, base),
                "weight": weights.get(variant_id),
                "stopped": weights.get(variant_id) == 0,
            }
        )
    return {
        "currency": currency,
        "baseline": "holdout" if use_holdout else "other_variants",
        "confidence": 1 - ALPHA,
        "interval_method": "welch",
        "always_valid_method": "msprt",
        "tau_sd": TAU_SD,
        "min_visitors": MIN_VISITORS,
        "variants": variants,
    }
