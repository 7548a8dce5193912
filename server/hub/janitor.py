"""Periodic upkeep on each node: route waiting chats (offers expire, queues heal), send
chats of vanished agents back to the queue, and close chats nobody took in time.

Every action is a compare-and-set in the Store or an atomic script in the Broker, so
nodes running this at the same time cannot double anything; a capped counter in the
Broker also lets only one node do a round per tick.

Each sweep runs as often as what it guards needs, not every tick: waiting chats every
tick (offers expire in seconds), orphaned chats every third of the presence TTL (an
agent counts as gone only after a whole TTL anyway), invitations every few seconds
(they expire after minutes). The last two read every active chat or invitation, a cost
paid per tick on an idle node that would otherwise grow with the open chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import func, select

from server.chat import feedback, messages, presence
from server.chat.payloads import conversation_frame
from server.chat.proactive import Proactive, online_group
from server.events import EventBus
from server.hub import chat_events
from server.hub.dispatch import Dispatch
from server.hub.hub import agent_channel, conv_channel
from server.ids import now_ms
from server.privacy.retention import RetentionSweeper
from server.store import conversations as conv_queries
from server.store.tables import conversations, visitors

log = logging.getLogger("beckon.janitor")
TICK_S = 1.0
INVITATION_SWEEP_S = 5.0  # invitations expire after 120 s: a few seconds late is nothing


class Every:
    """Whether a sweep is due, at most once per `interval_s` (monotonic seconds); the
    first call is always due."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: float | None = None

    def due(self, now: float) -> bool:
        if self._last is not None and now - self._last < self.interval_s:
            return False
        self._last = now
        return True


ORPHAN_COLUMNS = ("id", "site_id", "agent_id", "department", "queued_ts", "created_ts", "transfers")


