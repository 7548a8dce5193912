"""Cluster-wide figures for the node's gauges: queued chats and the webhook outbox.

Queries only; server/metrics_sampler.py runs them on a timer. Each is a count over an
index (`conversations.status` through the open-conversation index, `webhook_outbox`'s
(status, next_attempt_ts)).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.outbox import FAILED, PENDING
from server.store.tables import conversations, webhook_outbox


@dataclass(frozen=True, slots=True)
class OpsStats:
    queued_chats: int
    webhook_pending: int
    webhook_oldest_pending_ms: int | None
    """`created_ts` of the oldest pending delivery, ms since the epoch; None with none."""
    webhook_failed: int


async def ops_stats(conn: AsyncConnection) -> OpsStats:
    queued = await conn.scalar(
        select(func.count()).select_from(conversations).where(conversations.c.status == "queued")
    )
    pending, oldest = (
        await conn.execute(
            select(func.count(), func.min(webhook_outbox.c.created_ts)).where(
                webhook_outbox.c.status == PENDING
            )
        )
    ).one()
    failed = await conn.scalar(
        select(func.count()).select_from(webhook_outbox).where(webhook_outbox.c.status == FAILED)
    )
    return OpsStats(int(queued or 0), int(pending or 0), oldest, int(failed or 0))
