"""Capped exponential backoff with jitter, for reconnects and bounded retries."""

from __future__ import annotations

import random


class Backoff:
    """Delays base, 2*base, 4*base ... capped at `cap` seconds, each jittered.

    "Equal jitter": each delay is drawn uniformly from [d/2, d], so nodes that lost
    Redis together do not reconnect in lockstep, yet never wait less than d/2.
    """

    def __init__(self, base_s: float = 0.05, cap_s: float = 2.0) -> None:
        if not 0 < base_s <= cap_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got {base_s} and {cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0

    def next_delay(self) -> float:
        """The next delay in seconds; each call doubles the nominal delay up to the cap."""
        nominal = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return random.uniform(nominal / 2, nominal)

    def reset(self) -> None:
        """Start again from `base_s` (call after a success)."""
        self.attempt = 0
