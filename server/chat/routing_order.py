"""Who may take a chat of a department, in which order, and how long a visitor of that
department is likely to wait (pure: agent states, the department and numbers in).

Both look only at the agents who serve the chat's department: a support agent's free
slot does not shorten a sales visitor's wait, and round-robin turns are counted among
the sales agents alone (a site-wide turn counter handed Ana, Ana, Bo, Bo to a
department while agents of other departments took the turns in between).
"""

from __future__ import annotations

import math

from server.chat.presence import AgentState


def serving(agents: list[AgentState], department: str | None) -> list[AgentState]:
    """The online agents who serve `department` (any load)."""
    return [a for a in agents if a.status == "online" and a.serves(department)]


def free_slots(agents: list[AgentState], department: str | None) -> int:
    """Chats the department's online agents can take right now."""
    return sum(a.free for a in serving(agents, department))


def candidates(
    agents: list[AgentState], department: str | None, policy: str, last_agent: str | None
) -> list[AgentState]:
    """Agents with a free slot who serve `department`, in the order they should get its
    next chat.

    round_robin: the first agent (by id) after `last_agent` — the one who took the
    department's previous chat — then on around the circle, so turns alternate even when
    an agent is full for a while or leaves. Otherwise (least_busy, offer): the least
    loaded relative to capacity first, ties by load and then id."""
    free = [a for a in serving(agents, department) if a.free > 0]
    if policy == "round_robin":
        free.sort(key=lambda a: a.agent_id)
        if last_agent is not None:
            after = [a for a in free if a.agent_id > last_agent]
            return after + [a for a in free if a.agent_id <= last_agent]
        return free
    return sorted(free, key=lambda a: (a.load / max(1, a.capacity), a.load, a.agent_id))


def wait_s(position: int, agents: list[AgentState], department: str | None, handle_s: float) -> int:
    """Seconds until the chat at 1-based `position` in `department`'s line is likely
    taken: 0 when that many slots are free among the department's agents now; otherwise
    the chats ahead of it times the handling time, spread over their capacity."""
    if free_slots(agents, department) >= position:
        return 0
    capacity = sum(a.capacity for a in serving(agents, department))
    return math.ceil(position * handle_s / max(1, capacity))
