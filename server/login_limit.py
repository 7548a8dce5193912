"""The sign-in limiter: attempts per account and per client address, atomic across nodes.

An attempt takes its slot *before* the password is verified (`login_attempt.lua`, or its
twin on the memory broker), so 60 concurrent wrong passwords cannot all slip in before
the first failure is recorded. A successful sign-in gives its slot back: what stays
counted in a window is the failures (and the attempts still in flight).
"""

from __future__ import annotations

import hashlib
import math

from server.broker.base import Broker
from server.errors import ApiError


class LoginLimiter:
    def __init__(
        self, broker: Broker, *, per_account: int, per_address: int, window_s: int
    ) -> None:
        self.broker = broker
        self.per_account = per_account
        self.per_address = per_address
        self.window_ms = window_s * 1000

    @staticmethod
    def _keys(email: str, address: str) -> list[str]:
        # Hashed: an email is up to 254 characters and need not appear in Redis in clear.
        account = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
        # One hash tag for both: on Redis Cluster a script's keys must share a slot.
        return [f"login:{{login}}:acct:{account}", f"login:{{login}}:addr:{address}"]

    async def attempt(self, email: str, address: str) -> None:
        """Count one attempt. Raises ApiError(rate_limited) with `Retry-After` (seconds
        until the full window ends) when the account or the address has no slot left,
        and BrokerUnavailable when the broker cannot say (the caller answers 503)."""
        wait_ms = await self.broker.run_script(
            "login_attempt",
            self._keys(email, address),
            [self.per_account, self.per_address, self.window_ms],
        )
        if wait_ms:
            raise ApiError(
                "rate_limited",
                "too many failed sign-ins; try again later",
                headers={"Retry-After": str(max(1, math.ceil(int(wait_ms) / 1000)))},
            )

    async def succeeded(self, email: str, address: str) -> None:
        """Give back the slot `attempt` took: a right password is not a failure."""
        for key in self._keys(email, address):
            await self.broker.run_script("decr_floor", [key], [1])
