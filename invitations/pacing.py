"""How a caller loops over the engine and paces on agents' load — shared by the live
node (`server/chat/proactive.py`) and the backtest (`invitations/replay_sim.py`), so the
two cannot drift apart (docs/rules.md, "Backtests").

Pure: `now` in, instants out (float seconds since the epoch).
"""

from __future__ import annotations

from invitations.engine import Decision

MAX_ROUNDS = 4  # act, record, re-evaluate until nothing new happens (a safety bound)
PACING_RETRY_S = 2.0  # agents' load is not an event: a visitor held back looks again
LOAD_GATES = frozenset({"no_capacity", "agent_offline", "predicted_wait"})
INVITATION_EXPIRY_S = 120.0  # an unanswered invitation expires (closed, not dismissed)


def blocked_by_load(decision: Decision) -> bool:
    """True when a rule was held back by agents' load (capacity or predicted wait)."""
    return any(t.outcome == "blocked" and t.detail in LOAD_GATES for t in decision.trace)


def retry_wake(wake: float | None, now: float) -> float:
    """The wake to keep when load held a rule back: at most `PACING_RETRY_S` away."""
    retry = now + PACING_RETRY_S
    return retry if wake is None else min(wake, retry)
