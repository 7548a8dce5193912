"""Webhook endpoints and their outbox: queries only, no HTTP.

The outbox row is the delivery: it is written when the event happens and stays until
it is delivered or gives up. A node *claims* a due row by moving its lease
(`locked_until`) forward in one conditional UPDATE — the row count says whether this
node won, so exactly one node sends each attempt, on SQLite and PostgreSQL alike. A
node that dies mid-send leaves a lease that simply runs out; the row is due again.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import webhook_attempts, webhook_outbox, webhooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# -- endpoints ----------------------------------------------------------------------


async def insert_webhook(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(webhooks).values(**row))


async def list_webhooks(conn: AsyncConnection, site_id: str) -> list[dict[str, Any]]:
    query = (
        select(webhooks)
        .where(webhooks.c.site_id == site_id)
        .order_by(webhooks.c.created_ts, webhooks.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def get_webhook(
    conn: AsyncConnection, site_id: str, webhook_id: str
) -> dict[str, Any] | None:
    query = select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.site_id == site_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def delete_webhook(conn: AsyncConnection, webhook_id: str) -> None:
    # Its outbox rows and their attempts go with it (ON DELETE CASCADE), and nothing
    # pending is sent to an endpoint the admin removed.
    await conn.execute(
        delete(webhook_attempts).where(
            webhook_attempts.c.delivery_id.in_(
                select(webhook_outbox.c.id).where(webhook_outbox.c.webhook_id == webhook_id)
            )
        )
    )
    await conn.execute(delete(webhook_outbox).where(webhook_outbox.c.webhook_id == webhook_id))
    await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


async def subscribers(conn: AsyncConnection, site_id: str, event: str) -> list[dict[str, Any]]:
    """Active endpoints of the site that asked for `event`."""
    rows = await list_webhooks(conn, site_id)
    return [r for r in rows if r["active"] and event in (r["events"] or [])]


async def count_outcome(
    conn: AsyncConnection, webhook_id: str, error: str | None, now: int, pause_after: int
) -> bool:
    """Count one attempt's outcome against its endpoint: a success clears the count of
    consecutive failures, a failure adds one, and the `pause_after`-th pauses the
    endpoint with a reason naming the last error. True when this attempt paused it."""
    if error is None:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failures != 0)
            .values(failures=0)
        )
        return False
    await conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(failures=webhooks.c.failures + 1)
    )
    reason = f"paused after {pause_after} failed attempts in a row; the last: {error}"
    result = await conn.execute(
        update(webhooks)
        .where(
            webhooks.c.id == webhook_id,
            webhooks.c.failures >= pause_after,
            webhooks.c.paused_ts.is_(None),
        )
        .values(paused_ts=now, paused_reason=reason[:500])
    )
    return result.rowcount == 1


async def pause(conn: AsyncConnection, webhook_id: str, now: int, reason: str) -> None:
    """Stop sending to an endpoint; its deliveries (and new ones) wait in the outbox."""
    await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.paused_ts.is_(None))
        .values(paused_ts=now, paused_reason=reason[:500])
    )


async def resume(conn: AsyncConnection, webhook_id: str, now: int) -> int:
    """Send to an endpoint again, starting with everything that waited (due at once);
    the count of consecutive failures starts over. Returns how many deliveries waited."""
    await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(paused_ts=None, paused_reason=None, failures=0)
    )
    result = await conn.execute(
        update(webhook_outbox)
        .where(webhook_outbox.c.webhook_id == webhook_id, webhook_outbox.c.status == PENDING)
        .values(next_attempt_ts=now)
    )
    return int(result.rowcount or 0)


# -- the outbox ---------------------------------------------------------------------


async def enqueue(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Add deliveries (each: id, webhook_id, site_id, event, event_id, body, created_ts)."""
    if not rows:
        return
    await conn.execute(
        insert(webhook_outbox),
        [{**r, "status": PENDING, "attempts": 0, "next_attempt_ts": r["created_ts"]} for r in rows],
    )


