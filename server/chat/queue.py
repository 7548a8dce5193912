"""The chat queue in the Broker: one sorted set per site and department, score = the
instant the chat joined (earlier first); positions and wait estimates for visitors."""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import select

from server.broker.base import Broker
from server.chat import presence
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
    """Average handling time of recent chats, per site, measured from the Store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, float]] = {}

    async def handle_time_s(self, site_id: str) -> float:
        cached = self._cache.get(site_id)
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
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        spans = [(closed - accepted) / 1000 for accepted, closed in rows if closed and accepted]
        value = sum(spans) / len(spans) if spans else DEFAULT_HANDLE_S
        self._cache[site_id] = (value, time.monotonic())
        return value

    async def estimate_s(
        self, site_id: str, position_: int, agents: list[presence.AgentState]
    ) -> int:
        """Seconds until a chat at `position_` is likely taken: the chats ahead of it,
        times the measured handling time, spread over the online agents' capacity."""
        online_capacity = sum(a.capacity for a in agents if a.status == "online")
        free_now = sum(a.free for a in agents if a.status == "online")
        if free_now >= position_:
            return 0
        handle = await self.handle_time_s(site_id)
        return math.ceil(position_ * handle / max(1, online_capacity))
