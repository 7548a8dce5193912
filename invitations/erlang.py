"""Predicted wait for a chat: Erlang C (M/M/N queue), pure (docs/rules.md, "Gates",
`max_predicted_wait_s`).

`servers` is the number of chats the online agents can hold at once (the sum of their
capacities), `arrivals_per_s` the recent rate of new chats, `handle_time_s` the mean
chat duration. The offered load is A = arrivals_per_s × handle_time_s erlangs; with
A < N the probability that a new chat waits is C(N, A) and the mean wait
W = C(N, A) × handle_time_s / (N − A). With A ≥ N the queue grows without bound: the
wait is infinite. Computed with the stable Erlang B recurrence, no factorials.
"""

from __future__ import annotations

import math
from typing import NamedTuple


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability B(N, A) by the recurrence B(k) = A·B(k−1) / (k + A·B(k−1))."""
    if servers < 0 or load < 0:
        raise ValueError("servers and load must be ≥ 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arriving chat waits, C(N, A); 1.0 when A ≥ N (or N = 0)."""
    if servers <= 0 or load >= servers:
        return 1.0
    if load <= 0:
        return 0.0
    b = erlang_b(servers, load)
    return servers * b / (servers - load * (1 - b))


class WaitPrediction(NamedTuple):
    """The prediction and its inputs (what the admin shows)."""

    servers: int
    arrivals_per_s: float
    handle_time_s: float
    load_erlangs: float
    wait_probability: float
    predicted_wait_s: float  # math.inf when the agents cannot keep up


def predict_wait(servers: int, arrivals_per_s: float, handle_time_s: float) -> WaitPrediction:
    """Mean wait of a new chat in seconds (Erlang C); inf with no servers or A ≥ N."""
    load = max(0.0, arrivals_per_s) * max(0.0, handle_time_s)
    probability = erlang_c(servers, load)
    if servers <= 0 or load >= servers:
        wait = math.inf
    else:
        wait = probability * handle_time_s / (servers - load)
    return WaitPrediction(servers, arrivals_per_s, handle_time_s, load, probability, wait)
