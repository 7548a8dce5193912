"""Deterministic holdout and variant assignment (docs/rules.md, "Measuring", "Variants and text").

Both come from BLAKE2b of (salt, visitor id, rule id) — never Python's `hash()`, which
is salted per process — so a visitor gets the same answer on every node, after every
restart. `assign` (the engine's path) takes both from one 128-bit digest: the first
64 bits decide the holdout, the last 64 the variant, so the choices are independent.
"""

from __future__ import annotations

from hashlib import blake2b

ASSIGN_SALT = "beckon.assign.v1"
_SCALE = float(1 << 64)
_MASK = (1 << 64) - 1


def assign(
    visitor_id: str,
    rule_id: str,
    holdout_pct: float,
    weights: tuple[float, ...],
    salt: str = ASSIGN_SALT,
) -> tuple[bool, int]:
    """(is the visitor held out of the rule, index of its variant).

    Held out for `holdout_pct` percent of visitors (0–100); variant `i` with
    probability weights[i] / sum(weights) (weights ≥ 0, positive sum — validated).
    """
    if holdout_pct <= 0 and len(weights) == 1:
        return False, 0
    digest = blake2b(f"{salt}\x1f{visitor_id}\x1f{rule_id}".encode(), digest_size=16).digest()
    number = int.from_bytes(digest, "big")
    held_out = holdout_pct > 0 and (number >> 64) / _SCALE * 100.0 < holdout_pct
    return held_out, pick(weights, (number & _MASK) / _SCALE)


def is_held_out(visitor_id: str, rule_id: str, holdout_pct: float) -> bool:
    """True for `holdout_pct` percent of visitors of this rule (same answer as `assign`)."""
    return assign(visitor_id, rule_id, holdout_pct, (1.0, 1.0))[0]


def choose_variant(visitor_id: str, rule_id: str, weights: tuple[float, ...]) -> int:
    """Index of the visitor's variant (same answer as `assign`)."""
    return assign(visitor_id, rule_id, 0.0, weights)[1]


def pick(weights: tuple[float, ...], unit: float) -> int:
    """The index whose share of sum(weights) contains `unit` ∈ [0, 1)."""
    point = unit * sum(weights)
    running = 0.0
    last = 0
    for i, weight in enumerate(weights):
        if weight <= 0:
            continue
        last = i
        running += weight
        if point < running:
            return i
    return last  # rounding at the very top of the range
