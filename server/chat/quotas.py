"""How many of a costly thing — a conversation, an offline message — one visitor or one
client address may ask for per window, counted in the Broker so every node shares the
count (`incr_capped`: atomic on Redis, its in-process twin on `memory://`).

A window is fixed: it starts with the first take and lasts `window_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.broker.base import Broker


@dataclass(frozen=True, slots=True)
class Quota:
    name: str  # the counter's name, e.g. "chat_start"
    limit: int  # takes per window
    window_s: int

    def key(self, scope: str, subject: str) -> str:
        """The counter of `subject` (a visitor id, an address) in `scope` ("v", "ip")."""
        return f"quota:{self.name}:{scope}:{subject}"


async def take(broker: Broker, quota: Quota, scope: str, subject: str) -> bool:
    """Count one more for `subject`; False (nothing counted) when the window is full.
    Raises BrokerUnavailable when the Broker cannot be reached."""
    value = await broker.run_script(
        "incr_capped", [quota.key(scope, subject)], [quota.limit, quota.window_s * 1000, 1]
    )
    return value != -1


async def give_back(broker: Broker, quota: Quota, scope: str, subject: str) -> None:
    """Undo one `take` (what it counted did not happen after all)."""
    await broker.run_script("decr_floor", [quota.key(scope, subject)], [1])
