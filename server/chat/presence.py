"""Agent presence over the Broker: status, capacity and departments per site, with a TTL
so an agent whose node dies goes offline by itself; live load (chats held) in one hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from server.broker.base import Broker

ROUTING_TAG = "{routing}"
"""Redis Cluster hash tag of the keys claims touch together: every queue and the load
hash (an agent's load spans its sites, so it cannot follow one site's slot)."""
LOAD_KEY = f"load:{ROUTING_TAG}"


def group(site_id: str) -> str:
    return f"agents:{site_id}"


@dataclass(frozen=True, slots=True)
class AgentState:
    agent_id: str
    status: str
    capacity: int
    departments: tuple[str, ...]
    name: str
    load: int = 0

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)

    def serves(self, department: str | None) -> bool:
        return not department or not self.departments or department in self.departments


def _encode(agent: dict[str, Any], status: str) -> bytes:
    return msgpack.packb(
        {
            "status": status,
            "capacity": int(agent["capacity"]),
            "departments": list(agent.get("departments") or []),
            "name": agent["display_name"],
        }
    )


async def announce(
    broker: Broker,
    agent: dict[str, Any],
    site_ids: list[str],
    status: str,
    socket_id: str,
    ttl_s: float,
) -> None:
    """Record one console socket as present on each site, with the agent's status.

    Presence is per socket and means "connected" (status offline included): an agent
    with two tabs stays present until both are gone, and a node that dies takes only
    its sockets' entries with it, after the TTL — then its chats count as orphaned.
    """
    member = f"{agent['id']}|{socket_id}"
    for site_id in site_ids:
        await broker.presence_set(group(site_id), member, _encode(agent, status), ttl_s)


async def leave(broker: Broker, agent_id: str, site_ids: list[str], socket_id: str) -> None:
    """The socket closed: it is no longer present anywhere."""
    for site_id in site_ids:
        await broker.presence_remove(group(site_id), f"{agent_id}|{socket_id}")


async def loads(broker: Broker) -> dict[str, int]:
    flat = await broker.run_script("hash_all", [LOAD_KEY], [])
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


STATUS_RANK = {"online": 2, "away": 1, "offline": 0}


async def agents(broker: Broker, site_id: str) -> list[AgentState]:
    """Agents connected to the site (the best status of their sockets), with their
    current load."""
    members = await broker.presence_members(group(site_id))
    load = await loads(broker) if members else {}
    best: dict[str, AgentState] = {}
    for member, raw in members.items():
        agent_id = member.split("|", 1)[0]
        data = msgpack.unpackb(raw)
        state = AgentState(
            agent_id,
            data["status"],
            data["capacity"],
            tuple(data["departments"]),
            data["name"],
            load.get(agent_id, 0),
        )
        current = best.get(agent_id)
        if current is None or STATUS_RANK.get(state.status, 0) > STATUS_RANK.get(current.status, 0):
            best[agent_id] = state
    return sorted(best.values(), key=lambda a: a.agent_id)


async def release(broker: Broker, agent_id: str | None) -> None:
    if agent_id:
        await broker.run_script("release_load", [LOAD_KEY], [agent_id])


async def set_load(broker: Broker, agent_id: str, value: int) -> None:
    await broker.run_script("hash_set", [LOAD_KEY], [agent_id, value])


def available(states: list[AgentState], department: str | None = None) -> bool:
    """At least one online agent of the department with a free chat slot."""
    return any(a.status == "online" and a.free > 0 and a.serves(department) for a in states)