async def due(
    conn: AsyncConnection, now: int, limit: int, skip_webhooks: Collection[str] = ()
) -> list[tuple[str, str]]:
    """(id, webhook_id) of pending deliveries whose time has come and whose lease (if
    any) ran out, oldest due first — leaving out paused endpoints and `skip_webhooks`
    (those this node already sends its most to), so one busy endpoint's backlog never
    fills the batch that other endpoints wait behind."""
    query = (
        select(webhook_outbox.c.id, webhook_outbox.c.webhook_id)
        .join(webhooks, webhooks.c.id == webhook_outbox.c.webhook_id)
        .where(
            webhook_outbox.c.status == PENDING,
            webhook_outbox.c.next_attempt_ts <= now,
            or_(webhook_outbox.c.locked_until.is_(None), webhook_outbox.c.locked_until < now),
            webhooks.c.paused_ts.is_(None),
        )
        .order_by(webhook_outbox.c.next_attempt_ts, webhook_outbox.c.id)
        .limit(limit)
    )
    if skip_webhooks:
        query = query.where(webhook_outbox.c.webhook_id.not_in(list(skip_webhooks)))
    return [(r[0], r[1]) for r in await conn.execute(query)]


async def next_due_ts(conn: AsyncConnection) -> int | None:
    """When the earliest pending delivery of an unpaused endpoint falls due (ignoring
    leases), or None."""
    query = (
        select(func.min(webhook_outbox.c.next_attempt_ts))
        .join(webhooks, webhooks.c.id == webhook_outbox.c.webhook_id)
        .where(webhook_outbox.c.status == PENDING, webhooks.c.paused_ts.is_(None))
    )
    return (await conn.execute(query)).scalar()


async def claim(
    conn: AsyncConnection, delivery_id: str, node: str, now: int, lease_ms: int
) -> dict[str, Any] | None:
    """Take the lease on one due delivery; None when another node holds it or sent it.

    The condition is re-checked inside the UPDATE itself, so of two nodes racing for
    the same row exactly one sees a row count of 1.
    """
    result = await conn.execute(
        update(webhook_outbox)
        .where(
            webhook_outbox.c.id == delivery_id,
            webhook_outbox.c.status == PENDING,
            webhook_outbox.c.next_attempt_ts <= now,
            or_(webhook_outbox.c.locked_until.is_(None), webhook_outbox.c.locked_until < now),
        )
        .values(locked_until=now + lease_ms, locked_by=node)
    )
    if result.rowcount != 1:
        return None
    query = (
        select(webhook_outbox, webhooks.c.url, webhooks.c.secret, webhooks.c.active)
        .join(webhooks, webhooks.c.id == webhook_outbox.c.webhook_id)
        .where(webhook_outbox.c.id == delivery_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def finish_attempt(
    conn: AsyncConnection,
    delivery: dict[str, Any],
    node: str,
    *,
    now: int,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: str,
    next_attempt_ts: int | None,
) -> bool:
    """Record one attempt and its outcome (DELIVERED, FAILED, or PENDING again at
    `next_attempt_ts`). Only the lease holder may: False when the lease was lost."""
    values: dict[str, Any] = {
        "status": outcome,
        "attempts": webhook_outbox.c.attempts + 1,
        "locked_until": None,
        "locked_by": None,
        "last_status_code": status_code,
        "last_error": error,
    }
    if outcome == DELIVERED:
        values["delivered_ts"] = now
    if next_attempt_ts is not None:
        values["next_attempt_ts"] = next_attempt_ts
    result = await conn.execute(
        update(webhook_outbox)
        .where(
            and_(
                webhook_outbox.c.id == delivery["id"],
                webhook_outbox.c.locked_by == node,
                webhook_outbox.c.status == PENDING,
            )
        )
        .values(**values)
    )
    await conn.execute(
        insert(webhook_attempts).values(
            delivery_id=delivery["id"],
            ts=now,
            node=node,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    return result.rowcount == 1


async def deliveries(
    conn: AsyncConnection, webhook_id: str, limit: int, before_ts: int | None = None
) -> list[dict[str, Any]]:
    """The newest deliveries of an endpoint, each with its attempts (oldest first)."""
    query = select(webhook_outbox).where(webhook_outbox.c.webhook_id == webhook_id)
    if before_ts is not None:
        query = query.where(webhook_outbox.c.created_ts < before_ts)
    query = query.order_by(webhook_outbox.c.created_ts.desc(), webhook_outbox.c.id.desc())
    rows = [dict(r) for r in (await conn.execute(query.limit(limit))).mappings()]
    if not rows:
        return rows
    attempts = (
        await conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_([r["id"] for r in rows]))
            .order_by(webhook_attempts.c.id)
        )
    ).mappings()
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt["delivery_id"], []).append(dict(attempt))
    for row in rows:
        row["attempt_log"] = by_delivery.get(row["id"], [])
    return rows
