"""A simulated day of invitations against agents, pacing by capacity only versus by
predicted wait. Pure and seeded: the same seed gives the same day.

`python -m bench.wait_pacing` prints, for each gate, invitations offered, accepted, and
accepted-but-unanswered (the visitor accepted and gave up waiting for an agent).

The day: visitors arrive at a rate that peaks at midday; each is considered for an
invitation on arrival — the engine's own `capacity_gate` decides, on a
`DepartmentLoad` built from the simulated agents exactly as the live node builds it
(free slots, pending invitations, queued chats; and for the predicted wait, the chats
started over the last 15 min and the mean duration of those closed in the last hour).
An offered invitation is answered after `ANSWER_S`: accepted with probability
`ACCEPT_P` (the chat joins the queue) or dismissed. Organic chats arrive too. Agents
take queued chats first come, first served; a visitor who accepted and waits more than
`PATIENCE_S` leaves unanswered.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass

from invitations.caps import capacity_gate
from invitations.facts import DepartmentLoad
from invitations.gates_parser import Gates

DAY_S = 86_400
SERVERS = 6  # 3 agents × 2 chats
HANDLE_MEAN_S = 300.0
VISITORS_PEAK_PER_H = 160.0
ORGANIC_PEAK_PER_H = 45.0
ACCEPT_P = 0.3
ANSWER_S = 15.0
PATIENCE_S = 120.0
WAIT_WINDOW_S = 900.0
HANDLE_WINDOW_S = 3600.0
DEFAULT_HANDLE_S = 300.0

CAPACITY_ONLY = Gates(require_agent_online=True)
PREDICTED_WAIT = Gates(max_predicted_wait_s=20.0)
BOTH = Gates(require_agent_online=True, max_predicted_wait_s=10.0)
GATES = (
    ("capacity only", CAPACITY_ONLY),
    ("predicted wait < 20 s", PREDICTED_WAIT),
    ("capacity + wait < 10 s", BOTH),
)


@dataclass(frozen=True, slots=True)
class DayReport:
    gate: str
    offered: int
    accepted: int
    accepted_unanswered: int
    organic_unanswered: int
    predicted_wait_blocks: int


def _rate(peak_per_h: float, t: float) -> float:
    """Per second, peaking at midday, a tenth of the peak at midnight."""
    shape = 0.55 - 0.45 * math.cos(2 * math.pi * t / DAY_S)
    return peak_per_h / 3600 * shape


def _arrivals(rng: random.Random, peak_per_h: float) -> list[float]:
    """A non-homogeneous Poisson process by thinning."""
    top = peak_per_h / 3600
    out, t = [], 0.0
    while True:
        t += rng.expovariate(top)
        if t >= DAY_S:
            return out
        if rng.random() < _rate(peak_per_h, t) / top:
            out.append(t)


def simulate(name: str, gates: Gates, seed: int = 19) -> DayReport:
    rng = random.Random(seed)
    events: list[tuple[float, int, str, int]] = []
    for t in _arrivals(rng, VISITORS_PEAK_PER_H):
        events.append((t, 2, "visitor", 0))
    for t in _arrivals(rng, ORGANIC_PEAK_PER_H):
        events.append((t, 1, "organic", 0))
    # Decided up front (same for both gates): whether a visitor would accept.
    accepts = [rng.random() < ACCEPT_P for _ in range(len(events))]
    durations = [rng.expovariate(1 / HANDLE_MEAN_S) for _ in range(len(events) * 2)]
    heapq.heapify(events)
    busy = 0
    queue: deque[tuple[int, float, bool]] = deque()  # (chat, queued at, invited)
    pending = 0
    started: deque[float] = deque()  # chat start instants (arrival rate)
    closed: deque[tuple[float, float]] = deque()  # (closed at, duration)
    offered = accepted = unanswered = organic_unanswered = blocked_by_wait = 0
    chat_ids = 0

    def load(now: float) -> DepartmentLoad:
        while started and started[0] < now - WAIT_WINDOW_S:
            started.popleft()
        while closed and closed[0][0] < now - HANDLE_WINDOW_S:
            closed.popleft()
        handle = sum(d for _, d in closed) / len(closed) if closed else DEFAULT_HANDLE_S
        return DepartmentLoad(
            agents_online=3,
            free_slots=SERVERS - busy,
            pending_invitations=pending,
            queued_chats=len(queue),
            servers=SERVERS,
            arrivals_per_s=len(started) / WAIT_WINDOW_S,
            handle_time_s=handle,
        )

    def enqueue(now: float, invited: bool) -> None:
        nonlocal chat_ids
        chat_ids += 1
        started.append(now)
        queue.append((chat_ids, now, invited))
        heapq.heappush(events, (now + PATIENCE_S, 0, "patience", chat_ids))
        assign(now)

    def assign(now: float) -> None:
        nonlocal busy
        while queue and busy < SERVERS:
            chat, _, _ = queue.popleft()
            busy += 1
            heapq.heappush(events, (now + durations[chat % len(durations)], 0, "done", chat))

    n = 0
    while events:
        now, _, kind, ref = heapq.heappop(events)
        if kind == "visitor":
            n += 1
            code = capacity_gate(gates, load(now))
            if code == "predicted_wait":
                blocked_by_wait += 1
            if code is None:
                offered += 1
                if gates.require_agent_online:
                    pending += 1
                heapq.heappush(events, (now + ANSWER_S, 0, "answer", n))
        elif kind == "answer":
            if gates.require_agent_online:
                pending -= 1
            if accepts[ref % len(accepts)]:
                accepted += 1
                enqueue(now, True)
        elif kind == "organic":
            enqueue(now, False)
        elif kind == "done":
            busy -= 1
            closed.append((now, durations[ref % len(durations)]))
            assign(now)
        elif kind == "patience":
            for item in queue:
                if item[0] == ref:
                    queue.remove(item)
                    if item[2]:
                        unanswered += 1
                    else:
                        organic_unanswered += 1
                    break
    return DayReport(name, offered, accepted, unanswered, organic_unanswered, blocked_by_wait)


def main(seeds: int = 20) -> None:
    print(f"one simulated day, seed 19 ({SERVERS} chat slots, patience {PATIENCE_S:.0f} s):")
    for name, gates in GATES:
        r = simulate(name, gates)
        print(
            f"  {r.gate:23} offered {r.offered:5}  accepted {r.accepted:4}  "
            f"accepted-but-unanswered {r.accepted_unanswered:3}  "
            f"organic unanswered {r.organic_unanswered:3}"
        )
    print(f"accepted-but-unanswered over {seeds} seeded days:")
    for name, gates in GATES:
        days = [simulate(name, gates, seed) for seed in range(seeds)]
        print(
            f"  {name:23} {[d.accepted_unanswered for d in days]}  "
            f"mean offered {sum(d.offered for d in days) / seeds:.0f}"
        )


if __name__ == "__main__":
    main()
