"""Capacity pacing: invitations waiting for an answer, counted atomically across nodes
per site and department, so a popular rule cannot put more visitors in front of the
agents than their free chat slots (docs/rules.md, "Gates", `require_agent_online`)."""

from __future__ import annotations

from server.broker.base import Broker

COUNTER_TTL_MS = 3_600_000  # a safety net: counts are given back explicitly


def key(site_id: str, department: str | None) -> str:
    return f"pending-invitations:{site_id}:{department or ''}"


async def take(broker: Broker, site_id: str, department: str | None, limit: int) -> bool:
    """Count one more pending invitation if fewer than `limit` are pending."""
    if limit <= 0:
        return False
    value = await broker.run_script(
        "incr_capped", [key(site_id, department)], [limit, COUNTER_TTL_MS, 1]
    )
    return int(value) != -1


async def give_back(broker: Broker, site_id: str, department: str | None) -> None:
    await broker.run_script("decr_floor", [key(site_id, department)], [1])


async def pending(broker: Broker, site_id: str, department: str | None) -> int:
    return max(0, int(await broker.run_script("counter_get", [key(site_id, department)], [])))
