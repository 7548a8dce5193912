"""A token bucket per connection (pure: the caller passes the time in seconds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, up to `burst`. `take(now)` is False when empty."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass(slots=True)
class Abuse:
    """Refused frames drain a second bucket; when it is empty the socket is closed (4429).

    A bucket rather than a count in a row: a flood that lets one frame through now and
    then (as the first bucket refills) must still end.
    """

    budget: TokenBucket

    @classmethod
    def default(cls) -> Abuse:
        return cls(TokenBucket(rate=2.0, burst=100.0))

    def strike(self, now: float) -> bool:
        """Record one refused frame; True when the connection should be closed."""
        return not self.budget.take(now)