class Janitor:
    def __init__(
        self,
        dispatch: Dispatch,
        events: EventBus,
        presence_ttl_s: float,
        proactive: Proactive,
        retention: RetentionSweeper,
        sweep_every_s: float = 3600.0,
    ) -> None:
        self.dispatch = dispatch
        self.db = dispatch.db
        self.broker = dispatch.router.broker
        self.events = events
        self.started = time.monotonic()
        # After a start, agents need one TTL to reconnect before their chats count as
        # orphaned (a restarted in-process broker has no presence at all).
        self.grace_s = presence_ttl_s
        self.proactive = proactive
        self.retention = retention
        self.sweep_every_s = sweep_every_s
        self._swept = 0.0  # monotonic time of the last retention sweep (0: never)
        self._invitations = Every(INVITATION_SWEEP_S)
        self._orphans = Every(max(TICK_S, presence_ttl_s / 3))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                turn = await self.broker.run_script(
                    "incr_capped", ["janitor"], [1, int(TICK_S * 900), 1]
                )
                if turn != -1:
                    await self.tick()
            except Exception as exc:  # the next tick retries; nothing is half-done
                log.warning("janitor round failed: %s", exc)

    async def tick(self) -> None:
        now = time.monotonic()
        if self._invitations.due(now):
            await self.proactive.expire_due()
        if time.monotonic() - self._swept > self.sweep_every_s:
            self._swept = time.monotonic()
            swept = await self.retention.sweep(now_ms())
            if swept.more:  # a backlog: the next tick goes on with it
                self._swept = 0.0
        async with self.db.read() as conn:
            waiting = [
                r[0]
                for r in await conn.execute(
                    select(conversations.c.site_id)
                    .where(conversations.c.status == "queued")
                    .distinct()
                )
            ]
        if now - self.started > self.grace_s and self._orphans.due(now):
            await self._requeue_orphans(await self._active())
        for site_id in waiting:
            await self._expire_waiting(site_id)
            await self._heal(site_id)
            await self.dispatch.route(site_id)

    async def _active(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            # Only the columns a requeue needs, not whole rows.
            query = select(*(conversations.c[name] for name in ORPHAN_COLUMNS)).where(
                conversations.c.status == "active"
            )
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    async def _heal(self, site_id: str) -> None:
        async with self.db.read() as conn:
            queued = await conv_queries.list_queued(conn, [site_id])
        async with self.db.read() as conn:
            still = {c["id"] for c in await conv_queries.list_queued(conn, [site_id])}
        await self.dispatch.router.heal(queued, still)

    async def _requeue_orphans(self, active: list[dict[str, Any]]) -> None:
        """Chats whose agent has no presence left (its node died, TTL passed)."""
        present: dict[str, set[str]] = {}
        for conv in active:
            site_id = conv["site_id"]
            if site_id not in present:
                present[site_id] = {a.agent_id for a in await presence.agents(self.broker, site_id)}
            if conv["agent_id"] in present[site_id]:
                continue
            back = await self.dispatch.router.requeue(
                conv, conv["department"], expect_agent=conv["agent_id"]
            )
            if back is None:
                continue
            log.info("requeued %s: agent %s is gone", conv["id"], conv["agent_id"])
            await self.dispatch.hub.publish(
                agent_channel(conv["agent_id"]), "unassigned", {"conversation_id": conv["id"]}
            )
            await self.dispatch.hub.publish(
                conv_channel(conv["id"]), "conversation", conversation_frame(back)
            )

    async def _expire_waiting(self, site_id: str) -> None:
        """Queued too long, or the visitor left the site: recorded as missed, with the
        reason — never silently lost (the transcript stays; see `miss`)."""
        site = await self.dispatch.site(site_id)
        if site is None:
            return
        settings = site.get("settings") or {}
        now = now_ms()
        waited_since = func.coalesce(conversations.c.accepted_ts, conversations.c.created_ts)
        async with self.db.read() as conn:
            queued = [
                dict(r)
                for r in (
                    await conn.execute(
                        select(conversations, waited_since.label("waited_since")).where(
                            conversations.c.site_id == site_id, conversations.c.status == "queued"
                        )
                    )
                ).mappings()
            ]
        if not queued:
            return
        online = await self.broker.presence_members(online_group(site_id))
        timeout_ms = int(settings.get("queue_timeout_s", 600)) * 1000
        abandon_ms = int(settings.get("abandon_after_s", 60)) * 1000
        for conv in queued:
            waited = now - conv.pop("waited_since")
            if waited > timeout_ms:
                await self.miss(site, conv, "no_agent")
            elif waited > abandon_ms and conv["visitor_id"] not in online:
                await self.miss(site, conv, "visitor_left")

    async def miss(self, site: dict[str, Any], conv: dict[str, Any], reason: str) -> None:
        async with self.db.write() as conn:
            changed = await conv_queries.transition(
                conn,
                conv["id"],
                from_statuses=("queued",),
                values={
                    "status": "closed",
                    "closed_by": "system",
                    "closed_ts": now_ms(),
                    "missed_reason": reason,
                },
            )
            visitor = None
            if changed and (site.get("settings") or {}).get("offline_mode") == ("offline_message"):
                visitor = (
                    (
                        await conn.execute(
                            select(visitors).where(visitors.c.id == conv["visitor_id"])
                        )
                    )
                    .mappings()
                    .first()
                )
        if not changed:
            return
        await self.dispatch.router.finished(conv)
        if visitor is not None and visitor["email"]:
            await self._as_offline_message(site, conv, dict(visitor))
        await chat_events.publish_closed(self.dispatch.hub, conv["id"], "system", [])
        self.events.emit(
            "conversation.missed",
            {"conversation_id": conv["id"], "site_id": site["id"], "reason": reason},
        )

    async def _as_offline_message(
        self, site: dict[str, Any], conv: dict[str, Any], visitor: dict[str, Any]
    ) -> None:
        rows = await messages.after(self.db, conv["id"], 0, include_internal=False)
        text = "\n".join(r["text"] for r in rows) or "(no message)"
        row = await feedback.save_offline_message(
            self.db,
            site_id=site["id"],
            visitor_id=conv["visitor_id"],
            name=visitor.get("name"),
            email=visitor["email"],
            text=text[:20_000],
            conversation_id=conv["id"],
        )
        self.events.emit("offline_message.created", row)
