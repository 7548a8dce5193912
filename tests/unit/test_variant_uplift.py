"""server/chat/variant_uplift.py: which currency, which baseline, and the report's shape
for literal per-visitor revenue."""

from __future__ import annotations

from server.chat.revenue_uplift import Moments, msprt, welch
from server.chat.variant_uplift import main_currency, variant_report


def test_main_currency_is_the_one_with_most_revenue() -> None:
    assert main_currency({"v1": {"EUR": 10.0}}, {"v2": {"USD": 30.0}, "v3": {"EUR": 15.0}}) == "USD"
    assert main_currency({"v1": {}}, {}) is None


def test_each_variant_against_the_holdout() -> None:
    holdout = {"h1": {"EUR": 10.0}, "h2": {}, "h3": {"EUR": 20.0}}
    invited = {"a1": {"EUR": 50.0}, "a2": {}, "a3": {"EUR": 30.0}, "b1": {}, "b2": {"USD": 99.0}}
    variant_of = {"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b"}
    report = variant_report(holdout, invited, variant_of, {"a": 1, "b": 0, "c": 2})
    assert (report["currency"], report["baseline"]) == ("EUR", "holdout")
    a, b, c = report["variants"]
    base = Moments.of([10.0, 0.0, 20.0])
    mine = Moments.of([50.0, 0.0, 30.0])
    fixed, always = welch(mine, base), msprt(mine, base)
    assert fixed is not None and always is not None
    assert a == {
        "variant_id": "a",
        "visitors": 3,
        "revenue_per_visitor": round(80 / 3, 4),
        "baseline_visitors": 3,
        "baseline_per_visitor": 10.0,
        "diff": round(80 / 3 - 10, 4),
        "interval": {"low": round(fixed.low, 4), "high": round(fixed.high, 4)},
        "always_valid": {
            "low": round(always.low, 4),
            "high": round(always.high, 4),
            "p_value": round(always.p_value, 6),
        },
        "verdict": "unclear",
        "weight": 1,
        "stopped": False,
    }
    # b's only sale is in USD, which is not the report's currency: it counts 0.
    assert (b["revenue_per_visitor"], b["weight"], b["stopped"]) == (0.0, 0, True)
    assert (c["visitors"], c["interval"], c["always_valid"], c["verdict"]) == (
        0,
        None,
        None,
        "unclear",
    )


def test_without_a_holdout_a_variant_is_compared_with_the_others() -> None:
    invited = {"a1": {"EUR": 40.0}, "a2": {}, "b1": {"EUR": 10.0}, "b2": {}, "b3": {"EUR": 5.0}}
    variant_of = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "b3": "b"}
    report = variant_report({"h1": {}}, invited, variant_of, {"a": 1, "b": 1})
    assert report["baseline"] == "other_variants"
    a, b = report["variants"]
    assert (a["baseline_visitors"], a["baseline_per_visitor"]) == (3, 5.0)
    assert (b["baseline_visitors"], b["baseline_per_visitor"]) == (2, 20.0)


def test_no_revenue_means_no_interval() -> None:
    report = variant_report(
        {"h1": {}, "h2": {}}, {"a1": {}, "a2": {}}, {"a1": "a", "a2": "a"}, {"a": 1}
    )
    assert report["currency"] is None
    (a,) = report["variants"]
    assert (a["diff"], a["interval"], a["always_valid"], a["verdict"]) == (
        0.0,
        None,
        None,
        "unclear",
    )
