"""Pure routing order and wait estimate: only the agents of the chat's department count."""

from __future__ import annotations

from server.chat.presence import AgentState
from server.chat.routing_order import candidates, free_slots, wait_s


def agent(
    agent_id: str,
    departments: tuple[str, ...],
    load: int = 0,
    capacity: int = 2,
    status: str = "online",
) -> AgentState:
    return AgentState(agent_id, status, capacity, departments, agent_id, load)


# Ana and Bo sell; Cy and Di do support; sorted by id as presence.agents returns them.
TEAM = [
    agent("ana", ("sales",)),
    agent("bo", ("sales",)),
    agent("cy", ("support",)),
    agent("di", ("support",)),
]


def test_round_robin_alternates_within_the_department() -> None:
    taken: list[str] = []
    last = None
    for _ in range(4):
        last = candidates(TEAM, "sales", "round_robin", last)[0].agent_id
        taken.append(last)
    assert taken == ["ana", "bo", "ana", "bo"]


def test_round_robin_skips_a_full_agent_and_keeps_the_circle() -> None:
    team = [agent("ana", ("sales",)), agent("bo", ("sales",), load=2), agent("ed", ("sales",))]
    assert [a.agent_id for a in candidates(team, "sales", "round_robin", "ana")] == ["ed", "ana"]
    assert [a.agent_id for a in candidates(team, "sales", "round_robin", "ed")] == ["ana", "ed"]
    # The previous taker left the site: the circle goes on after their id.
    assert [a.agent_id for a in candidates(team, "sales", "round_robin", "bz")] == ["ed", "ana"]


def test_an_agent_without_departments_serves_every_department() -> None:
    team = [agent("ana", ("sales",)), agent("all", ()), agent("cy", ("support",))]
    assert [a.agent_id for a in candidates(team, "sales", "round_robin", None)] == ["all", "ana"]
    assert [a.agent_id for a in candidates(team, None, "round_robin", "all")] == [
        "ana",
        "cy",
        "all",
    ]


def test_least_busy_orders_by_relative_load_within_the_department() -> None:
    team = [
        agent("ana", ("sales",), load=1),
        agent("bo", ("sales",), load=1, capacity=4),
        agent("cy", ("support",)),
        agent("dan", ("sales",), status="away"),
    ]
    assert [a.agent_id for a in candidates(team, "sales", "least_busy", None)] == ["bo", "ana"]


def test_wait_is_not_zero_when_only_other_departments_have_room() -> None:
    # Every sales agent is full; support has four free slots.
    team = [
        agent("ana", ("sales",), load=2),
        agent("bo", ("sales",), load=2),
        agent("cy", ("support",)),
        agent("di", ("support",)),
    ]
    assert free_slots(team, "sales") == 0
    # The chats ahead times 120 s, over the 4 sales slots (not the site's 8).
    assert wait_s(1, team, "sales", 120.0) == 30
    assert wait_s(3, team, "sales", 120.0) == 90
    assert wait_s(4, team, "support", 120.0) == 0
    assert wait_s(5, team, "support", 120.0) == 150


def test_wait_with_nobody_serving_the_department_counts_one_slot() -> None:
    team = [agent("cy", ("support",)), agent("ana", ("sales",), status="away")]
    assert wait_s(2, team, "sales", 100.0) == 200
