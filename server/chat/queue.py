"""The chat queue in the Broker: one sorted set per site and department, score = the
instant the chat joined (earlier first); positions and wait estimates for visitors."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from server.broker.base import Broker
from server.chat import presence, routing_order
from server.store.database import Database
from server.store.tables import conversations

ESTIMATE_SAMPLE = 50
ESTIMATE_CACHE_S = 60.0
DEFAULT_HANDLE_S = 180.0  # until the site has closed chats to measure


def key(site_id: str, department: str | None) -> str:
    # The {routing} hash tag puts every queue in the agent-load hash's Redis Cluster
    # slot: a claim pops a queue and counts the agent's load in one atomic script.
    return f"queue:{presence.ROUTING_TAG}:{site_id}:{department or '-'}"


def score(conv: dict[str, Any]) -> int:
    """Earlier chats first; a chat sent back (agent gone, transfer) keeps its first place."""
    return int(conv.get("queued_ts") or conv["created_ts"])


async def push(broker: Broker, conv: dict[str, Any]) -> int:
    """Add (idempotently: a member keeps its first score); returns its 1-based position."""
    return int(
        await broker.run_script(
            "queue_push", [key(conv["site_id"], conv["department"])], [conv["id"], score(conv)]
        )
    )


async def remove(broker: Broker, conv: dict[str, Any]) -> None:
    await broker.run_script(
        "queue_remove", [key(conv["site_id"], conv["department"])], [conv["id"]]
    )


async def position(broker: Broker, conv: dict[str, Any]) -> int | None:
    found = await broker.run_script(
        "queue_position", [key(conv["site_id"], conv["department"])], [conv["id"]]
    )
    return int(found) if found is not None else None


class WaitEstimator:
    """Average handling time of recent chats, per site and department, measured from the
    Store (a department with no closed chats yet borrows the site's figure)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[str, str | None], tuple[float | None, float]] = {}

    async def _measured_s(self, site_id: str, department: str | None) -> float | None:
        """Mean handling time of the last chats of the department (None: the whole
        site's); None when there are none to measure."""
        cached = self._cache.get((site_id, department))
        if cached and time.monotonic() - cached[1] < ESTIMATE_CACHE_S:
            return cached[0]
        query = (
            select(conversations.c.accepted_ts, conversations.c.closed_ts)
            .where(
                conversations.c.site_id == site_id,
                conversations.c.status == "closed",
                conversations.c.accepted_ts.is_not(None),
            )
            .order_by(conversations.c.closed_ts.desc())
            .limit(ESTIMATE_SAMPLE)
        )
        if department:
            query = query.where(conversations.c.department == department)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        spans = [(closed - accepted) / 1000 for accepted, closed in rows if closed and accepted]
        value = sum(spans) / len(spans) if spans else None
        self._cache[(site_id, department)] = (value, time.monotonic())
        return value

    async def handle_time_s(self, site_id: str, department: str | None = None) -> float:
        measured = await self._measured_s(site_id, department) if department else None
        if measured is None:
            measured = await self._measured_s(site_id, None)
        return DEFAULT_HANDLE_S if measured is None else measured

    async def estimate_s(
        self,
        site_id: str,
        position_: int,
        agents: list[presence.AgentState],
        department: str | None = None,
    ) -> int:
        """Seconds until the chat at `position_` in `department`'s line is likely taken,
        counting only the agents who serve that department (routing_order.wait_s)."""
        if routing_order.free_slots(agents, department) >= position_:
            return 0  # a free slot now: no need to measure anything
        handle = await self.handle_time_s(site_id, department)
        return routing_order.wait_s(position_, agents, department, handle)
