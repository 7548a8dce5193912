"""Re-derive agents' live loads (chats held) from the Store, the source of truth."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from server.broker.base import Broker
from server.chat import presence
from server.store.database import Database
from server.store.tables import conversations

log = logging.getLogger("beckon.loads")


async def reconcile_loads(db: Database, broker: Broker) -> None:
    """Set each agent's load to its active chats in the Store (start-up, and after the
    broker reconnected: a restarted Redis has lost the counts)."""
    query = (
        select(conversations.c.agent_id, func.count())
        .where(conversations.c.status == "active", conversations.c.agent_id.is_not(None))
        .group_by(conversations.c.agent_id)
    )
    try:
        async with db.read() as conn:
            counts = {agent: int(n) for agent, n in await conn.execute(query)}
        current = await presence.loads(broker)
        for agent_id in set(counts) | set(current):
            if counts.get(agent_id, 0) != current.get(agent_id, 0):
                await presence.set_load(broker, agent_id, counts.get(agent_id, 0))
    except Exception as exc:  # retried at the next reconnect; routing still works
        log.warning("could not reconcile agent loads: %s", exc)
